import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECISION_KINDS } from '../domain/index.js';
import { DECISION_PATHS, PROBLEM_CONTENT_TYPE, Problem, buildApi, decisionPathName, personFromClaims, type Api } from '../api/index.js';
import { OPENAPI_FILE, PROJECT_ROOT } from '../scripts/generate-contract.js';

/**
 * What the API says without the engine behind it: its contract (the OpenAPI document, the decision paths), its
 * problem format, the refusals that come before any server is asked, and how a token's claims become a person.
 */

let app: Api;
beforeAll(async () => {
  app = await buildApi({
    publicUrl: 'http://127.0.0.1:4300',
    issuer: 'http://127.0.0.1:4400',
    audience: 'http://127.0.0.1:4300/v1',
    cliClientId: 'los-cli',
    cookieSecret: 'a test secret that is long enough for hmac',
    sessionTtlMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
  await app.ready();
});
afterAll(() => app.close());

describe('the OpenAPI document', () => {
  it('is served at /v1/openapi.json and equals the committed openapi.json', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(JSON.parse(readFileSync(join(PROJECT_ROOT, OPENAPI_FILE), 'utf8')));
  });

  it('has one decision route per row of the decision table, with the row’s body schema', async () => {
    const document = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, { post?: { requestBody?: unknown } }> };
    for (const kind of DECISION_KINDS) {
      const path = `/v1/operations/{id}/decisions/${decisionPathName(kind)}`;
      expect(document.paths[path]?.post?.requestBody, path).toBeDefined();
    }
    expect(Object.keys(DECISION_PATHS).sort()).toEqual(['assess', 'call-off', 'cancel', 'close', 'decide-quorum', 'reinspect', 'reschedule', 'schedule']);
  });

  it('takes the tip’s schema from the domain: orgNumber, categories and receivedAt are required of a tip', async () => {
    const document = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<
        string,
        { post?: { requestBody: { content: Record<string, { schema: { required: string[]; properties: Record<string, { required?: string[] }> } }> } } }
      >;
    };
    const tip = document.paths['/v1/operations']!.post!.requestBody.content['application/json']!.schema;
    expect(tip.required).toEqual(expect.arrayContaining(['entity', 'categories', 'description', 'urgency', 'source', 'receivedAt']));
    expect(tip.properties.entity?.required).toContain('orgNumber');
  });
});

describe('refusals before the engine is asked', () => {
  it('answers a request without token or session with 401, a problem and WWW-Authenticate: Bearer', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/operations', payload: { anything: true } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    const problem = Problem.parse(response.json());
    expect(problem).toMatchObject({ type: 'urn:los:problem:unauthenticated', status: 401, instance: '/v1/operations' });
    expect(problem.detail).toContain('no bearer token');
  });

  it('refuses an Authorization header that is not a bearer token', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/operations', headers: { authorization: 'Basic YW5uYTpodW50ZXIy' } });
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toContain('Bearer');
  });

  it('refuses a session cookie this API did not sign', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/operations/los-umea-x', cookies: { los_session: 'forged.value' } });
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toContain('not one this API signed');
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ type: 'urn:los:problem:not-found', status: 404 });
  });

  it('sends sign-in back only to a path of its own origin', async () => {
    for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const response = await app.inject({ method: 'GET', url: '/auth/login', query: { returnTo } });
      expect(response.statusCode, returnTo).toBe(400);
      expect(response.json().detail).toContain('returnTo');
    }
  });

  it('tells `los login` where to sign in, without a token', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/auth/config' });
    expect(response.json()).toEqual({ issuer: 'http://127.0.0.1:4400', cliClientId: 'los-cli', audience: 'http://127.0.0.1:4300/v1' });
  });

  it('says no one is signed in without a session', async () => {
    expect((await app.inject({ method: 'GET', url: '/auth/session' })).json()).toEqual({ person: null });
  });
});

describe('a token’s claims', () => {
  const claims = { role: 'los_role', municipality: 'los_municipality', name: 'name' };

  it('give the person: subject, name, role and municipality', () => {
    expect(personFromClaims({ sub: 'p-1', name: 'Anna A', los_role: 'coordinator', los_municipality: 'Umeå' }, claims)).toEqual({
      sub: 'p-1',
      name: 'Anna A',
      role: 'coordinator',
      municipality: 'Umeå',
    });
  });

  it('are read under the names a deployment configures', () => {
    expect(personFromClaims({ sub: 'p-2', roles: 'auditor', display: 'David' }, { role: 'roles', municipality: 'kommun', name: 'display' })).toMatchObject({
      role: 'auditor',
      name: 'David',
    });
  });

  it('refuse a role the engine does not know, naming the claim', () => {
    expect(() => personFromClaims({ sub: 'p-3', los_role: 'superuser' }, claims)).toThrow(/claim los_role must be one of coordinator/);
  });

  it('refuse a coordinator without a municipality', () => {
    expect(() => personFromClaims({ sub: 'p-4', los_role: 'coordinator' }, claims)).toThrow(/must name the municipality \(claim los_municipality\)/);
  });
});
