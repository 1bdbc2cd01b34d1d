import { randomBytes } from 'node:crypto';
import { unsign as unsignCookie } from '@fastify/cookie';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { Role } from '../domain/index.js';
import { ProblemError } from './problems.js';

/**
 * Who is asking: identity from a verified bearer token (`Authorization: Bearer <jwt>`, checked against the
 * issuer's keys found by OpenID Connect discovery) or from a browser session made by the authorisation code
 * flow with PKCE. Never from a request field. Roles and the municipality come from the token's claims, under
 * names a deployment configures to match its own provider.
 */

/** The roles are the decision author's (domain/authorship.ts): the API and the workflow read the same list. */
export const PersonRole = Role;
export type PersonRole = Role;
export const ROLES = Role.options;

/** The signed-in person (or machine client): `sub` is who, `name` how the timeline names them. */
export const Person = z
  .object({
    sub: z.string().min(1),
    name: z.string().min(1),
    role: PersonRole,
    municipality: z.string().min(1).optional(),
  })
  .meta({ id: 'Person' });
export type Person = z.infer<typeof Person>;

export interface ClaimNames {
  /** @default 'los_role' */
  role: string;
  /** @default 'los_municipality' */
  municipality: string;
  /** @default 'name' */
  name: string;
}

export const DEFAULT_CLAIMS: ClaimNames = { role: 'los_role', municipality: 'los_municipality', name: 'name' };

export interface IdentitySettings {
  /** The provider's issuer URL; its discovery document names the keys. */
  issuer: string;
  /** The API's resource indicator: access tokens must be issued for it. */
  audience: string;
  claims: ClaimNames;
}

/** The person a token's claims describe, or why the token does not describe one a role can be given to. */
export function personFromClaims(payload: JWTPayload, claims: ClaimNames): Person {
  const raw = payload as Record<string, unknown>;
  const sub = payload.sub;
  const role = raw[claims.role];
  const municipality = raw[claims.municipality];
  const name = raw[claims.name];
  if (typeof sub !== 'string' || sub === '') throw new ProblemError('unauthenticated', 'token refused: it names no subject (sub)');
  const parsedRole = PersonRole.safeParse(role);
  if (!parsedRole.success)
    throw new ProblemError(
      'forbidden',
      `token refused: claim ${claims.role} must be one of ${ROLES.join(', ')}${role === undefined ? ', and is missing' : ''}`,
    );
  if (municipality !== undefined && (typeof municipality !== 'string' || municipality === ''))
    throw new ProblemError('forbidden', `token refused: claim ${claims.municipality} must be a municipality's name`);
  if (parsedRole.data === 'coordinator' && municipality === undefined)
    throw new ProblemError('forbidden', `token refused: a coordinator's token must name the municipality (claim ${claims.municipality})`);
  return {
    sub,
    name: typeof name === 'string' && name !== '' ? name : sub,
    role: parsedRole.data,
    ...(typeof municipality === 'string' ? { municipality: municipality.normalize('NFC') } : {}),
  };
}

/** The provider's discovery document, fetched once and kept (a failure is tried again on the next request). */
interface Discovered {
  issuer: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
}

export interface BearerVerifier {
  verify(token: string): Promise<Person>;
}

/** The audience may be several: the codec server takes the API's tokens and the Temporal UI's (Temporal's audience). */
export function bearerVerifier(settings: Omit<IdentitySettings, 'audience'> & { audience: string | string[] }): BearerVerifier {
  let discovered: Promise<Discovered> | undefined;
  const discover = async (): Promise<Discovered> => {
    const url = new URL('.well-known/openid-configuration', settings.issuer.endsWith('/') ? settings.issuer : `${settings.issuer}/`);
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`discovery at ${url.href} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: string; jwks_uri?: string };
    if (document.issuer !== settings.issuer) throw new Error(`discovery at ${url.href} names issuer ${document.issuer}, not ${settings.issuer}`);
    if (!document.jwks_uri) throw new Error(`discovery at ${url.href} names no jwks_uri`);
    return { issuer: document.issuer, jwks: createRemoteJWKSet(new URL(document.jwks_uri)) };
  };
  return {
    async verify(token) {
      let provider: Discovered;
      try {
        provider = await (discovered ??= discover());
      } catch (err) {
        discovered = undefined;
        throw new ProblemError('unavailable', `the identity provider cannot be reached to check the token: ${(err as Error).message}`);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, provider.jwks, { issuer: provider.issuer, audience: settings.audience }));
      } catch (err) {
        if (err instanceof joseErrors.JWKSTimeout) throw new ProblemError('unavailable', 'the identity provider did not give its keys in time');
        // jose's message says which check failed: expired, another audience or issuer, a bad signature.
        throw new ProblemError('unauthenticated', `token refused: ${(err as Error).message}`);
      }
      return personFromClaims(payload, settings.claims);
    },
  };
}

/** A browser session: who signed in, and their tokens, kept server side only. */
export interface Session {
  person: Person;
  createdAt: string;
  tokens: { accessToken: string; refreshToken?: string; expiresAt?: string };
}

/** A sign-in under way: what the callback checks the provider's answer against. */
export interface PendingLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

export const SESSION_BUCKET = 'LOS_API_SESSIONS';
/** The session id's cookie (signed, HttpOnly, Secure, SameSite=Lax) and the CSRF secret's. */
export const SESSION_COOKIE = 'los_session';
export const CSRF_COOKIE = 'los_csrf';
/**
 * The state of the sign-in this browser started (signed, HttpOnly, only sent to /auth/callback): the callback takes
 * only a sign-in started in the same browser, so no one can sign another person in as themselves (login CSRF).
 */
export const LOGIN_COOKIE = 'los_login';

/**
 * Sessions in a NATS key-value bucket whose entries expire (the bucket's TTL), so every API process sees every
 * session and a session ends by itself. The session id is 32 random bytes; the cookie carries it, signed.
 */
export class SessionStore {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, options: { ttlMs: number; replicas?: number }): Promise<SessionStore> {
    const kv = await new Kvm(nc).create(SESSION_BUCKET, { history: 1, ttl: options.ttlMs, replicas: options.replicas ?? 1 });
    return new SessionStore(kv);
  }

  async create(session: Session): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.kv.create(`session.${id}`, JSON.stringify(session));
    return id;
  }

  async get(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const entry = await this.kv.get(`session.${id}`);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return entry.json<Session>();
  }

  async delete(id: string): Promise<void> {
    if (/^[A-Za-z0-9_-]{43}$/.test(id)) await this.kv.purge(`session.${id}`);
  }

  async putLogin(state: string, pending: PendingLogin): Promise<void> {
    await this.kv.put(`login.${state}`, JSON.stringify(pending));
  }

  /** The sign-in for this state, once: a callback replayed finds nothing. */
  async takeLogin(state: string): Promise<PendingLogin | undefined> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return undefined;
    const entry = await this.kv.get(`login.${state}`);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    await this.kv.purge(`login.${state}`);
    return entry.json<PendingLogin>();
  }
}

/** What a request carries that can say who is asking: its Authorization header and the session cookie as sent (signed). */
export interface Credentials {
  authorization?: string | undefined;
  sessionCookie?: string | undefined;
}

/** Where the identity is checked: the provider's tokens, the API's sessions, and the check of the cookie's signature. */
export interface Identity {
  verifier: BearerVerifier;
  sessions: SessionStore;
  /** The session id a signed cookie carries, or undefined when this deployment did not sign it. */
  unsign(cookie: string): string | undefined;
}

/** The session id inside a cookie signed with the API's cookie secret (LOS_API_SESSION_SECRET), as @fastify/cookie signs it. */
export function cookieUnsigner(secret: string): Identity['unsign'] {
  return (cookie) => {
    const result = unsignCookie(cookie, secret);
    return result.valid ? result.value : undefined;
  };
}

/**
 * Who is asking, by the one rule the API and the codec server share: a bearer token when the request has an
 * Authorization header (and then only it), else the API's browser session. Throws a 401 problem otherwise.
 */
export async function identify(credentials: Credentials, identity: Identity): Promise<{ person: Person; sessionId?: string }> {
  const header = credentials.authorization;
  if (header !== undefined) {
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) throw new ProblemError('unauthenticated', 'Authorization must be "Bearer <access token>"');
    return { person: await identity.verifier.verify(token) };
  }
  const cookie = credentials.sessionCookie;
  if (cookie !== undefined) {
    const sessionId = identity.unsign(cookie);
    if (sessionId === undefined) throw new ProblemError('unauthenticated', 'the session cookie is not one this API signed: sign in again');
    const session = await identity.sessions.get(sessionId);
    if (!session) throw new ProblemError('unauthenticated', 'the session has ended or never existed: sign in again');
    return { person: session.person, sessionId };
  }
  throw new ProblemError('unauthenticated', 'no bearer token and no session: sign in (GET /auth/login, or `los login`)');
}

export interface RelyingPartySettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where the provider sends the browser back: `<public url>/auth/callback`. */
  redirectUri: string;
  audience: string;
  /** @default 'openid profile los' */
  scopes?: string;
}

/** The API as an OpenID Connect client of the provider: the authorisation code flow with PKCE (S256). */
export class RelyingParty {
  private configuration?: Promise<oidc.Configuration>;

  constructor(private readonly settings: RelyingPartySettings) {}

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        // A provider on plain HTTP is for a loopback demo or test; a deployment's issuer is https.
        new URL(this.settings.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        this.configuration = undefined;
        throw new ProblemError('unavailable', `the identity provider cannot be reached: ${(err as Error).message}`);
      });
    return this.configuration;
  }

  /** Where to send the browser to sign in, and what the callback needs to check the answer. */
  async start(returnTo: string): Promise<{ url: string; state: string; pending: PendingLogin }> {
    const config = await this.config();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes ?? 'openid profile los',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      resource: this.settings.audience,
    });
    return { url: url.href, state, pending: { codeVerifier, nonce, returnTo } };
  }

  /** The provider's answer at the callback, exchanged for tokens (state, PKCE and nonce checked). */
  async finish(callbackUrl: URL, state: string, pending: PendingLogin): Promise<Session['tokens']> {
    const config = await this.config();
    const tokens = await oidc.authorizationCodeGrant(
      config,
      callbackUrl,
      { pkceCodeVerifier: pending.codeVerifier, expectedState: state, expectedNonce: pending.nonce, idTokenExpected: true },
      { resource: this.settings.audience },
    );
    const expiresIn = tokens.expiresIn();
    return {
      accessToken: tokens.access_token,
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
      ...(expiresIn !== undefined ? { expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() } : {}),
    };
  }
}
