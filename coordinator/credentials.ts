import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { LosApiError, NotSignedInError, UnreachableError, type AuthConfig } from './client.js';

/**
 * `los login`'s tokens on this machine: one token set per API URL in `$XDG_CONFIG_HOME/los/credentials.json`
 * (default `~/.config/los/`), the file readable by its owner only (0600, its directory 0700), since a refresh
 * token signs its holder in for as long as the provider lets it. An access token with under a minute left is
 * refreshed before use, and the new set (refresh tokens rotate) written back. `LOS_TOKEN` instead is a bearer
 * token for machines, used as given.
 */

/** An access token with less than this left is refreshed first, so it does not expire in flight. */
export const REFRESH_MARGIN_MS = 60_000;

export const TokenSet = z.object({
  /** What the tokens were issued for: the API's provider, the CLI's client id and the API's audience. */
  issuer: z.string(),
  clientId: z.string(),
  audience: z.string(),
  accessToken: z.string(),
  /** When the access token expires (epoch ms). */
  expiresAt: z.number(),
  refreshToken: z.string().optional(),
  /** Who signed in, from the ID token, for `los login`'s and `los logout`'s messages only. */
  name: z.string().optional(),
  /** The Temporal server's audience, when the sign-in was granted it too (the API named one at `los login`). */
  temporalAudience: z.string().optional(),
  /** The last access token for Temporal's audience (`los token --for temporal`), and when it expires (epoch ms). */
  temporal: z.object({ accessToken: z.string(), expiresAt: z.number() }).optional(),
});
export type TokenSet = z.infer<typeof TokenSet>;

const CredentialsFile = z.object({ apis: z.record(z.string(), TokenSet) });
type CredentialsFile = z.infer<typeof CredentialsFile>;

/** Where the credentials are kept: `$XDG_CONFIG_HOME/los/credentials.json`, by default under `~/.config`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'los', 'credentials.json');
}

async function readFileOf(path: string): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { apis: {} };
    throw err;
  }
  const parsed = CredentialsFile.safeParse(JSON.parse(text));
  // A file this version cannot read signs nobody in; `los login` writes a new one.
  return parsed.success ? parsed.data : { apis: {} };
}

/** Written whole to a file beside it and renamed, so a reader never sees half a file; 0600 from its creation. */
async function writeFileOf(path: string, file: CredentialsFile): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** Normalised so `http://host:4300/` and `http://host:4300` are one entry. */
const keyOf = (apiUrl: string) => apiUrl.replace(/\/+$/, '');

export async function readTokenSet(path: string, apiUrl: string): Promise<TokenSet | undefined> {
  return (await readFileOf(path)).apis[keyOf(apiUrl)];
}

export async function saveTokenSet(path: string, apiUrl: string, tokens: TokenSet): Promise<void> {
  const file = await readFileOf(path);
  file.apis[keyOf(apiUrl)] = tokens;
  await writeFileOf(path, file);
}

/** Forgets the token set of one API; the file goes when it holds no other. Returns what was forgotten. */
export async function removeTokenSet(path: string, apiUrl: string): Promise<TokenSet | undefined> {
  const file = await readFileOf(path);
  const removed = file.apis[keyOf(apiUrl)];
  delete file.apis[keyOf(apiUrl)];
  if (Object.keys(file.apis).length === 0) await rm(path, { force: true });
  else await writeFileOf(path, file);
  return removed;
}

/** The provider's configuration by discovery; plain HTTP is allowed only for a provider on this machine. */
export async function discoverProvider(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  const local = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  try {
    return await oidc.discovery(url, clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), local ? { execute: [oidc.allowInsecureRequests] } : {});
  } catch (err) {
    throw new UnreachableError(`cannot reach the identity provider at ${issuer}: ${describe(err)}`);
  }
}

/** The token set a token endpoint response gives, keeping the old refresh token when no new one came. */
export function tokenSetFrom(
  response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  auth: AuthConfig,
  nowMs: number,
  previous?: TokenSet,
): TokenSet {
  const claims = response.claims();
  const name = typeof claims?.name === 'string' ? claims.name : previous?.name;
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const temporalAudience = auth.temporalAudience ?? previous?.temporalAudience;
  return {
    issuer: auth.issuer,
    clientId: auth.cliClientId,
    audience: auth.audience,
    accessToken: response.access_token,
    // Without expires_in the token's life is unknown: refreshed before each use (when there is a refresh token).
    expiresAt: nowMs + (response.expires_in ?? 0) * 1000,
    ...(refreshToken !== undefined ? { refreshToken } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(temporalAudience !== undefined ? { temporalAudience } : {}),
    ...(previous?.temporal ? { temporal: previous.temporal } : {}),
  };
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string }; error?: string; error_description?: string };
  if (typeof e.error === 'string') return e.error_description ? `${e.error}: ${e.error_description}` : e.error;
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/**
 * A new access token for `resource` with the sign-in's refresh token. A refresh the provider refused (expired, revoked,
 * rotated away) signs the person out, unless only the resource was (not granted at sign-in); anything else is unreachable.
 */
async function renew(tokens: TokenSet, resource: string): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const config = await discoverProvider(tokens.issuer, tokens.clientId);
  try {
    return await oidc.refreshTokenGrant(config, tokens.refreshToken!, { resource });
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_target')
      throw new LosApiError(`the provider gives this sign-in no token for ${resource}: ${describe(err)}`);
    if (err instanceof oidc.ResponseBodyError)
      throw new NotSignedInError(`not signed in: run \`los login\` (the sign-in could not be renewed: ${describe(err)})`);
    throw new UnreachableError(`cannot renew the sign-in at ${tokens.issuer}: ${describe(err)}`);
  }
}

async function refreshed(tokens: TokenSet, nowMs: number): Promise<TokenSet> {
  const response = await renew(tokens, tokens.audience);
  return tokenSetFrom(response, { issuer: tokens.issuer, cliClientId: tokens.clientId, audience: tokens.audience }, nowMs, tokens);
}

export interface TokenSource {
  apiUrl: string;
  /** Where `los login` keeps the token set. */
  credentialsFile: string;
  /** A bearer token given directly (LOS_TOKEN); the file is then not read. */
  token?: string;
  now?: () => number;
}

/** The bearer token for the next request: LOS_TOKEN, or the signed-in person's, refreshed when near expiry. */
export async function bearerToken(source: TokenSource): Promise<string> {
  if (source.token) return source.token;
  const now = source.now ?? Date.now;
  const tokens = await readTokenSet(source.credentialsFile, source.apiUrl);
  if (!tokens) throw new NotSignedInError('not signed in: run `los login`');
  if (tokens.expiresAt - now() >= REFRESH_MARGIN_MS) return tokens.accessToken;
  if (tokens.refreshToken === undefined) throw new NotSignedInError('not signed in: run `los login` (the sign-in has expired)');
  const renewed = await refreshed(tokens, now());
  await saveTokenSet(source.credentialsFile, source.apiUrl, renewed);
  return renewed.accessToken;
}

/**
 * `los token --for temporal`: the signed-in person's access token for the Temporal server's audience (the Temporal
 * CLI's `--api-key`, and `--codec-auth` at the codec server), asked for with the sign-in's refresh token and kept
 * beside the API's until it is near expiry. The provider puts the person's Temporal permissions in it.
 */
export async function temporalBearerToken(source: Omit<TokenSource, 'token'>): Promise<{ accessToken: string; expiresAt: number }> {
  const now = source.now ?? Date.now;
  const tokens = await readTokenSet(source.credentialsFile, source.apiUrl);
  if (!tokens) throw new NotSignedInError('not signed in: run `los login`');
  if (tokens.temporalAudience === undefined)
    throw new LosApiError(
      `this sign-in holds no access to Temporal: ${source.apiUrl} named no Temporal audience when you signed in (its Temporal server checks no tokens, or the sign-in is older): run \`los login\` again`,
    );
  if (tokens.temporal && tokens.temporal.expiresAt - now() >= REFRESH_MARGIN_MS) return tokens.temporal;
  if (tokens.refreshToken === undefined) throw new NotSignedInError('not signed in: run `los login` (the sign-in has expired)');
  const response = await renew(tokens, tokens.temporalAudience);
  const temporal = { accessToken: response.access_token, expiresAt: now() + (response.expires_in ?? 0) * 1000 };
  // The refresh token rotates: the new one is the sign-in's from now on, for the API's token too.
  await saveTokenSet(source.credentialsFile, source.apiUrl, {
    ...tokens,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    temporal,
  });
  return temporal;
}

/** What the person is told while the device flow waits. */
export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresInSeconds: number;
}

/**
 * `los login`: the OAuth device authorization grant (RFC 8628) with the provider the API names. The person
 * opens the URL on any device, signs in there and confirms the code; this polls until they have.
 */
export async function signIn(apiUrl: string, auth: AuthConfig, credentialsFile: string, prompt: (device: DevicePrompt) => void): Promise<TokenSet> {
  const config = await discoverProvider(auth.issuer, auth.cliClientId);
  let device: oidc.DeviceAuthorizationResponse;
  try {
    // The API's audience, and Temporal's when the API names it (both granted at once; a token is asked for one at a time).
    const parameters = new URLSearchParams({ scope: `openid profile offline_access${auth.temporalAudience ? ' temporal' : ''}`, resource: auth.audience });
    if (auth.temporalAudience) parameters.append('resource', auth.temporalAudience);
    device = await oidc.initiateDeviceAuthorization(config, parameters);
  } catch (err) {
    throw signInError(auth.issuer, err);
  }
  prompt({
    verificationUri: device.verification_uri,
    ...(device.verification_uri_complete ? { verificationUriComplete: device.verification_uri_complete } : {}),
    userCode: device.user_code,
    expiresInSeconds: device.expires_in,
  });
  let response;
  try {
    response = await oidc.pollDeviceAuthorizationGrant(config, device, { resource: auth.audience }, { signal: AbortSignal.timeout(device.expires_in * 1000) });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new LosApiError(`sign-in not completed within ${device.expires_in} s: run \`los login\` again`);
    throw signInError(auth.issuer, err);
  }
  const tokens = tokenSetFrom(response, auth, Date.now());
  await saveTokenSet(credentialsFile, apiUrl, tokens);
  return tokens;
}

function signInError(issuer: string, err: unknown): LosApiError {
  // The provider answered and said no (access_denied, expired_token, an unknown client): a refusal, exit 1.
  if (err instanceof oidc.ResponseBodyError) return new LosApiError(`sign-in refused by ${issuer}: ${describe(err)}`);
  return new UnreachableError(`cannot reach the identity provider at ${issuer}: ${describe(err)}`);
}

/** Revokes a token set's refresh token at its provider (RFC 7009); returns why not, or undefined when done or none. */
export async function revokeRefreshToken(tokens: TokenSet): Promise<string | undefined> {
  if (tokens.refreshToken === undefined) return undefined;
  try {
    const config = await discoverProvider(tokens.issuer, tokens.clientId);
    await oidc.tokenRevocation(config, tokens.refreshToken, { token_type_hint: 'refresh_token' });
    return undefined;
  } catch (err) {
    return err instanceof LosApiError ? err.message : describe(err);
  }
}
