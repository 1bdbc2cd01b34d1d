import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AGENCY_IDS, SUBJECTS } from '../domain/index.js';
import { freePort, startNatsServer, stopProcess, startTemporalDevServer, type NatsServer, type TemporalDevServer } from '../scripts/dev-stack.js';
import { startIdentityProvider, type IdentityProvider } from '../scripts/identity-provider.js';
import { PROJECT_ROOT, findTemporalCli } from '../scripts/temporal-cli.js';
import { currentWorkflowBundle, engineNodeOptions } from '../workers/index.js';
import { ensureTopology } from '../messaging/index.js';
import { clientDataConverter, generateMasterKey, openKeyStore, readMasterKeyring, type KeyStore } from '../vault/index.js';
import { sleep } from './stats.js';

/**
 * The servers and engine processes under test. Temporal and NATS are started here unless TEMPORAL_ADDRESS
 * and NATS_URL name running ones. The LOS worker and the bridge always run as child processes
 * (`workers/main.ts`), as in production, so the worker's memory is its own and can be read from /proc.
 */

export interface EngineProcess {
  role: 'worker' | 'bridge' | 'api';
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

export interface BenchStack {
  temporalAddress: string;
  natsUrl: string;
  /** The dev server's SQLite file, when this run started the server (or TEMPORAL_DB_FILE names it). */
  dbFile?: string;
  temporal?: TemporalDevServer;
  nats?: NatsServer;
  connection: Connection;
  client: Client;
  nc: NatsConnection;
  /** The run's master key (generated), shared with the engine processes, and the key store it opens. */
  masterKey: string;
  keys: KeyStore;
  stop(): Promise<void>;
}

export async function startStack(scratch: string, log: (line: string) => void): Promise<BenchStack> {
  // The worker processes load the prebuilt workflow bundle: built here, in the bench's process, if the code changed.
  await currentWorkflowBundle(log);
  const external = { temporal: process.env.TEMPORAL_ADDRESS, nats: process.env.NATS_URL };
  let temporal: TemporalDevServer | undefined;
  let nats: NatsServer | undefined;
  let dbFile = process.env.TEMPORAL_DB_FILE;
  if (!external.temporal) {
    dbFile = join(scratch, 'temporal.db');
    log(`starting the Temporal dev server (SQLite ${dbFile})`);
    temporal = await startTemporalDevServer({ dbFile, headless: true, logFile: join(scratch, 'temporal.log') });
  } else log(`using the Temporal server at ${external.temporal}`);
  try {
    if (!external.nats) {
      log('starting nats-server with JetStream');
      nats = await startNatsServer({ storeDir: join(scratch, 'nats'), logFile: join(scratch, 'nats.log') });
    } else log(`using nats-server at ${external.nats}`);
  } catch (err) {
    await temporal?.stop();
    throw err;
  }
  const temporalAddress = external.temporal ?? temporal!.address;
  const natsUrl = external.nats ?? nats!.url;
  const masterKey = process.env.LOS_MASTER_KEY ?? generateMasterKey();
  const store = await openKeyStore({ servers: natsUrl, keyring: readMasterKeyring({ LOS_MASTER_KEY: masterKey }), name: 'los-bench-keys' });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, dataConverter: clientDataConverter(store.keys) });
  const nc = await connect({ servers: natsUrl, name: 'los-bench' });
  // The agencies' consumers must exist before the simulated agencies connect; the engine processes create the
  // same topology again, idempotently.
  await ensureTopology(await jetstreamManager(nc), { agencies: AGENCY_IDS });
  return {
    temporalAddress,
    natsUrl,
    ...(dbFile ? { dbFile } : {}),
    ...(temporal ? { temporal } : {}),
    ...(nats ? { nats } : {}),
    connection,
    client,
    nc,
    masterKey,
    keys: store.keys,
    async stop() {
      await nc.drain().catch(() => undefined);
      await store.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await nats?.stop();
      await temporal?.stop();
    },
  };
}

/**
 * `node --import tsx workers/main.ts <role>`, configured only through the environment, like a deployment; a
 * variant may name another entry that runs the same process with other options (bench/plaintext-engine.ts).
 */
export function startEngineProcess(
  role: EngineProcess['role'],
  stack: BenchStack,
  taskQueue: string,
  scratch: string,
  variant: { name?: string; entry?: string; env?: Record<string, string> } = {},
): EngineProcess {
  const logFile = join(scratch, `${role}${variant.name ? `-${variant.name}` : ''}.log`);
  const out = openSync(logFile, 'a');
  // e.g. LOS_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the engine's processes (Node refuses those in NODE_OPTIONS).
  const nodeFlags = (process.env.LOS_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const entry = variant.entry ?? join(PROJECT_ROOT, 'workers', 'main.ts');
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', entry, role], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: engineNodeOptions(),
      TEMPORAL_ADDRESS: stack.temporalAddress,
      NATS_URL: stack.natsUrl,
      LOS_MASTER_KEY: stack.masterKey,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // Per-operation info lines would cost the worker CPU the benchmark means to measure.
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_SECONDS: '5',
      // The inbound quota counts answers until the sweep erases them (a minute, or never with LOS_STREAM_ERASE_SECONDS=0),
      // and the bench's agencies answer thousands of operations; its flood phase measures the bridge's fair share with
      // the door open (test/nats-auth.test.ts proves the door). LOS_INBOUND_QUOTA set for the bench is kept.
      ...(process.env.LOS_INBOUND_QUOTA === undefined ? { LOS_INBOUND_QUOTA: '10000000' } : {}),
      ...variant.env,
    },
    stdio: ['ignore', out, out],
  });
  return {
    role,
    child,
    logFile,
    stop: () => stopProcess(child, 15_000),
  };
}

function exitedError(engine: EngineProcess): Error {
  let tail = '';
  try {
    tail = readFileSync(engine.logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    // no log yet
  }
  return new Error(`the ${engine.role} exited with code ${engine.child.exitCode}; see ${engine.logFile}\n${tail}`);
}

/** Ready means polling: the worker has workflow-task pollers on its queue, the bridge a pull request waiting. */
export async function waitUntilReady(worker: EngineProcess, bridge: EngineProcess, stack: BenchStack, taskQueue: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const jsm = await jetstreamManager(stack.nc);
  let workerReady = false;
  let bridgeReady = false;
  while (!(workerReady && bridgeReady)) {
    for (const engine of [worker, bridge]) if (engine.child.exitCode !== null) throw exitedError(engine);
    if (Date.now() > deadline)
      throw new Error(
        `engine not ready after ${timeoutMs / 1000}s (worker ${workerReady}, bridge ${bridgeReady}); see ${worker.logFile} and ${bridge.logFile}`,
      );
    if (!workerReady) {
      const described = await stack.client.workflowService
        .describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */ })
        .catch(() => undefined);
      workerReady = (described?.pollers?.length ?? 0) > 0;
    }
    if (!bridgeReady) {
      const info = await jsm.consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer).catch(() => undefined);
      bridgeReady = (info?.num_waiting ?? 0) > 0;
    }
    if (!(workerReady && bridgeReady)) await sleep(250);
  }
}

export interface Versions {
  node: string;
  temporalCli?: string;
  temporalServer?: string;
  natsServer?: string;
  temporalSdk: string;
  natsJs: string;
  os: string;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function readVersions(stack: Pick<BenchStack, 'client' | 'nc'>): Promise<Versions> {
  let temporalCli: string | undefined;
  try {
    const cli = findTemporalCli();
    if (cli) temporalCli = spawnSync(cli, ['--version'], { encoding: 'utf8' }).stdout.trim();
  } catch {
    // no CLI: the server was given by address
  }
  const system = await stack.client.workflowService.getSystemInfo({}).catch(() => undefined);
  const osRelease = spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout?.trim();
  return {
    node: process.version,
    ...(temporalCli ? { temporalCli } : {}),
    ...(system?.serverVersion ? { temporalServer: system.serverVersion } : {}),
    ...(stack.nc.info?.version ? { natsServer: stack.nc.info.version } : {}),
    temporalSdk: packageVersion('@temporalio/worker'),
    natsJs: packageVersion('nats'),
    os: osRelease || process.platform,
  };
}

/** The demo realm's secrets (idp/realm.yaml): the API's own client, and the machine client the bench signs in as. */
const API_CLIENT_SECRET = 'demo-secret-los-api';
export const CASE_SYSTEM = { clientId: 'los-case-system', clientSecret: 'demo-secret-los-case-system' } as const;

/** The engine's door for people: the identity provider and the API, each its own process. */
export interface ApiDoor {
  idp: IdentityProvider;
  api: EngineProcess;
  /** The API's base URL. */
  url: string;
  /** Its resource indicator, the audience of its tokens. */
  audience: string;
  stop(): Promise<void>;
}

/**
 * Starts the embedded identity provider (scripts/identity-provider.ts) and the API (`workers/main.ts api`, configured
 * through the environment like the worker and the bridge, on the same task queue), and waits until the API answers.
 */
export async function startApiDoor(stack: BenchStack, taskQueue: string, scratch: string, timeoutMs = 120_000): Promise<ApiDoor> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const audience = `${url}/v1`;
  const idp = await startIdentityProvider({ scratchDir: join(scratch, 'idp'), audience, apiUrls: [url] });
  const api = startEngineProcess('api', stack, taskQueue, scratch, {
    env: { LOS_API_PORT: String(port), LOS_OIDC_ISSUER: idp.issuer, LOS_OIDC_CLIENT_SECRET: API_CLIENT_SECRET },
  });
  const door: ApiDoor = {
    idp,
    api,
    url,
    audience,
    async stop() {
      await api.stop();
      await idp.stop();
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (api.child.exitCode !== null) {
      await idp.stop();
      throw exitedError(api);
    }
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return door;
    if (Date.now() > deadline) {
      await door.stop();
      throw new Error(`the API did not answer at ${url}/healthz within ${timeoutMs / 1000}s; see ${api.logFile}`);
    }
    await sleep(250);
  }
}

/** The machine a run measured on, as every bench report gives it. */
export interface MachineFacts {
  cores: number;
  availableParallelism: number;
  cpuModel: string;
  memoryMiB: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}

export function machineFacts(loadAverageAtStart: number[]): MachineFacts {
  return {
    cores: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    loadAverageAtStart,
    loadAverageAtEnd: loadavg(),
  };
}

/**
 * Writes a run's result to bench/results as `<prefix><time>.{json,md}` and `<latest>.{json,md}`; returns the stamped
 * name. Only the `latest` files are kept in the repository (.gitignore).
 */
export function writeResults(prefix: string, latest: string, startedAt: Date, json: unknown, markdown: string): string {
  const outDir = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const stamp = `${prefix}${startedAt.toISOString().replace(/[:.]/g, '-')}`;
  for (const name of [stamp, latest]) {
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(join(outDir, `${name}.md`), markdown);
  }
  return stamp;
}

/** A targeted bench's start: its run id and scratch directory, the stack, and the worker and bridge as child processes. */
export interface BenchRun {
  startedAt: Date;
  /** performance.now() at the start, for the run's wall time. */
  benchStart: number;
  loadAtStart: number[];
  runId: string;
  scratch: string;
  taskQueue: string;
  stack: BenchStack;
  worker: EngineProcess;
  bridge: EngineProcess;
}

/** Stops the run's processes and stack, and removes its scratch directory unless it is to be kept. */
export async function endBenchRun(run: Pick<BenchRun, 'worker' | 'bridge' | 'stack' | 'scratch'>, keep: boolean, log: (line: string) => void): Promise<void> {
  await run.worker.stop();
  await run.bridge.stop();
  await run.stack.stop();
  if (keep) log(`scratch kept: ${run.scratch}`);
  else rmSync(run.scratch, { recursive: true, force: true });
}

export async function startBenchRun(name: string, log: (line: string) => void): Promise<BenchRun> {
  const startedAt = new Date();
  const benchStart = performance.now();
  const loadAtStart = loadavg();
  const runId = startedAt.getTime().toString(36);
  const scratch = mkdtempSync(join(tmpdir(), `los-bench-${name}-`));
  const taskQueue = `los-bench-${runId}`;
  log(`run ${runId}; scratch ${scratch}`);
  const stack = await startStack(scratch, log);
  const worker = startEngineProcess('worker', stack, taskQueue, scratch);
  const bridge = startEngineProcess('bridge', stack, taskQueue, scratch);
  return { startedAt, benchStart, loadAtStart, runId, scratch, taskQueue, stack, worker, bridge };
}

/** The bridge's sweep that overwrites acknowledged messages (LOS_STREAM_ERASE_SECONDS) lands in whichever phase it falls in. */
export function eraserNote(): string {
  const seconds = process.env.LOS_STREAM_ERASE_SECONDS;
  if (seconds === undefined) return ' The bridge overwrites acknowledged messages every 60 s (the default), in whichever phase the sweep falls.';
  return seconds === '0'
    ? " The bridge ran without its sweep that overwrites acknowledged messages (LOS_STREAM_ERASE_SECONDS=0): nats-server's secure erase rewrites the message's whole block file (up to 4 MB) for each message, whose cost would land in whichever phase the sweep falls and swamp what the phases compare (bench/README.md)."
    : ` The bridge overwrote acknowledged messages every ${seconds} s (LOS_STREAM_ERASE_SECONDS).`;
}
