import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency } from '../../agencies/index.js';
import { AGENCY_IDS } from '../../domain/index.js';
import { CLUSTER_TEMPORAL_AUDIENCE, CLUSTER_TEMPORAL_CLIENTS, removeCluster, startCluster, type Cluster, type ClusterClient } from '../../scripts/cluster.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD } from '../../scripts/identity-provider.js';
import { findTemporalCli } from '../../scripts/temporal-cli.js';
import { TEMPORAL_CALL_DENIED, TEMPORAL_TOKEN_REFUSED } from '../../scripts/temporal-refusals.js';
import type { AccessRecord } from '../../vault/index.js';
import { clientCredentialsGrant } from '../../workers/temporalAccess.js';
import { sampleTip } from '../engine.js';
import { losLogin, runLos } from '../los-process.js';
import { codeFlowTokens } from '../oidc.js';
import { realmWithShortEngineTokens, sleep } from './topologies.js';

/**
 * The cluster's Temporal server lets in only whom the identity provider vouches for: no token, no access; an
 * operator's token reads but cannot act; a coordinator's (no Temporal permissions) and a token for the API are
 * refused; the frontend speaks TLS only. The worker, the bridge and the API renew their own tokens, which live
 * seconds here, and keep working across their expiry. The server's refusals reach the security log auditors read.
 */
const ENGINE_TOKEN_SECONDS = 6;
const prefix = `los_authz_${randomBytes(4).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), 'los-cluster-authz-'));
const dataDir = join(scratch, 'cluster');
const PERMISSION_DENIED = /permission ?denied|request unauthorized|unauthori[sz]ed/i;

/** The refusal of a call, the server's own words wherever the SDK wraps them ("Failed to signal Workflow" → its cause). */
async function expectDenied(call: Promise<unknown>): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  expect(err, 'the call succeeded').toBeDefined();
  expect(`${err!.message} ${err!.cause?.message ?? ''}`).toMatch(PERMISSION_DENIED);
}

describe('the cluster’s Temporal server, authorising with the provider’s tokens over TLS', () => {
  let cluster: Cluster;
  let admin: ClusterClient;
  const agencies: SimulatedAgency[] = [];
  const tls = () => ({ serverRootCACertificate: readFileSync(cluster.temporalAccess.tls!.caFile), serverNameOverride: cluster.temporalAccess.tls!.serverName });
  /** A connection with this token (or none), as anyone with the CA could open one. */
  const connectWith = (token?: string) => Connection.connect({ address: cluster.temporalAddress, tls: tls(), ...(token ? { apiKey: token } : {}) });
  /** Whether a list call with this token is refused: at the connection's first call or at the list itself. */
  const listRefused = async (token: string) => {
    let connection: Connection;
    try {
      connection = await connectWith(token);
    } catch (err) {
      return PERMISSION_DENIED.test((err as Error).message) || PERMISSION_DENIED.test(String((err as { cause?: Error }).cause?.message));
    }
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace: cluster.namespace });
      return false;
    } catch (err) {
      return PERMISSION_DENIED.test((err as Error).message);
    } finally {
      await connection.close();
    }
  };
  /** A person's access token for Temporal, through the whole sign-in at the provider. */
  const personToken = async (username: string, audience = CLUSTER_TEMPORAL_AUDIENCE) =>
    (
      await codeFlowTokens(
        cluster.api!.issuer,
        { clientId: 'los-api', clientSecret: DEMO_API_CLIENT_SECRET, redirectUri: `${cluster.api!.url}/auth/callback`, audience, scope: 'openid temporal' },
        username,
        DEMO_PASSWORD,
      )
    ).tokens.access_token;

  beforeAll(async () => {
    try {
      cluster = await startCluster({
        prefix,
        dataDir,
        workers: 1,
        bridges: 1,
        api: {},
        realmFile: realmWithShortEngineTokens(scratch, ENGINE_TOKEN_SECONDS),
        engineEnv: { LOG_LEVEL: 'info' },
        log: () => undefined,
      });
    } catch (err) {
      await removeCluster(prefix, dataDir).catch(() => undefined);
      throw err;
    }
    admin = await cluster.connectClient('los-authz-test');
    // The API process starts on its own: ready once it answers.
    const apiDeadline = Date.now() + 60_000;
    while (
      !(await fetch(`${cluster.api!.url}/v1/openapi.json`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > apiDeadline)
        throw new Error(`the API did not answer: ${readFileSync(cluster.engine.find((p) => p.role === 'api')!.logFile, 'utf8').slice(-2_000)}`);
      await sleep(500);
    }
    for (const agency of AGENCY_IDS)
      agencies.push(
        await startSimulatedAgency(agency, defaultBehaviour(agency), {
          servers: cluster.nats.urls,
          credentials: { nkeySeed: cluster.seeds.agencies[agency]! },
          tls: { caFile: cluster.natsCaFile },
        }),
      );
  });

  afterAll(async () => {
    for (const agency of agencies) await agency.stop().catch(() => undefined);
    await admin?.close();
    await cluster?.stop();
    await removeCluster(prefix, dataDir).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('takes a burst of 150 visibility calls in a second from the API without refusing one (Temporal’s default lets 10 through)', async () => {
    const { accessToken } = await clientCredentialsGrant({ issuer: cluster.api!.issuer, audience: CLUSTER_TEMPORAL_AUDIENCE, ...CLUSTER_TEMPORAL_CLIENTS.api });
    // No retry interceptor: a call the frontend's rate limit refuses (RESOURCE_EXHAUSTED) fails here instead of being
    // waited out, as the SDK does by default with a back-off of about two seconds (the console's slow pages).
    const bare = await Connection.connect({ address: cluster.temporalAddress, tls: tls(), apiKey: accessToken, interceptors: [] });
    try {
      const query = `WorkflowType = 'losOperation' AND ExecutionStatus = 'Running'`;
      const results = await Promise.allSettled(
        Array.from({ length: 150 }, (_, i) =>
          i % 2 === 0
            ? bare.workflowService.countWorkflowExecutions({ namespace: cluster.namespace, query })
            : bare.workflowService.listWorkflowExecutions({ namespace: cluster.namespace, query, pageSize: 10 }),
        ),
      );
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      expect(refused).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('refuses a call without a token, and a plaintext connection', async () => {
    const anonymous = await connectWith();
    try {
      await expect(anonymous.workflowService.listWorkflowExecutions({ namespace: cluster.namespace })).rejects.toThrow(PERMISSION_DENIED);
      await expect(anonymous.workflowService.describeNamespace({ namespace: cluster.namespace })).rejects.toThrow(PERMISSION_DENIED);
    } finally {
      await anonymous.close();
    }
    await expect(
      Connection.connect({ address: cluster.temporalAddress, tls: false, connectTimeout: 3_000 }).then(async (plain) => {
        try {
          return await plain.workflowService.getSystemInfo({});
        } finally {
          await plain.close();
        }
      }),
    ).rejects.toThrow();
  });

  it('lets an operator list and describe, and refuses the operator a signal, an update and a termination', async () => {
    // An operation to look at, started through the API by Umeå's coordinator.
    const anna = await personToken('anna', `${cluster.api!.url}/v1`);
    const registered = await fetch(`${cluster.api!.url}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anna}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleTip({ entity: { ...sampleTip().entity, orgNumber: '556703-7485' } })),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const { operationId } = (await registered.json()) as { operationId: string };

    const operator = await connectWith(await personToken('erik'));
    try {
      const client = new Client({ connection: operator, namespace: cluster.namespace });
      const listed: string[] = [];
      for await (const execution of client.workflow.list({ query: `WorkflowId = '${operationId}'` })) listed.push(execution.workflowId);
      expect(listed).toEqual([operationId]);
      const handle: WorkflowHandle = client.workflow.getHandle(operationId);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect((await handle.fetchHistory()).events?.length).toBeGreaterThan(0);
      await expectDenied(handle.signal('losNoSuchSignal'));
      await expectDenied(handle.executeUpdate('losNoSuchUpdate'));
      await expectDenied(handle.terminate('an operator may not'));
      await expectDenied(handle.cancel());
    } finally {
      await operator.close();
    }
    expect((await admin.client.workflow.getHandle(operationId).describe()).status.name).toBe('RUNNING');
  });

  it('refuses a coordinator’s token (no Temporal permissions), a token for the API, and a machine client’s expired token', async () => {
    expect(await listRefused(await personToken('anna'))).toBe(true);
    expect(await listRefused(await personToken('anna', `${cluster.api!.url}/v1`))).toBe(true);
    const { accessToken, expiresInSeconds } = await clientCredentialsGrant({
      issuer: cluster.api!.issuer,
      audience: CLUSTER_TEMPORAL_AUDIENCE,
      ...CLUSTER_TEMPORAL_CLIENTS.worker,
    });
    expect(expiresInSeconds).toBe(ENGINE_TOKEN_SECONDS);
    expect(await listRefused(accessToken)).toBe(false);
    await sleep((ENGINE_TOKEN_SECONDS + 2) * 1000);
    expect(await listRefused(accessToken)).toBe(true);
  });

  it('keeps the worker, the bridge and the API working across the expiry of their tokens', async () => {
    // Several lifetimes of the engine's tokens pass: every call after this goes with a renewed one.
    await sleep(ENGINE_TOKEN_SECONDS * 3 * 1000);
    const anna = await personToken('anna', `${cluster.api!.url}/v1`);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${cluster.api!.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${anna}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const registered = await call('POST', '/v1/operations', sampleTip({ entity: { ...sampleTip().entity, orgNumber: '556036-0793' } }));
    expect(registered.status, await registered.clone().text()).toBe(201);
    const { operationId } = (await registered.json()) as { operationId: string };
    await sleep(ENGINE_TOKEN_SECONDS * 1000);
    // The worker answers the API's update; the agencies' mandate answers come back through the bridge.
    const assessed = await call('POST', `/v1/operations/${operationId}/decisions/assess`, { decision: 'proceed' });
    expect(assessed.status, await assessed.clone().text()).toBe(200);
    const deadline = Date.now() + 90_000;
    let shown: { state?: { phase?: string } } = {};
    while (Date.now() < deadline) {
      shown = (await (await call('GET', `/v1/operations/${operationId}`)).json()) as typeof shown;
      if (shown.state?.phase === 'joint_action') break;
      await sleep(1_000);
    }
    const logTails = () => cluster.engine.map((p) => `${p.role} ${p.number}: ${readFileSync(p.logFile, 'utf8').slice(-1_500)}`).join('\n');
    expect(shown.state?.phase, `${JSON.stringify(shown)}\n${logTails()}`).toBe('joint_action');
    // Each process with a Temporal client renewed its token several times, and none failed to (the codec server has none).
    for (const engineProcess of cluster.engine.filter((p) => p.role !== 'codec')) {
      const log = readFileSync(engineProcess.logFile, 'utf8');
      expect(log, `${engineProcess.role} ${engineProcess.number}`).not.toMatch(/Temporal token not renewed|PermissionDenied|permission denied/i);
      expect(log.match(/Temporal token renewed/g)?.length ?? 0, `${engineProcess.role} ${engineProcess.number}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('gives a person a token for Temporal through `los login` and `los token --for temporal`: with it and the codec server the Temporal CLI shows, queries and reads the metadata of an operation, and an operator is refused a reset', async () => {
    const apiAudience = `${cluster.api!.url}/v1`;
    const name = 'MARK-CLUSTER-CLI AB';
    const registered = await fetch(`${cluster.api!.url}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await personToken('anna', apiAudience)}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleTip({ entity: { ...sampleTip().entity, name, orgNumber: '556677-8899' } })),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const { operationId } = (await registered.json()) as { operationId: string };

    /** `los login` as `username` in a shell of its own, and the two tokens `los token` prints for that sign-in. */
    const signIn = async (username: string) => {
      const env = { XDG_CONFIG_HOME: mkdtempSync(join(scratch, 'home-')), LOS_API_URL: cluster.api!.url };
      const login = await losLogin(env, username, DEMO_PASSWORD);
      expect(login.code, login.stderr).toBe(0);
      const forTemporal = await runLos(env, ['token', '--for', 'temporal']);
      expect(forTemporal.code, forTemporal.stderr).toBe(0);
      const forApi = await runLos(env, ['token']);
      expect(forApi.code, forApi.stderr).toBe(0);
      return { temporal: forTemporal.stdout.trim(), api: forApi.stdout.trim() };
    };
    const anna = await signIn('anna');
    const erik = await signIn('erik');
    // For Temporal's audience, with the person's Temporal permissions (their role's through `los`) and, for the codec server, their role.
    expect(decodeJwt(anna.temporal)).toMatchObject({
      aud: CLUSTER_TEMPORAL_AUDIENCE,
      permissions: ['default:read'],
      los_role: 'coordinator',
      los_municipality: 'Umeå',
    });
    expect(decodeJwt(erik.temporal)).toMatchObject({ aud: CLUSTER_TEMPORAL_AUDIENCE, permissions: ['default:read'], los_role: 'operator' });
    // The same sign-in still gives the API its own token.
    expect(decodeJwt(anna.api)).toMatchObject({ aud: apiAudience });

    const cli = findTemporalCli()!;
    const { caFile, serverName } = cluster.temporalAccess.tls!;
    /** The Temporal CLI as the README tells a person to run it: the frontend's CA, the token as the API key and at the codec server. */
    const temporal = (token: string, args: string[]) =>
      promisify(execFile)(
        cli,
        [
          ...args,
          '--address',
          cluster.temporalAddress,
          '--namespace',
          cluster.namespace,
          '--tls-ca-path',
          caFile,
          '--tls-server-name',
          serverName,
          '--api-key',
          token,
          '--codec-endpoint',
          cluster.codec!.url,
          '--codec-auth',
          `Bearer ${token}`,
        ],
        // The codec server's certificate is signed by the cluster's own CA: Go's TLS trusts the file SSL_CERT_FILE names.
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SSL_CERT_FILE: cluster.codec!.caFile } },
      ).then(
        (out) => ({ ok: true, out: out.stdout + out.stderr }),
        (err: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}` }),
      );
    const payloadText = (out: string) => [...out.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');

    // Anna, Umeå's coordinator: the tip decoded by the codec server, the operation's state, its queries.
    const shown = await temporal(anna.temporal, ['workflow', 'show', '--workflow-id', operationId, '--output', 'json']);
    expect(shown.ok, shown.out).toBe(true);
    expect(payloadText(shown.out)).toContain(name);
    const state = await temporal(anna.temporal, ['workflow', 'query', '--workflow-id', operationId, '--name', 'state']);
    expect(state.ok, state.out).toBe(true);
    expect(state.out).toContain('assessment');
    const metadata = await temporal(anna.temporal, ['workflow', 'metadata', '--workflow-id', operationId]);
    expect(metadata.ok, metadata.out).toBe(true);
    expect(metadata.out).toContain('Query Definitions');

    // Erik, the operator: he reads the operation's metadata, its state and its history, each payload left as stored
    // (encrypted) by the codec server; he may not reset it.
    const encrypted = Buffer.from('binary/encrypted').toString('base64');
    const erikMetadata = await temporal(erik.temporal, ['workflow', 'metadata', '--workflow-id', operationId]);
    expect(erikMetadata.ok, erikMetadata.out).toBe(true);
    expect(erikMetadata.out).toContain('Query Definitions');
    const erikState = await temporal(erik.temporal, ['workflow', 'query', '--workflow-id', operationId, '--name', 'state']);
    expect(erikState.ok, erikState.out).toBe(true);
    expect(erikState.out).toContain(encrypted);
    const erikShown = await temporal(erik.temporal, ['workflow', 'show', '--workflow-id', operationId, '--output', 'json']);
    expect(erikShown.ok, erikShown.out).toBe(true);
    expect(erikShown.out).toContain('workflowExecutionStartedEventAttributes');
    expect(erikShown.out).toContain(encrypted);
    expect(erikShown.out + payloadText(erikShown.out)).not.toContain(name);
    const runBefore = (await admin.client.workflow.getHandle(operationId).describe()).runId;
    const reset = await temporal(erik.temporal, [
      'workflow',
      'reset',
      '--workflow-id',
      operationId,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'an operator may not',
      '--yes',
    ]);
    expect(reset.ok, reset.out).toBe(false);
    expect(reset.out).toMatch(PERMISSION_DENIED);
    // A token for the API, from the same sign-in, is not one Temporal takes.
    const withApiToken = await temporal(erik.api, ['workflow', 'describe', '--workflow-id', operationId]);
    expect(withApiToken.ok).toBe(false);
    expect(withApiToken.out).toMatch(PERMISSION_DENIED);
    // Not reset: the same run goes on.
    const description = await admin.client.workflow.getHandle(operationId).describe();
    expect({ runId: description.runId, status: description.status.name }).toEqual({ runId: runBefore, status: 'RUNNING' });
  });

  it('puts the server’s refusals on the security log as auditors read it: a forged token with its reason, a call without a token and an operator’s write', async () => {
    // Whatever earlier tests' refusals are still on their way is written now, before the time this test reads from.
    await cluster.temporalRefusals!.poll();
    const before = new Date().toISOString();
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', aud: CLUSTER_TEMPORAL_AUDIENCE, permissions: ['default:admin'] })}.`;
    expect(await listRefused(forged)).toBe(true);
    const anonymous = await connectWith();
    try {
      await expect(anonymous.workflowService.listWorkflowExecutions({ namespace: cluster.namespace })).rejects.toThrow(PERMISSION_DENIED);
    } finally {
      await anonymous.close();
    }
    const operator = await connectWith(await personToken('erik'));
    try {
      await expectDenied(
        new Client({ connection: operator, namespace: cluster.namespace }).workflow.getHandle('los-no-such-operation').signal('losNoSuchSignal'),
      );
    } finally {
      await operator.close();
    }

    // David, the auditor, reads the security log through the API, as the console's access log does.
    const david = await personToken('david', `${cluster.api!.url}/v1`);
    const temporalRefusals = async () => {
      const response = await fetch(`${cluster.api!.url}/v1/access-log?security=true&allowed=false&from=${encodeURIComponent(before)}`, {
        headers: { authorization: `Bearer ${david}` },
      });
      expect(response.status, await response.clone().text()).toBe(200);
      const page = (await response.json()) as { records: AccessRecord[] };
      return { page, records: page.records.filter((r) => r.action === 'temporal') };
    };
    const deadline = Date.now() + 30_000;
    let found = await temporalRefusals();
    const complete = () =>
      found.records.some((r) => r.detail === `${TEMPORAL_TOKEN_REFUSED} (signing method none is invalid)`) &&
      found.records.filter((r) => r.detail === TEMPORAL_CALL_DENIED).length >= 2;
    while (!complete() && Date.now() < deadline) {
      await cluster.temporalRefusals!.poll();
      await sleep(500);
      found = await temporalRefusals();
    }
    expect(complete(), JSON.stringify(found.records, null, 2)).toBe(true);
    for (const record of found.records) expect(record).toMatchObject({ role: 'none', allowed: false, payloads: [] });
    // No token, nor any part of one, on the log.
    const everything = JSON.stringify(found.page);
    expect(everything).not.toContain(forged.split('.')[1]!.slice(0, 20));
    expect(everything).not.toContain(david.split('.')[1]!.slice(0, 20));
  });
});
