import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { temporal } from '@temporalio/proto';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { findTemporalCli } from '../scripts/temporal-cli.js';
import { createDevIssuer, tokenVerifier, type DevIssuer, AuditLog, generateMasterKey, KeyStore, readMasterKeyring } from '../vault/index.js';
import { startCodecServer, type CodecServer } from '../workers/codecServer.js';
import { sampleTip, startTestEngine, type TestEngine, untilState } from './engine.js';

/**
 * The codec server decodes only for those entitled: coordinators of the operation's municipality. The
 * steering group gets the record with its sealed fields left sealed; operators and other municipalities'
 * coordinators are refused (403). Every attempt is in the access log.
 */
const UI_ORIGIN = 'http://127.0.0.1:8233';
const NAME = 'MARK-CODEC-NAME AB';
let engine: TestEngine;
let server: CodecServer;
let issuer: DevIssuer;
let audit: AuditLog;
let closeStore: () => Promise<void>;
let operationId: string;
let started: { metadata: Record<string, string>; data: string }[];

beforeAll(async () => {
  const keyring = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });
  engine = await startTestEngine('codec-server', { keyring, auth: true });
  // The codec server is its own process in production: its own key-store connection and the same master key.
  const nc = await engine.connectAs('worker');
  const store = await KeyStore.open({ nc, keyring });
  closeStore = async () => undefined;
  audit = await AuditLog.open(nc);
  issuer = await createDevIssuer();
  server = await startCodecServer({ keys: store, audit, verifier: await tokenVerifier(issuer.publicJwk), uiOrigin: UI_ORIGIN });

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
});
afterAll(async () => {
  await server?.close();
  await closeStore?.();
  await engine?.stop();
});

const decode = (token: string | undefined, payloads = started, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ payloads }),
  });

const text = async (res: Response) => {
  const body = (await res.json()) as { payloads: { data: string }[] };
  return body.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
};

describe('codec server', () => {
  it('decodes the tip for a coordinator of its municipality, and logs it', async () => {
    const res = await decode(await issuer.mint({ sub: 'anna.coordinator@umea', role: 'coordinator', municipality: 'Umeå' }));
    expect(res.status).toBe(200);
    expect(await text(res)).toContain(NAME);
    const log = await audit.forOperation(operationId);
    expect(log.at(-1)).toMatchObject({ who: 'anna.coordinator@umea', role: 'coordinator', operationId, action: 'decode', allowed: true, detail: 'plaintext' });
    expect(log.at(-1)!.payloads).toHaveLength(started.length);
  });

  it('reads the start input the history holds compressed, smaller than its decoded size (sealed fields do not compress)', async () => {
    expect(Buffer.from(started[0]!.metadata.compression!, 'base64').toString()).toBe('deflate-raw');
    const res = await decode(await issuer.mint({ sub: 'anna.coordinator@umea', role: 'coordinator', municipality: 'Umeå' }));
    const decoded = ((await res.json()) as { payloads: { data: string }[] }).payloads[0]!.data;
    expect(Buffer.from(started[0]!.data, 'base64').length).toBeLessThan(Buffer.from(decoded, 'base64').length * 0.8);
  });

  it('refuses an operator and a coordinator of another municipality (403), and both refusals are in the log', async () => {
    const operator = await decode(await issuer.mint({ sub: 'olle.operator', role: 'operator' }));
    expect(operator.status).toBe(403);
    expect(((await operator.json()) as { message: string }).message).toMatch(/operators may not decode/);
    const other = await decode(await issuer.mint({ sub: 'lena.coordinator@lulea', role: 'coordinator', municipality: 'Luleå' }));
    expect(other.status).toBe(403);
    expect(JSON.stringify(await other.json())).not.toContain(NAME);
    const refused = (await audit.forOperation(operationId)).filter((r) => !r.allowed);
    expect(refused.map((r) => [r.who, r.role])).toEqual(
      expect.arrayContaining([
        ['olle.operator', 'operator'],
        ['lena.coordinator@lulea', 'coordinator'],
      ]),
    );
  });

  it('gives the steering group the record with personal fields still sealed', async () => {
    const res = await decode(await issuer.mint({ sub: 'styrgruppen', role: 'steering_group' }));
    expect(res.status).toBe(200);
    const body = await text(res);
    expect(body).toContain('"municipality":"Umeå"');
    expect(body).toContain('"sealed":"los.v1"');
    expect(body).not.toContain(NAME);
  });

  it('refuses a request without a valid token (401) and logs the attempt', async () => {
    expect((await decode(undefined)).status).toBe(401);
    const [header, claims, signature] = (await issuer.mint({ sub: 'x', role: 'coordinator', municipality: 'Umeå' })).split('.') as [string, string, string];
    const forged = [header, claims, `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`].join('.');
    expect((await decode(forged)).status).toBe(401);
  });

  it("answers CORS only for the Temporal UI's origin", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
      });
    const ui = await preflight(UI_ORIGIN);
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const elsewhere = await preflight('http://evil.example');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves the temporal CLI: `temporal workflow show --codec-endpoint` reads the tip only with a coordinator token', async () => {
    const cli = findTemporalCli()!;
    // Not spawnSync: the codec server answering the CLI runs in this very process.
    const show = (token: string) =>
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
          server.url,
          '--codec-auth',
          `Bearer ${token}`,
          '--output',
          'json',
        ],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      ).catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
    // The JSON output carries each (decoded) payload's bytes in base64.
    const payloadText = (out: { stdout: string }) =>
      [...out.stdout.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');
    const allowed = await show(await issuer.mint({ sub: 'anna.coordinator@umea', role: 'coordinator', municipality: 'Umeå' }));
    expect(payloadText(allowed)).toContain(NAME);
    const refusalsBefore = (await audit.forOperation(operationId)).filter((r) => r.who === 'cli.operator' && !r.allowed).length;
    const refused = await show(await issuer.mint({ sub: 'cli.operator', role: 'operator' }));
    // The CLI gives up on the refused payloads; the refusal is on the record.
    expect((await audit.forOperation(operationId)).filter((r) => r.who === 'cli.operator' && !r.allowed).length).toBeGreaterThan(refusalsBefore);
    expect(payloadText(refused) + refused.stderr).not.toContain(NAME);
  });
});
