import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEMO_PASSWORD, DEMO_TEMPORAL_UI_CLIENT, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { approveDevice, clientCredentialsToken, codeFlowTokens, discoverIssuer, passwordLogin, SignInRefused } from './oidc.js';

/**
 * The embedded identity provider as the engine meets it: one real process, spoken to over real HTTP. People sign
 * in with the realm's passwords; the API gets JWT access tokens for its audience naming the person's role and
 * municipality; `los` signs in with the device flow; a case system gets tokens as itself.
 */
const PASSWORD = DEMO_PASSWORD;
const API_URL = 'http://127.0.0.1:4300';
const AUDIENCE = `${API_URL}/v1`;
const REDIRECT_URI = `${API_URL}/auth/callback`;
const API_CLIENT = { clientId: 'los-api', clientSecret: 'demo-secret-los-api', redirectUri: REDIRECT_URI, audience: AUDIENCE };
const ANNA_SUB = '0b6f3c2e-5d1a-4a8e-9f27-1c4d8e6a2b01';
const TEMPORAL_AUDIENCE = 'urn:los:temporal';
const TEMPORAL_UI_URL = 'http://127.0.0.1:8233';
const TEMPORAL_UI_CLIENT = { ...DEMO_TEMPORAL_UI_CLIENT, redirectUri: `${TEMPORAL_UI_URL}/auth/sso/callback`, scope: 'openid profile los temporal' };

let idp: IdentityProvider;
let scratch: string;
let verify: (token: string) => Promise<JWTPayload>;

beforeAll(async () => {
  scratch = join(inject('scratchDir'), `idp-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  // The demo realm and one more machine client whose tokens live a second.
  const realm = parseYaml(readFileSync('idp/realm.yaml', 'utf8')) as { clients: unknown[] };
  realm.clients.push({
    client_id: 'short-lived',
    kind: 'machine',
    client_secret: 'short-lived-secret-0123',
    access_token_ttl: 1,
    claims: { name: 'Test', los_role: 'operator' },
  });
  const realmFile = join(scratch, 'realm.yaml');
  writeFileSync(realmFile, stringifyYaml(realm));
  idp = await startIdentityProvider({
    scratchDir: scratch,
    realmFile,
    audience: AUDIENCE,
    temporalAudience: TEMPORAL_AUDIENCE,
    apiUrls: [API_URL],
    temporalUiUrls: [TEMPORAL_UI_URL],
  });
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  verify = async (token) => (await jwtVerify(token, jwks, { issuer: idp.issuer, audience: AUDIENCE })).payload;
});

afterAll(async () => {
  await idp?.stop();
});

const log = () => readFileSync(idp.logFile, 'utf8');

describe('the embedded identity provider', () => {
  it('publishes a discovery document with PKCE S256, the device flow, client credentials and its signing keys', async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(idp.issuer);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
    expect(discovery.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']),
    );
    expect(discovery.response_types_supported).toEqual(['code']);
    expect(discovery.device_authorization_endpoint).toBe(`${idp.issuer}/device/auth`);
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it("signs anna in with the code flow and PKCE: the API's access token is a JWT for its audience naming her role and municipality", async () => {
    const { tokens, config } = await codeFlowTokens(idp.issuer, API_CLIENT, 'anna', PASSWORD);
    const claims = await verify(tokens.access_token);
    expect(claims).toMatchObject({
      sub: ANNA_SUB,
      aud: AUDIENCE,
      name: 'Anna Lindqvist',
      los_role: 'coordinator',
      los_municipality: 'Umeå',
      client_id: 'los-api',
    });
    expect(claims.exp! - claims.iat!).toBe(600);
    // The ID token says who she is too (the API's session shows her name without asking again).
    expect(tokens.claims()).toMatchObject({ sub: ANNA_SUB, name: 'Anna Lindqvist', los_role: 'coordinator', los_municipality: 'Umeå' });
    // The API refreshes without asking her again: a new JWT for the same audience, and a new refresh token.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await verify(refreshed.access_token)).toMatchObject({ sub: ANNA_SUB, los_role: 'coordinator', los_municipality: 'Umeå' });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('gives the API a JWT for its audience even when the sign-in does not name the resource', async () => {
    const { tokens } = await codeFlowTokens(
      idp.issuer,
      { clientId: 'los-api', clientSecret: 'demo-secret-los-api', redirectUri: REDIRECT_URI, scope: 'openid' },
      'bertil',
      PASSWORD,
    );
    expect(await verify(tokens.access_token)).toMatchObject({ aud: AUDIENCE, los_role: 'coordinator', los_municipality: 'Malmö', name: 'Bertil Nyström' });
  });

  it('refuses a wrong password with the form again and a message, and logs the username but never the password', async () => {
    const config = await discoverIssuer(idp.issuer, 'los-api', 'demo-secret-los-api');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const refusal = passwordLogin(url, 'bertil', 'not-his-password-42', { stopAt: REDIRECT_URI });
    await expect(refusal).rejects.toThrow(SignInRefused);
    await expect(refusal).rejects.toThrow(/Fel användarnamn eller lösenord/);
    const line = log()
      .split('\n')
      .find((entry) => entry.includes('"sign-in refused"') && entry.includes('"bertil"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ username: 'bertil', clientId: 'los-api', reason: 'wrong password' });
    expect(log()).not.toContain('not-his-password-42');
  });

  it('refuses an authorization request without PKCE', async () => {
    const config = await discoverIssuer(idp.issuer, 'los-api', 'demo-secret-los-api');
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' });
    const { page } = await passwordLogin(url, 'anna', PASSWORD, { stopAt: REDIRECT_URI });
    expect(page.url.searchParams.get('error')).toBe('invalid_request');
    expect(page.url.searchParams.get('error_description')).toMatch(/requires PKCE/);
    expect(page.url.searchParams.get('code')).toBeNull();
  });

  it('gives los-cli tokens by the device flow once the person approves over plain HTTP, and a refresh gives new ones', async () => {
    const config = await discoverIssuer(idp.issuer, 'los-cli');
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile los offline_access' });
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    const { page } = await approveDevice(device.verification_uri_complete!, 'cecilia', PASSWORD);
    expect(page.body).toContain('Du är inloggad');
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...device, interval: 1 });
    const claims = await verify(tokens.access_token);
    expect(claims).toMatchObject({ aud: AUDIENCE, name: 'Cecilia Berg', los_role: 'steering_group', client_id: 'los-cli' });
    expect(claims).not.toHaveProperty('los_municipality');
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(await verify(refreshed.access_token)).toMatchObject({ sub: claims.sub, los_role: 'steering_group', aud: AUDIENCE });
    // Refresh tokens rotate: the used one is spent.
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('asks for the device code on a labelled form in a browser, and says so when the code is wrong', async () => {
    const form = await fetch(`${idp.issuer}/device`);
    const page = await form.text();
    expect(form.status).toBe(200);
    expect(page).toContain('<label for="user_code">Kod</label>');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
    const wrong = await fetch(`${idp.issuer}/device`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: form.headers
          .getSetCookie()
          .map((line) => line.split(';')[0])
          .join('; '),
      },
      body: new URLSearchParams({ xsrf, user_code: 'BCDF-GHJK' }).toString(),
    });
    expect(await wrong.text()).toContain('Koden finns inte');
  });

  it('refuses to approve a device with a wrong password', async () => {
    const config = await discoverIssuer(idp.issuer, 'los-cli');
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
    await expect(approveDevice(device.verification_uri_complete!, 'erik', 'wrong-password-1')).rejects.toThrow(SignInRefused);
  });

  it("gives los-case-system a token as itself, with Umeå's coordinator claims from its client entry", async () => {
    const tokens = await clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', AUDIENCE);
    expect(await verify(tokens.access_token)).toMatchObject({
      sub: 'los-case-system',
      aud: AUDIENCE,
      name: 'Umeå ärendesystem',
      los_role: 'coordinator',
      los_municipality: 'Umeå',
    });
  });

  it('gives a client with a one-second TTL tokens that have expired two seconds later', async () => {
    const tokens = await clientCredentialsToken(idp.issuer, 'short-lived', 'short-lived-secret-0123', AUDIENCE);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.exp! - claims.iat!).toBe(1);
    expect(tokens.expires_in).toBe(1);
    await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
    expect(claims.exp! * 1000).toBeLessThan(Date.now());
    await expect(verify(tokens.access_token)).rejects.toThrow(joseErrors.JWTExpired);
  });

  it('refuses an unknown client at the token endpoint and at the authorization endpoint, and logs it', async () => {
    // A 401 with the challenge in WWW-Authenticate, as RFC 6749 asks for a client that authenticated with Basic.
    const invalidClient = { status: 401, cause: [expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) })] };
    await expect(clientCredentialsToken(idp.issuer, 'nobody', 'some-secret-0123456', AUDIENCE)).rejects.toMatchObject(invalidClient);
    await expect(clientCredentialsToken(idp.issuer, 'los-case-system', 'not-the-secret-0123', AUDIENCE)).rejects.toMatchObject(invalidClient);
    const authorize = await fetch(`${idp.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`, {
      redirect: 'manual',
    });
    expect(authorize.status).toBe(400);
    expect(await authorize.text()).toContain('client is invalid');
    expect(log()).toMatch(/"event":"token request refused","clientId":"nobody"/);
  });

  it('refuses a token for another audience than the API', async () => {
    await expect(clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', 'http://elsewhere.example/v1')).rejects.toMatchObject({
      error: 'invalid_target',
    });
  });

  it("gives the engine's machine clients tokens for Temporal's audience carrying only their Temporal permissions", async () => {
    const { access_token } = await clientCredentialsToken(idp.issuer, 'los-worker', 'demo-secret-los-worker', TEMPORAL_AUDIENCE);
    const claims = decodeJwt(access_token);
    expect(claims).toMatchObject({ aud: TEMPORAL_AUDIENCE, sub: 'los-worker', permissions: ['default:write'] });
    expect(claims).not.toHaveProperty('los_role');
    // For the API it has no claims, so none is issued.
    await expect(clientCredentialsToken(idp.issuer, 'los-worker', 'demo-secret-los-worker', AUDIENCE)).rejects.toMatchObject({
      error: 'invalid_target',
      error_description: expect.stringMatching(/no claims for the API/),
    });
  });

  it('refuses a Temporal token to a machine client without Temporal permissions, and gives the operator only default:read', async () => {
    await expect(clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', TEMPORAL_AUDIENCE)).rejects.toMatchObject({
      error: 'invalid_target',
      error_description: expect.stringMatching(/no Temporal permissions/),
    });
    const erik = await codeFlowTokens(idp.issuer, { ...API_CLIENT, audience: TEMPORAL_AUDIENCE, scope: 'openid temporal' }, 'erik', PASSWORD);
    expect(decodeJwt(erik.tokens.access_token)).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: ['default:read'] });
    const anna = await codeFlowTokens(idp.issuer, { ...API_CLIENT, audience: TEMPORAL_AUDIENCE, scope: 'openid temporal' }, 'anna', PASSWORD);
    expect(decodeJwt(anna.tokens.access_token)).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: [] });
  });

  it('gives the Temporal UI tokens for Temporal only, with the person’s Temporal permissions through the UI, role and municipality', async () => {
    // No resource named: the UI's client gets Temporal's audience by default.
    const anna = await codeFlowTokens(idp.issuer, TEMPORAL_UI_CLIENT, 'anna', PASSWORD);
    const annaClaims = decodeJwt(anna.tokens.access_token);
    // Reading the namespace, and the cluster-wide reads the UI makes (the namespaces, the cluster's info).
    const UI_READ = ['default:read', 'temporal-system:read'];
    expect(annaClaims).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: UI_READ, los_role: 'coordinator', los_municipality: 'Umeå' });
    expect(decodeJwt(anna.tokens.id_token!)).toMatchObject({ aud: DEMO_TEMPORAL_UI_CLIENT.clientId, name: 'Anna Lindqvist' });
    const erik = await codeFlowTokens(idp.issuer, TEMPORAL_UI_CLIENT, 'erik', PASSWORD);
    expect(decodeJwt(erik.tokens.access_token)).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: UI_READ, los_role: 'operator' });
    // The steering group has no role on Temporal through the UI.
    const cecilia = await codeFlowTokens(idp.issuer, TEMPORAL_UI_CLIENT, 'cecilia', PASSWORD);
    expect(decodeJwt(cecilia.tokens.access_token)).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: [] });
    // Not a token for the API, whatever it asks.
    await expect(codeFlowTokens(idp.issuer, { ...TEMPORAL_UI_CLIENT, audience: AUDIENCE }, 'anna', PASSWORD)).rejects.toThrow();
    expect(log()).toMatch(/gets tokens for urn:los:temporal only/);
  });

  it('gives los-cli, signed in for both audiences, a token for Temporal with the person’s permissions through the CLI, role and municipality', async () => {
    const config = await discoverIssuer(idp.issuer, 'los-cli');
    /** A device sign-in as `los login` makes it where the API names Temporal's audience, and its refresh token. */
    const signIn = async (username: string) => {
      const parameters = new URLSearchParams({ scope: 'openid profile offline_access temporal', resource: AUDIENCE });
      parameters.append('resource', TEMPORAL_AUDIENCE);
      const device = await oidc.initiateDeviceAuthorization(config, parameters);
      await approveDevice(device.verification_uri_complete!, username, PASSWORD);
      const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...device, interval: 1 }, { resource: AUDIENCE });
      expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: AUDIENCE });
      return tokens.refresh_token!;
    };
    const forTemporal = async (refreshToken: string) =>
      decodeJwt((await oidc.refreshTokenGrant(config, refreshToken, { resource: TEMPORAL_AUDIENCE })).access_token);
    // Reading the namespace, nothing cluster-wide (the CLI, unlike the UI, needs none).
    expect(await forTemporal(await signIn('anna'))).toMatchObject({
      aud: TEMPORAL_AUDIENCE,
      permissions: ['default:read'],
      los_role: 'coordinator',
      los_municipality: 'Umeå',
    });
    expect(await forTemporal(await signIn('erik'))).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: ['default:read'], los_role: 'operator' });
    expect(await forTemporal(await signIn('david'))).toMatchObject({ aud: TEMPORAL_AUDIENCE, permissions: [], los_role: 'auditor' });
    // A sign-in for the API alone is given no token for Temporal.
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access', resource: AUDIENCE });
    await approveDevice(device.verification_uri_complete!, 'erik', PASSWORD);
    const apiOnly = await oidc.pollDeviceAuthorizationGrant(config, { ...device, interval: 1 });
    await expect(oidc.refreshTokenGrant(config, apiOnly.refresh_token!, { resource: TEMPORAL_AUDIENCE })).rejects.toMatchObject({ error: 'invalid_target' });
  });

  it('keeps its signing key across a restart, so tokens it issued stay valid', async () => {
    const before = await clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', AUDIENCE);
    const realmFile = join(scratch, 'realm.yaml');
    await idp.stop();
    idp = await startIdentityProvider({ scratchDir: scratch, realmFile, audience: AUDIENCE, apiUrls: [API_URL], port: idp.port });
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload } = await jwtVerify(before.access_token, jwks, { issuer: idp.issuer, audience: AUDIENCE });
    expect(payload.sub).toBe('los-case-system');
  });
});
