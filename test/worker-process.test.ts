import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { SimulatedAgency } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { SUBJECTS, Tip, candidateAgencies, type AgencyId, type PlainTip } from '../domain/index.js';
import { freePort, startNatsServer, startTemporalDevServer } from '../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { assessUpdate, stateQuery } from '../workflows/definitions.js';
import { eventually, untilKeysLearned, receivedFor, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { generateMasterKey, readMasterKeyring } from '../vault/index.js';

/** The worker as operators run it: a separate process, configured by the environment, stopped by SIGTERM. */
let engine: TestEngine;
let agencies: Map<AgencyId, SimulatedAgency>;
const TASK_QUEUE = 'los-test-process-worker';

beforeAll(async () => {
  engine = await startTestEngine('process', { keyring: readMasterKeyring({ LOS_MASTER_KEY: MASTER_KEY }) });
  agencies = await engine.startAgencies();
});
/** Every engine process this file started. */
const children = new Set<ChildProcess>();
afterAll(async () => {
  // A test that failed before it stopped its process leaves it running: it would poll on into the next files.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await engine?.stop();
});

interface RunningWorker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorkerProcess(env: Record<string, string>, role: 'worker' | 'bridge' = 'worker'): RunningWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts', role], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, output: () => output, exited };
}

/** The worker processes and this file's engine share the master key, as a deployment's processes do. */
const MASTER_KEY = generateMasterKey();

const baseEnv = () => ({
  LOS_MASTER_KEY: MASTER_KEY,
  TEMPORAL_ADDRESS: inject('temporalAddress'),
  NATS_URL: engine.nats.url,
  TEMPORAL_TASK_QUEUE: TASK_QUEUE,
  SHUTDOWN_GRACE_SECONDS: '10',
});

describe('worker process', () => {
  it('refuses to start on a bad variable, naming it in one line, without a stack trace', async () => {
    const worker = startWorkerProcess({ ...baseEnv(), NATS_URL: 'localhost:4222', METRICS_BIND_ADDRESS: 'everywhere' });
    expect(await worker.exited).toBe(1);
    expect(worker.output().trim()).toBe(
      'configuration rejected: NATS_URL: must be a nats:// or tls:// URL, or several separated by commas; METRICS_BIND_ADDRESS: must be host:port, e.g. 0.0.0.0:9464',
    );
  });

  it('refuses a Temporal token client without the provider to ask or without its secret, naming what is missing', async () => {
    const noIssuer = startWorkerProcess({
      ...baseEnv(),
      LOS_TEMPORAL_TOKEN_CLIENT_ID: 'los-worker',
      LOS_TEMPORAL_TOKEN_CLIENT_SECRET: 'demo-secret-los-worker',
    });
    expect(await noIssuer.exited).toBe(1);
    expect(noIssuer.output().trim()).toBe(
      'configuration rejected: LOS_TEMPORAL_TOKEN_CLIENT_ID: given, but LOS_OIDC_ISSUER (the provider to ask for tokens) is not',
    );
    const noSecret = startWorkerProcess({ ...baseEnv(), LOS_TEMPORAL_TOKEN_CLIENT_ID: 'los-worker', LOS_OIDC_ISSUER: 'http://127.0.0.1:4400' });
    expect(await noSecret.exited).toBe(1);
    expect(noSecret.output().trim()).toMatch(/^configuration rejected: LOS_TEMPORAL_TOKEN_CLIENT_ID: given, but neither LOS_TEMPORAL_TOKEN_CLIENT_SECRET nor/);
  });

  it('stops with exit code 2, naming the namespace, when the Temporal namespace does not exist: waiting cannot fix that', async () => {
    const worker = startWorkerProcess({ ...baseEnv(), TEMPORAL_NAMESPACE: 'no-such-namespace' });
    expect(await worker.exited).toBe(2);
    expect(worker.output()).toMatch(/^los worker failed: Namespace no-such-namespace was not found/m);
    // The person reads one sentence; the stack trace is in the log (a JSON line), not on a line of its own.
    expect(worker.output()).not.toMatch(/^\s+at /m);
    const fatal = worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { type: string; message: string; stack: string } })
      .find((entry) => entry.msg === 'worker failed');
    // The SDK's native error has an empty stack; the log has its type and message, and whatever stack an error has.
    expect(fatal).toMatchObject({ level: 60, err: { type: 'TransportError', message: expect.stringMatching(/^Namespace no-such-namespace was not found/) } });
    expect(fatal?.err).toHaveProperty('stack');
  });

  it('serves Prometheus metrics, drains on SIGTERM without losing an activity, and logs no personal data', async () => {
    const metricsPort = await freePort();
    const first = startWorkerProcess({ ...baseEnv(), METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}` });
    await eventually(
      async () => first.output(),
      (out) => out.includes('"worker started"'),
      60_000,
    );

    const tipInput = sampleTip();
    const { handle, operationId } = await engine.register(tipInput, { taskQueue: TASK_QUEUE, config: { mandateDeadline: '30s' } });
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
      20_000,
    );

    const metrics = await eventually(
      async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
      (text) => text.includes(`task_queue="${TASK_QUEUE}"`),
    );
    expect(metrics).toMatch(/^temporal_\w+/m);

    // Decisions wait for the operation to learn the engine's keys (from the key store, on NATS): learned first.
    await untilKeysLearned(handle);
    // Signed while the key store is reachable: the API's signing key lives there, on NATS.
    const proceed = await engine.sign(handle, assessUpdate, { decision: 'proceed' as const });
    // With NATS down, the mandate requests cannot be delivered: the worker is stopped while they are owed.
    const resumeNats = await engine.pauseNats();
    try {
      await handle.executeUpdate(assessUpdate, { args: [proceed] });
      const owed = await eventually(
        async () => (await handle.describe()).raw.pendingActivities ?? [],
        (activities) => activities.length > 0,
      );
      expect(owed.length).toBeGreaterThan(0);
      first.child.kill('SIGTERM');
    } finally {
      await resumeNats();
    }
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"worker stopped"');

    const second = startWorkerProcess(baseEnv());
    const state = await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'joint_action',
      60_000,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // Every candidate got its mandate request exactly once, across the two workers.
    const tip = Tip.parse(tipInput) as PlainTip;
    const candidates = candidateAgencies(tip.categories, loadCatalogueFile());
    const received = receivedFor(agencies, operationId);
    for (const agency of candidates) expect(received[agency], agency).toEqual(['mandate_requested']);
    // …and every answer reached the operation: none is left requested or counted as silent.
    expect(state.agencies.map((a) => a.mandate).filter((m) => m !== 'accepted' && m !== 'declined')).toEqual([]);

    // Logs are JSON lines and carry no personal data from the tip.
    const lines = (first.output() + second.output()).split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    for (const secret of [tip.entity.orgNumber, tipInput.entity.orgNumber, tip.entity.name, tip.entity.address, tip.description, tip.source.reference!]) {
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
    }
  });

  it('waits for a nats-server and a Temporal server that are not up yet, instead of exiting', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'los-late-servers-'));
    const [natsPort, temporalPort] = [await freePort(), await freePort()];
    const worker = startWorkerProcess({ ...baseEnv(), NATS_URL: `nats://127.0.0.1:${natsPort}`, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` });
    const servers: { stop(): Promise<void> }[] = [];
    try {
      await new Promise((resolveLater) => setTimeout(resolveLater, 2_000));
      expect(worker.child.exitCode).toBeNull();
      servers.push(await startNatsServer({ storeDir: join(scratch, 'nats'), port: natsPort }));
      const waiting = await eventually(
        async () => worker.output(),
        (out) => out.includes('"what":"Temporal"'),
        30_000,
      );
      expect(waiting).toContain('not ready yet');
      expect(waiting).not.toContain('"worker started"');
      servers.push(await startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), port: temporalPort, headless: true }));
      await eventually(
        async () => worker.output(),
        (out) => out.includes('"worker started"'),
        60_000,
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    } finally {
      worker.child.kill('SIGKILL');
      for (const server of servers.reverse()) await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('SIGTERM ends the worker and the bridge within the grace period while nats-server is away', async () => {
    const env = { ...baseEnv(), SHUTDOWN_GRACE_SECONDS: '3' };
    const healthPort = await freePort();
    const worker = startWorkerProcess(env);
    const bridge = startWorkerProcess({ ...env, HEALTH_BIND_ADDRESS: `127.0.0.1:${healthPort}` }, 'bridge');
    const status = async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.status ?? 0;
    try {
      await eventually(
        async () => worker.output() + bridge.output(),
        (out) => out.includes('"worker started"') && out.includes('"bridge started"'),
        60_000,
      );
      const resumeNats = await engine.pauseNats();
      try {
        await eventually(status, (code) => code === 503, 20_000);
        worker.child.kill('SIGTERM');
        bridge.child.kill('SIGTERM');
        // Exit codes: 0 when the drain finished, 1 when the grace period ran out first; either way, the process is gone.
        expect([0, 1]).toContain(await worker.exited);
        expect([0, 1]).toContain(await bridge.exited);
      } finally {
        await resumeNats();
      }
    } finally {
      worker.child.kill('SIGKILL');
      bridge.child.kill('SIGKILL');
    }
  });

  it('SIGTERM ends a process still waiting for its servers at once', async () => {
    const worker = startWorkerProcess({ ...baseEnv(), NATS_URL: `nats://127.0.0.1:${await freePort()}` });
    try {
      await eventually(
        async () => worker.output(),
        (out) => out.includes('"worker starting"'),
        30_000,
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('the bridge reports a backlog that keeps growing as unhealthy, with its size', async () => {
    const healthPort = await freePort();
    const bridge = startWorkerProcess({ ...baseEnv(), HEALTH_BIND_ADDRESS: `127.0.0.1:${healthPort}`, HEALTH_BACKLOG_WINDOW_SECONDS: '3' }, 'bridge');
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined);
      return res
        ? { status: res.status, body: (await res.json()) as { backlog: number | null; backlogGrowing: boolean } }
        : { status: 0, body: { backlog: null, backlogGrowing: false } };
    };
    // An operation no worker runs: every answer to it waits in its lane, and the backlog only grows.
    const operationId = `los-umea-stuck-${process.pid}`;
    await engine.client.workflow.start('losOperation', { taskQueue: 'los-test-nobody-polls', workflowId: operationId, args: [{}] });
    const js = jetstream(engine.nc);
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const id = `stuck-${i}`;
        const h = natsHeaders();
        h.set('Content-Type', 'application/cloudevents+json');
        const body = {
          specversion: '1.0',
          id,
          source: '/los/agency/polisen',
          type: 'se.los.mandate.declined.v1',
          subject: operationId,
          time: new Date().toISOString(),
          data: { correlation: { operationId, requestId: 'mandate-1-polisen' }, reason: 'Not ours.' },
        };
        // A publish that times out on a loaded machine is only one answer fewer; the backlog still grows.
        await js
          .publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), new TextEncoder().encode(JSON.stringify(body)), { headers: h, msgID: id })
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await eventually(
        async () => (await health()).status,
        (code) => code === 200,
        60_000,
      );
      const unhealthy = await eventually(health, (h) => h.status === 503, 60_000);
      expect(unhealthy.body.backlogGrowing).toBe(true);
      expect(unhealthy.body.backlog).toBeGreaterThan(0);
    } finally {
      sending = false;
      await sender;
      await engine.client.workflow
        .getHandle(operationId)
        .terminate('test done')
        .catch(() => undefined);
      bridge.child.kill('SIGTERM');
      await bridge.exited;
    }
  }, 150_000);

  it('the bridge reports itself unhealthy while nats-server is away, and healthy again once it is back', async () => {
    const healthPort = await freePort();
    const bridge = startWorkerProcess({ ...baseEnv(), HEALTH_BIND_ADDRESS: `127.0.0.1:${healthPort}` }, 'bridge');
    const status = async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.status ?? 0;
    try {
      await eventually(status, (code) => code === 200, 60_000);
      const resumeNats = await engine.pauseNats();
      try {
        await eventually(status, (code) => code === 503, 20_000);
      } finally {
        await resumeNats();
      }
      await eventually(status, (code) => code === 200, 30_000);
      bridge.child.kill('SIGTERM');
      expect(await bridge.exited).toBe(0);
    } finally {
      bridge.child.kill('SIGKILL');
    }
  });
});
