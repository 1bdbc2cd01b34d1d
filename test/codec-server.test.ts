import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { temporal } from '@temporalio/proto';
import { Client } from '@temporalio/client';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { credentialsPath } from '../coordinator/credentials.js';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, DEMO_TEMPORAL_UI_CLIENT, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { findTemporalCli } from '../scripts/temporal-cli.js';
import { AuditLog, generateMasterKey, readMasterKeyring, type AccessRecord } from '../vault/index.js';
import { sampleTip, startTestEngine, type TestEngine, untilState, capturedLog } from './engine.js';
import { CookieJar, clientCredentialsToken, codeFlowTokens, passwordLogin } from './oidc.js';
import { losLogin, runLos } from './los-process.js';

/**
 * The codec server lets in whom the API lets in: access tokens from the organisation's provider (the embedded one,
 * its own process) for the API's audience, or in a browser the API's own session cookie. It decodes only for those
 * entitled: coordinators of the operation's municipality. The steering group gets the record with its sealed fields
 * left sealed; operators, auditors, administrators and other municipalities' coordinators are refused, and get the
 * payloads as the history holds them, still encrypted (so the Temporal UI and CLI show them sealed). A token
 * from another issuer, an expired one or one minted by hand is refused (401). Every attempt is in the access log,
 * every refusal in the log.
 */
const UI_ORIGIN = 'http://127.0.0.1:8233';
const TEMPORAL_AUDIENCE = 'urn:los:temporal';
const NAME = 'MARK-CODEC-NAME AB';
const PASSWORD = DEMO_PASSWORD;
const API_CLIENT_SECRET = DEMO_API_CLIENT_SECRET;
const SESSION_SECRET = 'the session secret the API and the codec server share, 32+';

let idp: IdentityProvider;
let otherIdp: IdentityProvider;
let engine: TestEngine;
let codecUrl: string;
let api: string;
let audience: string;
let scratch: string;
let audit: AuditLog;
let operationId: string;
let started: { metadata: Record<string, string>; data: string }[];
const tokens: Record<string, string> = {};
const subs: Record<string, string> = {};
const { logger: engineLog, lines: logLines } = capturedLog();

beforeAll(async () => {
  scratch = mkdtempSync(join(inject('scratchDir'), 'codec-server-'));
  const apiPort = await freePort();
  const codecPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  codecUrl = `http://127.0.0.1:${codecPort}`;
  audience = `${api}/v1`;
  // The demo realm and one more machine client, a coordinator of Umeå whose tokens live a second.
  const realm = parseYaml(readFileSync('idp/realm.yaml', 'utf8')) as { clients: unknown[] };
  realm.clients.push({
    client_id: 'short-lived',
    kind: 'machine',
    client_secret: 'short-lived-secret-0123',
    access_token_ttl: 1,
    claims: { name: 'Kortlivad', los_role: 'coordinator', los_municipality: 'Umeå' },
  });
  const realmFile = join(scratch, 'realm.yaml');
  writeFileSync(realmFile, stringifyYaml(realm));
  [idp, otherIdp] = await Promise.all([
    // Temporal's audience and the Temporal UI's client too: the UI's tokens are for Temporal and reach the codec server.
    startIdentityProvider({
      scratchDir: join(scratch, 'idp'),
      realmFile,
      audience,
      apiUrls: [api],
      temporalAudience: TEMPORAL_AUDIENCE,
      temporalUiUrls: [UI_ORIGIN],
    }),
    // Another provider, the same realm and the API's audience: its tokens are not the trusted issuer's.
    startIdentityProvider({ scratchDir: join(scratch, 'other-idp'), audience, apiUrls: [api] }),
  ]);
  const keyring = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });
  engine = await startTestEngine('codec-server', {
    keyring,
    auth: true,
    api: { port: apiPort, issuer: idp.issuer, clientSecret: API_CLIENT_SECRET, sessionSecret: SESSION_SECRET },
    codec: { port: codecPort, uiOrigin: UI_ORIGIN },
    logger: engineLog,
  });
  audit = await AuditLog.open(await engine.connectAs('worker'));
  for (const username of ['anna', 'bertil', 'cecilia', 'david', 'erik', 'frida']) {
    const { tokens: set } = await codeFlowTokens(
      idp.issuer,
      { clientId: 'los-api', clientSecret: API_CLIENT_SECRET, redirectUri: `${api}/auth/callback`, audience },
      username,
      PASSWORD,
    );
    tokens[username] = set.access_token;
    subs[username] = decodeJwt(set.access_token).sub!;
  }

  const registration = await engine.register(
    sampleTip({ entity: { orgNumber: '556703-7485', name: NAME, address: 'Storgatan 1, Umeå', municipality: 'Umeå' } }),
  );
  operationId = registration.operationId;
  await untilState(registration.handle, (s) => s.phase === 'assessment');
  const raw = new Client({ connection: engine.client.connection });
  const history = await raw.workflow.getHandle(operationId).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads! as temporal.api.common.v1.IPayload[];
  started = input.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  }));
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await idp?.stop();
  await otherIdp?.stop();
});

const decode = (token: string | undefined, headers: Record<string, string> = {}) =>
  fetch(`${codecUrl}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ payloads: started }),
  });

const text = async (res: Response) => {
  const body = (await res.json()) as { payloads: { data: string }[] };
  return body.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
};

/** The access-log records of the operation written since `before` (a count from an earlier read). */
const recordsSince = async (before: number): Promise<AccessRecord[]> => (await audit.forOperation(operationId)).slice(before);
const refusalLines = () => logLines.filter((line) => line.msg === 'refused' && line.what === 'POST /decode');

describe('codec server, with the provider’s access tokens', () => {
  it('decodes the tip for a coordinator of its municipality, and logs it', async () => {
    const res = await decode(tokens.anna);
    expect(res.status).toBe(200);
    expect(await text(res)).toContain(NAME);
    const log = await audit.forOperation(operationId);
    expect(log.at(-1)).toMatchObject({ who: subs.anna, role: 'coordinator', operationId, action: 'decode', allowed: true, detail: 'plaintext' });
    expect(log.at(-1)!.payloads).toHaveLength(started.length);
  });

  it('reads the start input the history holds compressed, smaller than its decoded size (sealed fields do not compress)', async () => {
    expect(Object.keys(started[0]!.metadata)).toEqual(['encoding']);
    const res = await decode(tokens.anna);
    const decoded = ((await res.json()) as { payloads: { data: string }[] }).payloads[0]!.data;
    expect(Buffer.from(started[0]!.data, 'base64').length).toBeLessThan(Buffer.from(decoded, 'base64').length * 0.8);
  });

  it('refuses to decode for an operator, an auditor, an administrator and a coordinator of another municipality: the payloads as stored, still encrypted; each refusal on the access log and in the log', async () => {
    const before = (await audit.forOperation(operationId)).length;
    for (const username of ['erik', 'david', 'frida', 'bertil']) {
      const res = await decode(tokens[username]);
      expect(res.status, username).toBe(200);
      expect(decodeURIComponent(res.headers.get('x-los-left-sealed') ?? ''), username).toMatch(/may not/);
      const body = (await res.json()) as { payloads: unknown[] };
      // Exactly what was sent: the ciphertext the history holds, nothing decrypted.
      expect(body.payloads, username).toEqual(started);
      expect(JSON.stringify(body)).not.toContain(NAME);
    }
    const refused = (await recordsSince(before)).filter((r) => !r.allowed && r.action === 'decode');
    expect(refused.map((r) => [r.who, r.role])).toEqual([
      [subs.erik, 'operator'],
      [subs.david, 'auditor'],
      [subs.frida, 'administrator'],
      [subs.bertil, 'coordinator'],
    ]);
    for (const username of ['erik', 'david', 'frida', 'bertil'])
      expect(refusalLines()).toContainEqual(
        expect.objectContaining({ who: subs[username], status: 200, why: expect.stringMatching(/may not/), server: 'codec' }),
      );
    // The log line names who and why, never what the tip says.
    expect(JSON.stringify(refusalLines())).not.toMatch(/MARK-CODEC|Storgatan|556703/);
  });

  it('gives the steering group the record with personal fields still sealed', async () => {
    const res = await decode(tokens.cecilia);
    expect(res.status).toBe(200);
    const body = await text(res);
    expect(body).toContain('"municipality":"Umeå"');
    expect(body).toContain('"sealed":"los.v1"');
    expect(body).not.toContain(NAME);
  });

  it('takes the Temporal UI’s own tokens (Temporal’s audience, naming the person) as the UI sends them, and refuses an engine process’s', async () => {
    const uiToken = async (username: string) =>
      (
        await codeFlowTokens(
          idp.issuer,
          { ...DEMO_TEMPORAL_UI_CLIENT, redirectUri: `${UI_ORIGIN}/auth/sso/callback`, scope: 'openid profile los temporal' },
          username,
          PASSWORD,
        )
      ).tokens.access_token;
    const asTheUi = (token: string) =>
      fetch(`${codecUrl}/decode?preserveStorageRefs=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: UI_ORIGIN, authorization: `Bearer ${token}` },
        body: JSON.stringify({ payloads: started }),
      });
    const anna = await asTheUi(await uiToken('anna'));
    expect(anna.status).toBe(200);
    expect(anna.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(await text(anna)).toContain(NAME);
    for (const username of ['erik', 'bertil']) {
      const sealed = await asTheUi(await uiToken(username));
      expect(sealed.status, username).toBe(200);
      expect(sealed.headers.get('x-los-left-sealed'), username).not.toBeNull();
      expect(((await sealed.json()) as { payloads: unknown[] }).payloads, username).toEqual(started);
    }
    // The worker's token for Temporal names no person: no role, so nothing is decoded for it.
    const worker = await clientCredentialsToken(idp.issuer, 'los-worker', 'demo-secret-los-worker', TEMPORAL_AUDIENCE);
    const refused = await asTheUi(worker.access_token);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toMatch(/los_role/);
  });

  it('decodes for a machine client of the municipality (client credentials)', async () => {
    const { access_token } = await clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', audience);
    const res = await decode(access_token);
    expect(res.status).toBe(200);
    expect(await text(res)).toContain(NAME);
  });

  it('refuses at once, before reading the body, every request without a token it can trust (401) or with a role it does not know (403), each on the security log and in the log with the reason, the address and what was asked', async () => {
    const claims = { los_role: 'coordinator', los_municipality: 'Umeå', name: 'Anna Lindqvist' };
    const fromOtherIssuer = (await clientCredentialsToken(otherIdp.issuer, 'los-case-system', 'demo-secret-los-case-system', audience)).access_token;
    const expired = (await clientCredentialsToken(idp.issuer, 'short-lived', 'short-lived-secret-0123', audience)).access_token;
    const kid = decodeProtectedHeader(tokens.anna!).kid!;
    // The trusted issuer, the API's audience, a coordinator of Umeå, the provider's key id: what each case changes is all that is wrong.
    const signed = (key: Parameters<SignJWT['sign']>[0], change: { claims?: object; audience?: string } = {}) =>
      new SignJWT({ ...claims, ...change.claims })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(subs.anna!)
        .setIssuer(idp.issuer)
        .setAudience(change.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    // The provider's own signing key (its data directory): tokens it could have issued, for another audience or role.
    const providerJwk = (JSON.parse(readFileSync(join(scratch, 'idp', 'idp-data', 'jwks.json'), 'utf8')) as { keys: JWK[] }).keys[0]!;
    const providerKey = await importJWK(providerJwk, 'ES256');
    const { privateKey: anotherKey } = await generateKeyPair('ES256');
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, sub: subs.anna, iss: idp.issuer, aud: audience, iat: now, exp: now + 600 })}.`;
    await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
    expect(decodeJwt(expired).exp! * 1000).toBeLessThan(Date.now());

    const cases: { name: string; authorization?: string; status: number; why: RegExp }[] = [
      { name: 'no token', status: 401, why: /^no bearer token and no session/ },
      { name: 'not a bearer token', authorization: 'Basic YW5uYTpkZW1vLXBhc3N3b3Jk', status: 401, why: /^Authorization must be "Bearer/ },
      { name: 'malformed', authorization: 'Bearer not-a-jwt', status: 401, why: /^token refused: Invalid Compact JWS/ },
      { name: 'another issuer', authorization: `Bearer ${fromOtherIssuer}`, status: 401, why: /^token refused: / },
      { name: 'expired', authorization: `Bearer ${expired}`, status: 401, why: /^token refused: "exp" claim/ },
      { name: 'minted by hand', authorization: `Bearer ${await signed(anotherKey)}`, status: 401, why: /^token refused: signature verification failed/ },
      { name: 'alg none', authorization: `Bearer ${unsigned}`, status: 401, why: /^token refused: .*(alg|Unsecured|JWS)/i },
      {
        name: 'another audience',
        authorization: `Bearer ${await signed(providerKey, { audience: 'urn:another:application' })}`,
        status: 401,
        why: /^token refused: unexpected "aud" claim value/,
      },
      {
        name: 'unknown role',
        authorization: `Bearer ${await signed(providerKey, { claims: { los_role: 'janitor' } })}`,
        status: 403,
        why: /^token refused: claim los_role must be one of coordinator, /,
      },
    ];
    // The provider's key really is trusted: the same token with a known role is let in.
    expect((await decode(await signed(providerKey))).status).toBe(200);

    const before = (await audit.unattributed()).length;
    const linesBefore = refusalLines().length;
    for (const refusal of cases) {
      // A body that is not JSON: a request refused for who it is never has its body read (a 400 would say it was).
      const res = await fetch(`${codecUrl}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(refusal.authorization ? { authorization: refusal.authorization } : {}) },
        body: '{"payloads": [not json',
      });
      expect(res.status, refusal.name).toBe(refusal.status);
      if (refusal.status === 401) expect(res.headers.get('www-authenticate'), refusal.name).toBe('Bearer');
      expect(((await res.json()) as { message: string }).message, refusal.name).toMatch(refusal.why);
    }
    // Refused before anything is read or decrypted, so the records name no operation: the security log.
    const refused = (await audit.unattributed()).slice(before);
    expect(refused.map((r) => r.detail)).toEqual(cases.map((c) => expect.stringMatching(new RegExp(`^refused: ${c.why.source.slice(1)}`, c.why.flags))));
    for (const record of refused)
      expect(record).toMatchObject({
        who: 'unauthenticated',
        role: 'none',
        action: 'decode',
        allowed: false,
        payloads: [],
        asked: 'POST /decode',
        address: '127.0.0.1',
      });
    expect(refusalLines().slice(linesBefore)).toEqual(
      cases.map((c) => expect.objectContaining({ who: 'unauthenticated', status: c.status, why: expect.stringMatching(c.why), address: '127.0.0.1' })),
    );
    // Neither the access log nor the log holds a token, or any part of one.
    const written = JSON.stringify([refused, refusalLines().slice(linesBefore)]);
    for (const refusal of cases.filter((c) => c.authorization?.startsWith('Bearer ey')))
      expect(written, refusal.name).not.toContain(refusal.authorization!.split('.')[1]!.slice(0, 24));
  });

  it('encodes only for a coordinator, and nothing for anyone signed in (the Temporal CLI’s query sends no input); a refused encode on the security log', async () => {
    const encode = (token: string, payloads: unknown[]) =>
      fetch(`${codecUrl}/encode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ payloads }),
      });
    const plain = [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"a decision"').toString('base64') }];
    const coordinator = await encode(tokens.anna!, plain);
    expect(coordinator.status).toBe(200);
    expect(((await coordinator.json()) as { payloads: unknown[] }).payloads).toHaveLength(1);
    const nothing = await encode(tokens.erik!, []);
    expect(nothing.status).toBe(200);
    expect(await nothing.json()).toEqual({ payloads: [] });
    const before = (await audit.unattributed()).length;
    const refused = await encode(tokens.erik!, plain);
    expect(refused.status).toBe(403);
    expect((await audit.unattributed()).slice(before)).toEqual([
      expect.objectContaining({
        who: subs.erik,
        role: 'operator',
        action: 'encode',
        allowed: false,
        detail: 'refused: operator may not send input to operations',
      }),
    ]);
  });

  it("answers CORS only for the Temporal UI's origin, credentials included", async () => {
    const preflight = (origin: string) =>
      fetch(`${codecUrl}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ui = await preflight(UI_ORIGIN);
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ui.headers.get('access-control-allow-credentials')).toBe('true');
    const elsewhere = await preflight('http://evil.example');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('has no sign-in of its own: /login?token= is gone', async () => {
    const res = await fetch(`${codecUrl}/login?token=${tokens.anna}`);
    expect(res.status).toBe(404);
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});

describe('codec server, with the API’s browser session', () => {
  /** Signs `username` in at the API as a browser does (code flow), returning the cookie jar with the API's session cookie. */
  async function browserSession(username: string): Promise<CookieJar> {
    const jar = new CookieJar();
    const { page } = await passwordLogin(`${api}/auth/login?returnTo=/auth/session`, username, PASSWORD, { jar });
    expect(page.status).toBe(200);
    expect(jar.get('los_session')).toBeDefined();
    return jar;
  }
  // The UI's fetch with "include cross-origin credentials": the API's cookies for this host, and the UI's origin.
  const fromUi = (jar: CookieJar) => ({ origin: UI_ORIGIN, cookie: jar.header(new URL(codecUrl)) });

  it('decodes for a coordinator signed in at the API, by the session cookie the browser sends along', async () => {
    const jar = await browserSession('anna');
    const res = await decode(undefined, fromUi(jar));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(await text(res)).toContain(NAME);
    expect((await audit.forOperation(operationId)).at(-1)).toMatchObject({ who: subs.anna, role: 'coordinator', allowed: true, detail: 'plaintext' });
  });

  it('refuses to decode for an operator’s session (the payloads as stored) and logs it', async () => {
    const jar = await browserSession('erik');
    const res = await decode(undefined, fromUi(jar));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { payloads: unknown[] }).payloads).toEqual(started);
    expect((await audit.forOperation(operationId)).at(-1)).toMatchObject({ who: subs.erik, role: 'operator', allowed: false });
  });

  it('refuses a forged session cookie, and a session signed out at the API (401), each logged', async () => {
    const jar = await browserSession('anna');
    const cookie = jar.get('los_session')!;
    const [id, signature] = [cookie.slice(0, cookie.lastIndexOf('.')), cookie.slice(cookie.lastIndexOf('.') + 1)];
    // Another session id under the real signature, and the real id under no signature: neither was signed by the API.
    const forged = await decode(undefined, { origin: UI_ORIGIN, cookie: `los_session=${randomBytes(32).toString('base64url')}.${signature}` });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { message: string }).message).toMatch(/not one this API signed/);
    expect((await decode(undefined, { origin: UI_ORIGIN, cookie: `los_session=${id}` })).status).toBe(401);

    const answer = await fetch(`${api}/auth/session`, { headers: { cookie: jar.header(new URL(api)) } });
    jar.store(new URL(api), answer);
    const session = (await answer.json()) as { csrfToken: string };
    const logout = await fetch(`${api}/auth/logout`, { method: 'POST', headers: { cookie: jar.header(new URL(api)), 'x-csrf-token': session.csrfToken } });
    expect(logout.status).toBe(204);
    const ended = await decode(undefined, fromUi(jar));
    expect(ended.status).toBe(401);
    expect(((await ended.json()) as { message: string }).message).toMatch(/session has ended/);
    expect(
      refusalLines()
        .slice(-3)
        .map((line) => line.status),
    ).toEqual([401, 401, 401]);
  });
});

describe('temporal CLI through the codec server', () => {
  it(
    '`temporal workflow show --codec-auth "Bearer $(los token)"` reads the tip for a signed-in coordinator, and for an operator the history with the tip still encrypted',
    { timeout: 90_000 },
    async () => {
      // `los login` as anna: the device flow, the code approved over plain HTTP as a person would in a browser.
      const env = { XDG_CONFIG_HOME: mkdtempSync(join(scratch, 'home-')), LOS_API_URL: api };
      const login = await losLogin(env, 'anna', PASSWORD);
      expect(login.code, login.stderr).toBe(0);
      const printed = await runLos(env, ['token']);
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stderr).toBe('');
      const token = printed.stdout.trim();
      expect(printed.stdout).toBe(`${token}\n`);
      expect(decodeJwt(token)).toMatchObject({ sub: subs.anna, aud: audience, iss: idp.issuer });
      // Near its expiry, `los token` renews it first (and keeps the new set), so what it prints is good for a while.
      const file = credentialsPath(env);
      const kept = JSON.parse(readFileSync(file, 'utf8')) as { apis: Record<string, { expiresAt: number }> };
      kept.apis[api]!.expiresAt = Date.now() + 30_000;
      writeFileSync(file, JSON.stringify(kept), { mode: 0o600 });
      const renewed = (await runLos(env, ['token'])).stdout.trim();
      // This API's Temporal server checks no tokens, so it names no Temporal audience and the sign-in holds none.
      const forTemporal = await runLos(env, ['token', '--for', 'temporal']);
      expect(forTemporal).toMatchObject({ code: 1, stdout: '' });
      expect(forTemporal.stderr).toMatch(/^error: this sign-in holds no access to Temporal: .* run `los login` again\n$/);
      expect(renewed).not.toBe(token);
      expect(decodeJwt(renewed).exp! * 1000).toBeGreaterThan(Date.now() + 60_000);

      const cli = findTemporalCli()!;
      const show = (bearer: string) =>
        promisify(execFile)(
          cli,
          [
            'workflow',
            'show',
            '--address',
            inject('temporalAddress'),
            '--workflow-id',
            operationId,
            '--codec-endpoint',
            codecUrl,
            '--codec-auth',
            `Bearer ${bearer}`,
            '--output',
            'json',
          ],
          { encoding: 'utf8', timeout: 30_000 },
        ).catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
      // The JSON output carries each (decoded) payload's bytes in base64.
      const payloadText = (out: { stdout: string }) =>
        [...out.stdout.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');
      const allowed = await show(renewed);
      expect(payloadText(allowed)).toContain(NAME);
      const refusalsBefore = (await audit.forOperation(operationId)).filter((r) => r.who === subs.erik && !r.allowed).length;
      const refused = await show(tokens.erik!);
      // The operator reads the history with its payloads as stored, encrypted; each refusal is on the record.
      expect(refused.stdout, refused.stderr).toContain('workflowExecutionStartedEventAttributes');
      expect(refused.stdout).toContain(Buffer.from('binary/encrypted').toString('base64'));
      expect((await audit.forOperation(operationId)).filter((r) => r.who === subs.erik && !r.allowed).length).toBeGreaterThan(refusalsBefore);
      expect(payloadText(refused) + refused.stderr).not.toContain(NAME);
    },
  );

  it('answers the Temporal CLI’s query and metadata requests with a token, and refuses them at once without one', { timeout: 90_000 }, async () => {
    const cli = findTemporalCli()!;
    // The CLI's own deadline is longer than this: a CLI left waiting on the codec server would be killed here, and say so.
    const run = (args: string[], auth?: string) =>
      promisify(execFile)(
        cli,
        [...args, '--address', inject('temporalAddress'), '--workflow-id', operationId, '--codec-endpoint', codecUrl, ...(auth ? ['--codec-auth', auth] : [])],
        { encoding: 'utf8', timeout: 40_000 },
      ).then(
        (out) => ({ ok: true, killed: false, out: out.stdout + out.stderr }),
        (err: { stdout?: string; stderr?: string; message: string; killed?: boolean }) => ({
          ok: false,
          killed: err.killed === true,
          out: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`,
        }),
      );
    const query = await run(['workflow', 'query', '--name', 'state'], `Bearer ${tokens.anna}`);
    expect(query.out).not.toContain('payloads must be an array');
    expect(query.ok, query.out).toBe(true);
    expect(query.out).toContain('assessment');
    const metadata = await run(['workflow', 'metadata'], `Bearer ${tokens.anna}`);
    expect(metadata.ok, metadata.out).toBe(true);
    expect(metadata.out).toContain('Query Definitions');
    expect(metadata.out).toContain('agencyAnswers');
    // The operator: the metadata, readable as stored; the state query's answer as stored, not decoded for him.
    const operatorMetadata = await run(['workflow', 'metadata'], `Bearer ${tokens.erik}`);
    expect(operatorMetadata.ok, operatorMetadata.out).toBe(true);
    expect(operatorMetadata.out).toContain('Query Definitions');
    const operatorQuery = await run(['workflow', 'query', '--name', 'state'], `Bearer ${tokens.erik}`);
    expect(operatorQuery.ok, operatorQuery.out).toBe(true);
    expect(operatorQuery.out).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(operatorQuery.out).not.toContain(NAME);
    // No token: refused by the codec server straight away, not left to the CLI's deadline.
    const refused = await run(['workflow', 'query', '--name', 'state']);
    expect(refused.ok).toBe(false);
    // The CLI ended by itself, on the codec server's 401 and its reason, not on a deadline.
    expect(refused.killed, refused.out).toBe(false);
    expect(refused.out).not.toMatch(/deadline exceeded/i);
    expect(refused.out).toMatch(/Unauthorized: .*no bearer token and no session/);
  });

  it('`los token` says to sign in when nobody is (exit 1, nothing on stdout)', async () => {
    const run = await runLos({ XDG_CONFIG_HOME: mkdtempSync(join(scratch, 'home-')), LOS_API_URL: api }, ['token']);
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: not signed in: run `los login`\n' });
  });
});
