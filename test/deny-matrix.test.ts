import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, startIdentityProvider, type IdentityProvider } from '../scripts/identity-provider.js';
import { AuditLog, signDecision } from '../vault/index.js';
import { assessUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { FailureType } from '../workflows/failures.js';
import { CookieJar, clientCredentialsToken, codeFlowTokens, passwordLogin } from './oidc.js';
import { eventually, sampleTip, startTestEngine, untilKeysLearned, workerLog, type TestEngine, capturedLog } from './engine.js';

/**
 * The deny matrix of issue 18, end to end: every way in that must be refused is tried against the real identity
 * provider process (and a second one, another issuer), the engine's API over real HTTP, and Temporal itself. Each
 * row is refused with its own status and reason, and each refusal is logged: the API's log line (who, what, why;
 * no personal data) and, where the request names an operation, a record on that operation's access log; a
 * decision sent straight through Temporal is refused by the workflow's validator, which logs it too.
 */

const EXPIRING = { id: 'los-expiring', secret: 'expiring-secret-for-the-deny-matrix' };

let idp: IdentityProvider;
let otherIdp: IdentityProvider;
let engine: TestEngine;
let api: string;
let audience: string;
let audit: AuditLog;
/** An operation of Umeå, registered by Anna through the API; and a second one, for replays. */
let umea: string;
let umeaOther: string;
const tokens: Record<string, string> = {};
const { logger: engineLog, lines: logLines } = capturedLog();

const personToken = async (provider: IdentityProvider, username: string) =>
  (
    await codeFlowTokens(
      provider.issuer,
      { clientId: 'los-api', clientSecret: DEMO_API_CLIENT_SECRET, redirectUri: `${api}/auth/callback`, audience },
      username,
      DEMO_PASSWORD,
    )
  ).tokens.access_token;

function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${api}${path}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
}

/** A browser's session at the API, signed in as `username` by the code flow; the jar holds its cookie. */
async function browserSession(
  username: string,
): Promise<{ jar: CookieJar; csrfToken: string; cookies: (extra?: Record<string, string>) => Record<string, string> }> {
  const jar = new CookieJar();
  await passwordLogin(`${api}/auth/login?returnTo=/auth/session`, username, DEMO_PASSWORD, { jar });
  const cookies = (extra: Record<string, string> = {}) => ({ cookie: jar.header(new URL(api)), ...extra });
  const session = await fetch(`${api}/auth/session`, { headers: cookies() });
  jar.store(new URL(api), session);
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  return { jar, csrfToken, cookies };
}

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  audience = `${api}/v1`;
  const scratch = mkdtempSync(join(inject('scratchDir'), 'deny-'));
  // The demo realm, and a machine client of Umeå whose tokens expire after a second.
  const realm = parseYaml(readFileSync('idp/realm.yaml', 'utf8')) as { clients: unknown[] };
  realm.clients.push({
    client_id: EXPIRING.id,
    kind: 'machine',
    client_secret: EXPIRING.secret,
    access_token_ttl: 1,
    claims: { name: 'Kortlivad', los_role: 'coordinator', los_municipality: 'Umeå' },
  });
  const realmFile = join(scratch, 'realm.yaml');
  writeFileSync(realmFile, stringifyYaml(realm));
  idp = await startIdentityProvider({ scratchDir: join(scratch, 'idp'), realmFile, audience, apiUrls: [api] });
  // Another issuer with the same people and clients: its tokens look right and are not the API's provider's.
  otherIdp = await startIdentityProvider({ scratchDir: join(scratch, 'other-idp'), realmFile, audience, apiUrls: [api] });
  engine = await startTestEngine('deny', {
    api: { port, issuer: idp.issuer, clientSecret: DEMO_API_CLIENT_SECRET, sessionSecret: 'the deny matrix session secret, over 32 characters' },
    logger: engineLog,
  });
  audit = await AuditLog.open(engine.nc);
  for (const username of ['anna', 'bertil', 'cecilia', 'david', 'erik', 'frida']) tokens[username] = await personToken(idp, username);
  const register = async () => {
    const response = await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() });
    expect(response.status).toBe(201);
    return ((await response.json()) as { operationId: string }).operationId;
  };
  umea = await register();
  umeaOther = await register();
  for (const id of [umea, umeaOther]) await untilKeysLearned(engine.client.workflow.getHandle(id));
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await idp?.stop();
  await otherIdp?.stop();
});

/** The API's refusal line for this request (the newest), once it is written. */
const refusalLogged = (what: string, status: number) =>
  eventually(
    async () => logLines.filter((line) => line.msg === 'refused' && line.what === what && line.status === status).at(-1),
    (line) => line !== undefined,
    10_000,
  );

/** Nothing was taken: Umeå's operation still waits for its assessment, and its timeline holds no decision but its registration. */
async function nothingTaken(): Promise<void> {
  const handle = engine.client.workflow.getHandle(umea);
  expect((await handle.query(stateQuery)).stage).toBe('assessment');
  const decided = (await handle.query(timelineQuery)).filter((entry) => entry.kind === 'decision' && !entry.text.startsWith('tip registered by'));
  expect(decided).toEqual([]);
}

/** Access-log refusals of the operation, as the stream holds them. */
const refusalsOn = async (operationId: string) => (await audit.forOperation(operationId)).filter((record) => !record.allowed);

interface HttpRow {
  name: string;
  request: () => Promise<Response>;
  status: 401 | 403;
  /** The route, as the refusal's log line names it. */
  what: string;
  /** Words of the problem's detail: the reason given. */
  why: RegExp;
  /** The operation whose access log records the refusal, when the request names one. */
  operation?: () => string;
}

const decide = (token: string | undefined, operation = () => umea): Pick<HttpRow, 'request' | 'what' | 'operation'> => ({
  request: () => call('POST', `/v1/operations/${operation()}/decisions/assess`, { ...(token !== undefined ? { token } : {}), body: { decision: 'proceed' } }),
  what: 'POST /v1/operations/:id/decisions/assess',
  operation,
});

const rows: HttpRow[] = [
  { name: 'no token', ...decide(undefined), status: 401, why: /token/i },
  {
    name: 'a token whose signature was altered',
    request: () => decide(`${tokens.anna!.slice(0, -6)}AAAAAA`).request(),
    what: decide('').what,
    operation: () => umea,
    status: 401,
    why: /token refused/,
  },
  {
    name: 'a token signed by someone else’s key with the right issuer, audience and claims',
    request: async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ los_role: 'coordinator', los_municipality: 'Umeå', name: 'Anna Lindqvist' })
        .setProtectedHeader({ alg: 'ES256', kid: 'forged' })
        .setIssuer(idp.issuer)
        .setAudience(audience)
        .setSubject('0b6f3c2e-5d1a-4a8e-9f27-1c4d8e6a2b01')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
      return decide(forged).request();
    },
    what: decide('').what,
    operation: () => umea,
    status: 401,
    why: /token refused/,
  },
  {
    name: 'an unsigned token (alg: none) with the right issuer, audience and claims',
    request: () => {
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: idp.issuer, aud: audience, sub: 'x', los_role: 'coordinator', los_municipality: 'Umeå', name: 'Nobody', iat: now, exp: now + 600 };
      return decide(`${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`).request();
    },
    what: decide('').what,
    operation: () => umea,
    status: 401,
    why: /token refused/,
  },
  {
    name: 'an expired token',
    request: async () => {
      const { access_token } = await clientCredentialsToken(idp.issuer, EXPIRING.id, EXPIRING.secret, audience);
      await new Promise((resolveLater) => setTimeout(resolveLater, 2_100));
      return decide(access_token).request();
    },
    what: decide('').what,
    operation: () => umea,
    status: 401,
    why: /token refused.*exp/i,
  },
  {
    name: 'a token from another issuer',
    request: async () => decide(await personToken(otherIdp, 'anna')).request(),
    what: decide('').what,
    operation: () => umea,
    status: 401,
    why: /token refused/,
  },
  { name: 'a coordinator of another municipality', ...decide(''), request: () => decide(tokens.bertil).request(), status: 403, why: /Malmö/ },
  { name: 'the steering group deciding', ...decide(''), request: () => decide(tokens.cecilia).request(), status: 403, why: /coordinator/ },
  { name: 'an operator deciding', ...decide(''), request: () => decide(tokens.erik).request(), status: 403, why: /coordinator/ },
  {
    name: 'an operator registering a tip',
    request: () => call('POST', '/v1/operations', { token: tokens.erik, body: sampleTip() }),
    what: 'POST /v1/operations',
    status: 403,
    why: /coordinator/,
  },
  {
    name: 'a coordinator reading the access log',
    request: () => call('GET', `/v1/operations/${umea}/access-log`, { token: tokens.anna }),
    what: 'GET /v1/operations/:id/access-log',
    operation: () => umea,
    status: 403,
    why: /auditor/,
  },
  {
    name: 'a coordinator rotating the master key',
    request: () => call('POST', '/v1/admin/keys/rotate', { token: tokens.anna, body: {} }),
    what: 'POST /v1/admin/keys/rotate',
    status: 403,
    why: /administrator/,
  },
  {
    name: 'an administrator deciding',
    ...decide(''),
    request: () => decide(tokens.frida).request(),
    status: 403,
    why: /coordinator/,
  },
  {
    name: 'a forged session cookie',
    request: () => call('GET', `/v1/operations/${umea}`, { headers: { cookie: `los_session=${randomBytes(32).toString('base64url')}` } }),
    what: 'GET /v1/operations/:id',
    operation: () => umea,
    status: 401,
    why: /session|sign/i,
  },
  {
    name: 'a session cookie replayed after its sign-out',
    request: async () => {
      const session = await browserSession('anna');
      const stolen = session.cookies();
      expect((await fetch(`${api}/auth/logout`, { method: 'POST', headers: session.cookies({ 'x-csrf-token': session.csrfToken }) })).status).toBe(204);
      return call('GET', `/v1/operations/${umea}`, { headers: stolen });
    },
    what: 'GET /v1/operations/:id',
    operation: () => umea,
    status: 401,
    why: /session|sign/i,
  },
  {
    name: 'a state change by session cookie without the CSRF token',
    request: async () => {
      const session = await browserSession('anna');
      return call('POST', `/v1/operations/${umea}/decisions/assess`, { body: { decision: 'proceed' }, headers: session.cookies() });
    },
    what: decide('').what,
    operation: () => umea,
    status: 403,
    why: /csrf/i,
  },
];

describe('the API refuses, logs and records each way in that is not allowed', () => {
  it.each(rows)('$name: $status', async (row) => {
    const before = row.operation ? (await refusalsOn(row.operation())).length : 0;
    const response = await row.request();
    expect(response.status).toBe(row.status);
    const problem = (await response.json()) as { type: string; status: number; detail: string };
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(problem.status).toBe(row.status);
    expect(problem.detail).toMatch(row.why);
    if (row.status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const line = await refusalLogged(row.what, row.status);
    expect(String(line!.why)).toMatch(row.why);
    // Who, what and why, never a name or anything of the tip.
    expect(JSON.stringify(line)).not.toMatch(/Lindqvist|Bertil|Norrsken|556703|Storgatan/);
    if (row.operation) {
      const refusals = await eventually(
        () => refusalsOn(row.operation!()),
        (records) => records.length > before,
        10_000,
      );
      expect(refusals.at(-1)!.detail).toMatch(row.why);
    }
    await nothingTaken();
  });
});

describe('Temporal refuses, and logs, a decision that did not come through the API', () => {
  const refusedByWorkflow = async (send: () => Promise<unknown>, reason: RegExp) => {
    const logged = workerLog.length;
    const err = await send().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe(FailureType.NotAuthorised);
    expect(cause.message).toMatch(reason);
    const entry = await eventually(
      async () => workerLog.slice(logged).find((e) => e.message === 'decision refused'),
      (found) => found !== undefined,
      10_000,
    );
    expect(String(entry!.meta?.reason)).toMatch(reason);
    await nothingTaken();
  };
  const handle = (): WorkflowHandle => engine.client.workflow.getHandle(umea);

  it('an unsigned decision sent straight through Temporal', async () => {
    await refusedByWorkflow(() => handle().executeUpdate(assessUpdate, { args: [{ decision: 'proceed' } as never] }), /sign/i);
  });

  it('a decision signed with a key that is not the API’s', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const forger = { sign: (message: Uint8Array) => new Uint8Array(sign(null, message, privateKey)) };
    const forged = signDecision(forger, {
      update: assessUpdate.name,
      operationId: umea,
      decision: { decision: 'proceed' },
      author: { sub: 'x', name: 'Forger', role: 'coordinator', municipality: 'Umeå' },
    });
    await refusedByWorkflow(() => handle().executeUpdate(assessUpdate, { args: [forged as never] }), /signature/i);
  });

  it('a decision the API signed for another operation, replayed into this one', async () => {
    const signedForOther = await engine.sign(umeaOther, assessUpdate, { decision: 'proceed' as const });
    await refusedByWorkflow(() => handle().executeUpdate(assessUpdate, { args: [signedForOther] }), new RegExp(`another operation|${umeaOther}`));
  });

  it('a decision the API signed and the operation took, sent again (a replay) under another update id', async () => {
    const signed = await engine.sign(umeaOther, assessUpdate, {
      decision: 'request_info' as const,
      agencies: ['polisen' as const],
      question: 'Anything ongoing?',
    });
    const other = engine.client.workflow.getHandle(umeaOther);
    await other.executeUpdate(assessUpdate, { args: [signed] });
    const logged = workerLog.length;
    const err = await other.executeUpdate(assessUpdate, { args: [signed] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(((err as WorkflowUpdateFailedError).cause as Error & { type?: string }).type).toBe(FailureType.NotAuthorised);
    expect(((err as WorkflowUpdateFailedError).cause as Error).message).toMatch(/replay|already/i);
    await eventually(
      async () => workerLog.slice(logged).some((e) => e.message === 'decision refused'),
      (found) => found,
      10_000,
    );
  });
});
