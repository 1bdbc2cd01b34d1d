import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseServerTiming } from '../api/index.js';
import { freePort } from '../scripts/dev-stack.js';
import { OPENAPI_FILE, PROJECT_ROOT } from '../scripts/generate-contract.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { CookieJar, codeFlowTokens, passwordLogin } from './oidc.js';
import { sampleTip, startTestEngine, type TestEngine, capturedLog } from './engine.js';

/**
 * The HTTP API with everything real: the embedded identity provider as its own process, the run's Temporal dev
 * server, a nats-server and the engine with its API. People sign in at the provider (plain HTTP, a cookie jar);
 * their tokens and sessions are what the API checks.
 */

const PASSWORD = DEMO_PASSWORD;
const API_CLIENT_SECRET = DEMO_API_CLIENT_SECRET;
/** Anna Lindqvist's subject (idp/realm.yaml): Umeå's coordinator. */
const ANNA = '0b6f3c2e-5d1a-4a8e-9f27-1c4d8e6a2b01';

let idp: IdentityProvider;
let engine: TestEngine;
let api: string;
let audience: string;
const tokens: Record<string, string> = {};
/** The engine's JSON log lines, as its processes write them. */
const { logger: engineLog, lines: logLines } = capturedLog();

async function tokenOf(username: string): Promise<string> {
  const { tokens: set } = await codeFlowTokens(
    idp.issuer,
    { clientId: 'los-api', clientSecret: API_CLIENT_SECRET, redirectUri: `${api}/auth/callback`, audience },
    username,
    PASSWORD,
  );
  return set.access_token;
}

function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${api}${path}`, { method, headers, redirect: 'manual', ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
}

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  audience = `${api}/v1`;
  idp = await startIdentityProvider({ scratchDir: mkdtempSync(join(inject('scratchDir'), 'api-idp-')), audience, apiUrls: [api] });
  engine = await startTestEngine('api', {
    api: { port, issuer: idp.issuer, clientSecret: API_CLIENT_SECRET, sessionSecret: 'a session secret for the api test, 32+ chars' },
    logger: engineLog,
  });
  for (const username of ['anna', 'bertil', 'cecilia', 'david', 'erik']) tokens[username] = await tokenOf(username);
});

afterAll(async () => {
  await engine?.stop();
  await idp?.stop();
});

describe('a coordinator with a bearer token', () => {
  it('registers a tip (201) and takes a decision (200), and the timeline names them', async () => {
    const registered = await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() });
    expect(registered.status).toBe(201);
    const { operationId, outcome } = (await registered.json()) as { operationId: string; outcome: string };
    expect(outcome).toBe('started');

    const decided = await call('POST', `/v1/operations/${operationId}/decisions/assess`, { token: tokens.anna, body: { decision: 'proceed' } });
    expect(decided.status).toBe(200);
    // The receipt: where the operation stands the moment the decision is recorded (its stage acts on it next).
    expect(await decided.json()).toEqual({ phase: 'assessment', stage: expect.any(String), waitingFor: expect.any(String) });

    const shown = (await (await call('GET', `/v1/operations/${operationId}`, { token: tokens.anna })).json()) as {
      timeline: { text: string; by?: { name: string; role: string } }[];
    };
    expect(shown.timeline.find((entry) => entry.text.startsWith('assessment: proceed'))?.by).toMatchObject({ name: 'Anna Lindqvist', role: 'coordinator' });
  });

  it('gets a 400 problem naming the field for bad input, and nothing starts', async () => {
    const tip = sampleTip();
    const response = await call('POST', '/v1/operations', { token: tokens.anna, body: { ...tip, entity: { ...tip.entity, orgNumber: '556703-7486' } } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { type: string; detail: string; errors: { field: string }[] };
    expect(problem.type).toBe('urn:los:problem:invalid-input');
    expect(problem.detail).toMatch(/^tip rejected: entity\.orgNumber "556703-7486"/);
    expect(problem.errors.map((error) => error.field)).toEqual(['entity.orgNumber']);
    // A stable code beside the English message, for a client to branch on and translate.
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'entity.orgNumber', code: 'org-number-check-digit' })]);
  });

  it('gets 413 for a body over 64 KiB', async () => {
    const response = await call('POST', '/v1/operations', { token: tokens.anna, body: { ...sampleTip(), description: 'x'.repeat(70_000) } });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { type: string }).type).toBe('urn:los:problem:body-too-large');
  });

  it('gets 409 for a decision the stage does not take now', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const response = await call('POST', `/v1/operations/${operationId}/decisions/close`, { token: tokens.anna, body: { summary: 'done' } });
    expect(response.status).toBe(409);
    // The workflow validator's refusal keeps its code, and the facts it names, through Temporal to the problem.
    const problem = (await response.json()) as { detail: string; errors: unknown[] };
    expect(problem.detail).toBe('close rejected: the operation is in phase assessment, not follow_up');
    expect(problem.errors).toEqual([{ field: '(root)', message: problem.detail, code: 'wrong-phase', params: { phase: 'assessment', expected: 'follow_up' } }]);
  });

  it('gets 409 saying the operation has ended, and how, for a decision on an ended operation', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const cancel = await call('POST', `/v1/operations/${operationId}/decisions/cancel`, { token: tokens.anna, body: { reason: 'Registered twice.' } });
    expect(cancel.status).toBe(200);
    await engine.client.workflow.getHandle(operationId).result();
    const response = await call('POST', `/v1/operations/${operationId}/decisions/assess`, { token: tokens.anna, body: { decision: 'proceed' } });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      `assessment rejected: operation ${operationId} has ended (cancelled); it takes no more decisions`,
    );
  });
});

describe('refusals', () => {
  it('answers no token with 401 and WWW-Authenticate: Bearer', async () => {
    const response = await call('GET', '/v1/operations');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers a token whose signature does not verify with 401', async () => {
    const tampered = `${tokens.anna!.slice(0, -4)}AAAA`;
    const response = await call('GET', '/v1/operations', { token: tampered });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain('token refused');
  });

  it('refuses another municipality’s coordinator with 403 and puts the refusal on the access log, which the auditor reads', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const refused = await call('POST', `/v1/operations/${operationId}/decisions/assess`, { token: tokens.bertil, body: { decision: 'proceed' } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain('Malmö');

    const log = await call('GET', `/v1/operations/${operationId}/access-log`, { token: tokens.david });
    expect(log.status).toBe(200);
    const { records } = (await log.json()) as { records: { action: string; allowed: boolean; role: string }[] };
    expect(records).toContainEqual(expect.objectContaining({ action: 'decide', allowed: false, role: 'coordinator' }));

    // And logged: who (the token's subject), what, why; no name, nothing of the tip.
    const line = logLines.find((entry) => entry.msg === 'refused' && entry.operationId === operationId);
    expect(line).toMatchObject({
      who: '5a2d9e71-3c6b-4f08-8d4e-7b1f2a9c3d02',
      role: 'coordinator',
      what: 'POST /v1/operations/:id/decisions/assess',
      status: 403,
    });
    expect(String(line!.why)).toContain('Malmö');
    expect(JSON.stringify(line)).not.toMatch(/Bertil|Norrsken|556703/);
  });

  it('does not let a coordinator read the access log', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    expect((await call('GET', `/v1/operations/${operationId}/access-log`, { token: tokens.anna })).status).toBe(403);
  });

  it('does not let the steering group decide', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const response = await call('POST', `/v1/operations/${operationId}/decisions/assess`, { token: tokens.cecilia, body: { decision: 'proceed' } });
    expect(response.status).toBe(403);
  });
});

describe('reading', () => {
  it('shows the steering group an operation with its personal fields sealed, and its coordinator with them open', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const reason = 'Tipset gäller en annan verksamhet än den som bedrivs på adressen';
    expect((await call('POST', `/v1/operations/${operationId}/decisions/assess`, { token: tokens.anna, body: { decision: 'dismiss', reason } })).status).toBe(
      200,
    );

    const asSteering = await (await call('GET', `/v1/operations/${operationId}`, { token: tokens.cecilia })).text();
    expect(asSteering).not.toContain(reason);
    expect(asSteering).toContain('⟦los.v1:');
    const asCoordinator = await (await call('GET', `/v1/operations/${operationId}`, { token: tokens.anna })).text();
    expect(asCoordinator).toContain(reason);
    const asOperator = await call('GET', `/v1/operations/${operationId}`, { token: tokens.erik });
    expect(asOperator.status).toBe(200);
    expect(await asOperator.text()).not.toContain(reason);
  });

  it('says in Server-Timing where a read spent its time: the identity check, the key record, the Temporal calls and the unsealing', async () => {
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: sampleTip() })).json()) as { operationId: string };
    const read = await call('GET', `/v1/operations/${operationId}`, { token: tokens.anna });
    expect(read.status).toBe(200);
    const steps = parseServerTiming(read.headers.get('server-timing'));
    expect(Object.keys(steps)).toEqual(['auth', 'keys', 'temporal', 'unseal', 'app']);
    // The state, the timeline and the tip: three calls into Temporal (the municipality is in the key record).
    expect(steps.temporal!.desc).toBe('3 calls');
    for (const { ms } of Object.values(steps)) expect(ms).toBeGreaterThan(0);
    expect(steps.app!.ms).toBeGreaterThanOrEqual(steps.temporal!.ms + steps.auth!.ms);
    // A refusal says it too (no Temporal call was made for it).
    const refused = await call('GET', `/v1/operations/${operationId}`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('server-timing')).toMatch(/^auth;dur=[\d.]+;desc="1 call", app;dur=[\d.]+$/);
  });

  it('gives the coordinator of its municipality the tip, the business first, each read on the access log; nobody else gets it', async () => {
    const tip = sampleTip();
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: tip })).json()) as { operationId: string };
    const annasReads = async () => {
      const log = (await (await call('GET', `/v1/operations/${operationId}/access-log`, { token: tokens.david })).json()) as {
        records: { who: string; action: string; allowed: boolean; detail: string; asked?: string }[];
      };
      return log.records.filter((r) => r.who === ANNA && r.action === 'show' && r.asked === 'GET /v1/operations/:id');
    };
    expect(await annasReads()).toEqual([]);

    const asCoordinator = await call('GET', `/v1/operations/${operationId}`, { token: tokens.anna });
    expect(asCoordinator.status).toBe(200);
    const view = (await asCoordinator.json()) as { tip?: unknown };
    expect(view.tip).toEqual({
      entity: { orgNumber: '5567037485', name: tip.entity.name, address: tip.entity.address, municipality: 'Umeå' },
      categories: tip.categories,
      description: tip.description,
      urgency: 'high',
      // A protected source: said to be one, its reference never leaves the engine.
      source: { kind: 'public', protected: true },
      receivedAt: new Date(tip.receivedAt).toISOString(),
    });
    expect(JSON.stringify(view)).not.toContain('SECRET-SOURCE-REF');
    expect(await annasReads()).toEqual([expect.objectContaining({ allowed: true, detail: 'plaintext' })]);

    // Malmö's coordinator is refused (and that is on the log too); the steering group and an operator get no tip, and no business in any field.
    expect((await call('GET', `/v1/operations/${operationId}`, { token: tokens.bertil })).status).toBe(403);
    for (const who of ['cecilia', 'erik']) {
      const response = await call('GET', `/v1/operations/${operationId}`, { token: tokens[who] });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(JSON.parse(text)).not.toHaveProperty('tip');
      for (const secret of [tip.entity.name, tip.entity.address, '5567037485', '556703-7485', tip.description]) expect(text, who).not.toContain(secret);
    }
    expect(await annasReads()).toHaveLength(1);
  });

  it('shows the reference of a source that is not protected', async () => {
    const tip = sampleTip({ source: { kind: 'municipal_inspector', protected: false, reference: 'INSPEKTION-2026-118' } });
    const { operationId } = (await (await call('POST', '/v1/operations', { token: tokens.anna, body: tip })).json()) as { operationId: string };
    const view = (await (await call('GET', `/v1/operations/${operationId}`, { token: tokens.anna })).json()) as { tip: { source: unknown } };
    expect(view.tip.source).toEqual({ kind: 'municipal_inspector', protected: false, reference: 'INSPEKTION-2026-118' });
  });

  it('narrows a coordinator’s list to their municipality and refuses another one', async () => {
    const listed = (await (await call('GET', '/v1/operations?limit=5', { token: tokens.bertil })).json()) as { query: string };
    expect(listed.query).toContain("LosMunicipality = 'Malmö'");
    expect((await call('GET', '/v1/operations?municipality=Ume%C3%A5', { token: tokens.bertil })).status).toBe(403);
  });

  it('serves the OpenAPI document, equal to the committed openapi.json', async () => {
    const served = await (await call('GET', '/v1/openapi.json')).json();
    expect(served).toEqual(JSON.parse(readFileSync(join(PROJECT_ROOT, OPENAPI_FILE), 'utf8')));
  });
});

describe('a browser session', () => {
  it('signs in by the code flow, keeps the session in an HttpOnly Secure SameSite cookie, and wants the CSRF token to change anything', async () => {
    const jar = new CookieJar();
    const { page } = await passwordLogin(`${api}/auth/login?returnTo=/auth/session`, 'anna', PASSWORD, { jar, stopAt: `${api}/auth/callback` });
    expect(page.status).toBe(0);
    // The browser's cookies at the callback, the sign-in's own (los_login) among them.
    const cookiesAtCallback = jar.header(page.url);
    expect(cookiesAtCallback).toContain('los_login=');
    const callback = await fetch(page.url, { redirect: 'manual', headers: { cookie: cookiesAtCallback } });
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/auth/session');
    const setCookie = callback.headers.getSetCookie().find((line) => line.startsWith('los_session='));
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    jar.store(page.url, callback);

    // The same callback again, even with the same cookies, finds no sign-in under way: the state is used once.
    const replayed = await fetch(page.url, { redirect: 'manual', headers: { cookie: cookiesAtCallback } });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { detail: string }).detail).toContain('already used');
    // And without the cookie of the browser that started it, a callback is refused before its state is looked at.
    const elsewhere = await fetch(page.url, { redirect: 'manual' });
    expect(elsewhere.status).toBe(401);
    expect(((await elsewhere.json()) as { detail: string }).detail).toContain('not started in this browser');

    const withCookies = (extra: Record<string, string> = {}) => ({ cookie: jar.header(new URL(api)), ...extra });
    const session = await fetch(`${api}/auth/session`, { headers: withCookies() });
    jar.store(new URL(api), session);
    const { person, csrfToken } = (await session.json()) as { person: { name: string; role: string }; csrfToken: string };
    expect(person).toMatchObject({ name: 'Anna Lindqvist', role: 'coordinator' });
    expect(csrfToken).toBeTruthy();

    const tip = sampleTip();
    const withoutToken = await call('POST', '/v1/operations', { body: tip, headers: withCookies() });
    expect(withoutToken.status).toBe(403);
    expect(((await withoutToken.json()) as { type: string }).type).toBe('urn:los:problem:csrf-token');

    const withToken = await call('POST', '/v1/operations', { body: tip, headers: withCookies({ 'x-csrf-token': csrfToken }) });
    expect(withToken.status).toBe(201);

    expect((await fetch(`${api}/auth/logout`, { method: 'POST', headers: withCookies({ 'x-csrf-token': csrfToken }) })).status).toBe(204);
    expect((await call('GET', '/v1/operations', { headers: withCookies() })).status).toBe(401);
  });
});
