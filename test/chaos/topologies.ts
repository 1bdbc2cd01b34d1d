import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { SimulatedAgencyOptions } from '../../agencies/index.js';
import { AGENCY_IDS, type AgencyId } from '../../domain/index.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CLUSTER_TEMPORAL_CLIENTS, removeCluster, startCluster, type Cluster, type EngineProcess } from '../../scripts/cluster.js';
import { freePort, startNatsServer, startTemporalDevServer, type NatsServer, type TemporalDevServer } from '../../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../../scripts/temporal-cli.js';
import { currentWorkflowBundle, startBridge, startDeadLetterWatcher, type Bridge, type DeadLetterWatcher } from '../../workers/index.js';
import { ensureTopology } from '../../messaging/index.js';
import { clientDataConverter, generateMasterKey, openKeyStore, readMasterKeyring, type KeyStore } from '../../vault/index.js';

/**
 * Where the chaos suite runs (LOS_CHAOS_TOPOLOGY): `dev`, the embedded stack (dev server on SQLite, one
 * nats-server, one worker process, the bridge in the test), or `cluster`, the production topology of
 * scripts/cluster.ts (Temporal server on PostgreSQL, three NATS nodes, two workers and two bridges).
 */
export interface ChaosTopology {
  client: Client;
  keys: KeyStore;
  agencyConnection(agency: AgencyId): Pick<SimulatedAgencyOptions, 'servers' | 'credentials' | 'tls'>;
  /** Each kind of fault, run `times` times at random moments; the kinds run at once, so faults overlap. */
  faults: { times: number; run(): Promise<void> }[];
  /** What was done, printed afterwards; `expected` is what the run must have done. */
  counts: Record<string, number>;
  expected: Record<string, number>;
  /** Engine processes that exited by themselves; each was started again, as a supervisor would. */
  unplannedExits: string[];
  stop(): Promise<void>;
}

export interface ChaosSizes {
  workerKills: number;
  bridgeKills: number;
  natsRestarts: number;
  temporalRestarts: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const randomBetween = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** The embedded stack: the worker is a child process, SIGKILLed and restarted; the servers are restarted whole. */
export async function devTopology(scratch: string, taskQueue: string, sizes: ChaosSizes): Promise<ChaosTopology> {
  // The worker processes below load the prebuilt workflow bundle (the cluster topology builds it in startCluster).
  await currentWorkflowBundle();
  const temporalPort = await freePort();
  const natsPort = await freePort();
  const startTemporal = () =>
    startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), port: temporalPort, headless: true, logFile: join(scratch, 'temporal.log') });
  const startNats = () => startNatsServer({ storeDir: join(scratch, 'nats'), port: natsPort, logFile: join(scratch, 'nats.log') });
  let temporal: TemporalDevServer = await startTemporal();
  let nats: NatsServer = await startNats();
  const nc: NatsConnection = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  await ensureTopology(await jetstreamManager(nc), { agencies: AGENCY_IDS, ackWaitMs: 5_000 });
  const connection = await Connection.connect({ address: temporal.address });
  // The worker processes, the bridge and the client share the master key.
  const masterKey = generateMasterKey();
  const keyStore = await openKeyStore({ servers: nats.url, keyring: readMasterKeyring({ LOS_MASTER_KEY: masterKey }) });
  const client = new Client({ connection, dataConverter: clientDataConverter(keyStore.keys) });
  const bridge: Bridge = await startBridge({ nc, client, keys: keyStore.keys, retryDelayMs: 500, applyTimeoutMs: 5_000 });
  const watcher: DeadLetterWatcher = await startDeadLetterWatcher({ nc });
  const counts = { workerKills: 0, natsRestarts: 0, temporalRestarts: 0, workerStarts: 0 };
  const unplannedExits: string[] = [];

  // Like the compose file's `restart: unless-stopped`: a worker that exits by itself is started again, and
  // counted, because the engine's processes are meant to wait out a server restart, not die of it.
  let worker: ChildProcess | undefined;
  let plannedKill = false;
  let stopping = false;
  const startWorker = () => {
    counts.workerStarts += 1;
    const number = counts.workerStarts;
    const logFile = join(scratch, `worker-${number}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts', 'worker'], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TEMPORAL_ADDRESS: temporal.address,
        NATS_URL: nats.url,
        LOS_MASTER_KEY: masterKey,
        TEMPORAL_TASK_QUEUE: taskQueue,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    child.once('exit', (code, signal) => {
      // A replaced worker, or the current one killed on purpose, is not an unplanned exit.
      if (worker !== child || plannedKill) return;
      unplannedExits.push(`worker ${number} exited (${signal ?? code}): ${readFileSync(logFile, 'utf8').slice(-1_500)}`);
      setTimeout(() => {
        if (!stopping && worker === child) startWorker();
      }, 1_000);
    });
    plannedKill = false;
    worker = child;
  };
  const killWorker = () => {
    plannedKill = true;
    worker?.kill('SIGKILL');
  };
  startWorker();

  return {
    client,
    keys: keyStore.keys,
    agencyConnection: () => ({ servers: nats.url }),
    faults: [
      {
        times: sizes.workerKills,
        async run() {
          killWorker();
          counts.workerKills += 1;
          await sleep(randomBetween(500, 2_000));
          startWorker();
        },
      },
      {
        times: sizes.natsRestarts,
        async run() {
          await nats.stop();
          await sleep(randomBetween(300, 1_500));
          nats = await startNats();
          counts.natsRestarts += 1;
        },
      },
      {
        times: sizes.temporalRestarts,
        async run() {
          await temporal.stop();
          await sleep(randomBetween(300, 1_500));
          temporal = await startTemporal();
          counts.temporalRestarts += 1;
        },
      },
    ],
    counts,
    expected: { workerKills: sizes.workerKills, natsRestarts: sizes.natsRestarts, temporalRestarts: sizes.temporalRestarts },
    unplannedExits,
    async stop() {
      stopping = true;
      killWorker();
      await bridge.stop();
      await keyStore.close().catch(() => undefined);
      await watcher.stop();
      await nc.close();
      await connection.close();
      await nats.stop();
      await temporal.stop();
    },
  };
}

/**
 * The production topology: a random worker and a random bridge are SIGKILLed and left down for a while (the
 * others carry on), then started again; a random NATS node is SIGKILLed and restarted; the Temporal server is
 * stopped and started again on its PostgreSQL databases, which are dropped at the end.
 */
export async function clusterTopology(scratch: string, taskQueue: string, sizes: ChaosSizes): Promise<ChaosTopology> {
  const prefix = `los_chaos_${randomBytes(4).toString('hex')}`;
  const dataDir = join(scratch, 'cluster');
  let cluster: Cluster;
  try {
    // The engine's Temporal tokens live half a minute: each process renews its token several times during the run,
    // across its own kills and the Temporal server's restart.
    const realmFile = realmWithShortEngineTokens(scratch, 30);
    cluster = await startCluster({ prefix, dataDir, taskQueue, realmFile, engineEnv: { LOG_LEVEL: 'warn' }, log: () => undefined });
  } catch (err) {
    await removeCluster(prefix, dataDir).catch(() => undefined);
    throw err;
  }
  const { client, keys, close } = await cluster.connectClient('los-chaos-keys');
  const counts = { workerKills: 0, bridgeKills: 0, natsNodeKills: 0, temporalRestarts: 0 };
  const unplannedExits: string[] = [];
  const planned = new Set<EngineProcess>();
  let stopping = false;
  const supervise = (engineProcess: EngineProcess) => {
    engineProcess.child?.once('exit', (code, signal) => {
      if (stopping || planned.has(engineProcess)) return;
      unplannedExits.push(
        `${engineProcess.role} ${engineProcess.number} exited (${signal ?? code}): ${readFileSync(engineProcess.logFile, 'utf8').slice(-1_500)}`,
      );
      setTimeout(() => {
        if (stopping) return;
        engineProcess.start();
        supervise(engineProcess);
      }, 1_000);
    });
  };
  for (const engineProcess of cluster.engine) supervise(engineProcess);
  const killOneOf = async (role: 'worker' | 'bridge') => {
    const victim = pick(cluster.engine.filter((p) => p.role === role && p.running()));
    planned.add(victim);
    await victim.kill();
    // Long enough for work to move to the survivors (the bridge group's pin moves after twice the ack wait).
    await sleep(randomBetween(3_000, 10_000));
    planned.delete(victim);
    victim.start();
    supervise(victim);
  };

  return {
    client,
    keys,
    agencyConnection: (agency) => ({
      servers: cluster.nats.urls,
      credentials: { nkeySeed: cluster.seeds.agencies[agency]! },
      tls: { caFile: cluster.natsCaFile },
    }),
    faults: [
      {
        times: sizes.workerKills,
        async run() {
          await killOneOf('worker');
          counts.workerKills += 1;
        },
      },
      {
        times: sizes.bridgeKills,
        async run() {
          await killOneOf('bridge');
          counts.bridgeKills += 1;
        },
      },
      {
        times: sizes.natsRestarts,
        async run() {
          const node = Math.floor(Math.random() * cluster.nats.nodes.length);
          await cluster.nats.kill(node);
          await sleep(randomBetween(1_000, 5_000));
          await cluster.nats.start(node);
          counts.natsNodeKills += 1;
        },
      },
      {
        times: sizes.temporalRestarts,
        async run() {
          await cluster.restartTemporal(randomBetween(300, 1_500));
          counts.temporalRestarts += 1;
        },
      },
    ],
    counts,
    expected: { workerKills: sizes.workerKills, bridgeKills: sizes.bridgeKills, natsNodeKills: sizes.natsRestarts, temporalRestarts: sizes.temporalRestarts },
    unplannedExits,
    async stop() {
      stopping = true;
      await close();
      await cluster.stop();
      await removeCluster(prefix, dataDir);
    },
  };
}

/** The demo realm (idp/realm.yaml) in `dir`, with the tokens of the engine's Temporal clients living `seconds`; its file. */
export function realmWithShortEngineTokens(dir: string, seconds: number): string {
  const realm = parseYaml(readFileSync(join(PROJECT_ROOT, 'idp', 'realm.yaml'), 'utf8')) as { clients: { client_id: string; access_token_ttl?: number }[] };
  const engineClients = new Set<string>([
    CLUSTER_TEMPORAL_CLIENTS.worker.clientId,
    CLUSTER_TEMPORAL_CLIENTS.bridge.clientId,
    CLUSTER_TEMPORAL_CLIENTS.api.clientId,
  ]);
  for (const client of realm.clients) if (engineClients.has(client.client_id)) client.access_token_ttl = seconds;
  const file = join(dir, 'realm.yaml');
  writeFileSync(file, stringifyYaml(realm));
  return file;
}
