import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
import { defaultBehaviour, startSimulatedAgency, type AgencyBehaviour, type SimulatedAgency, type SimulatedAgencyOptions } from '../agencies/index.js';
import { loadCatalogueFile, registerTip, type RegisterOptions } from '../coordinator/index.js';
import { AGENCY_IDS, type AgencyId, type TipInput } from '../domain/index.js';
import { connectEngineNats, createOperationWorker, ensureTopology, startBridge, startDeadLetterWatcher } from '../workers/index.js';
import { clientDataConverter } from '../workers/codec.js';
import { generateMasterKey, openKeyStore, readMasterKeyring, type KeyStore, type MasterKeyring } from '../workers/keys.js';
import { startNatsServer, startSecuredNatsServer, type NatsServer } from './dev-stack.js';

/**
 * The whole engine in one process, on a given Temporal server and a nats-server of its own: worker, bridge,
 * dead-letter watcher, and simulated agencies on demand. Tests, the history recorder and the benchmark use it.
 */
export interface EmbeddedEngine {
  /** A client with the engine's codec: what the coordinator's `los` uses. */
  client: Client;
  /** The key store (master key, data keys, the bridge's signing key). */
  keys: KeyStore;
  /** Credentials of the engine's NATS user, for another key-store connection (e.g. a codec server). */
  natsEngineCredentials?: { user: string; pass: string };
  nc: NatsConnection;
  nats: NatsServer;
  taskQueue: string;
  deadLetters: { reason: string; subject: string }[];
  register(tip: TipInput, options?: Partial<RegisterOptions>): ReturnType<typeof registerTip>;
  /** Stops nats-server; the returned function starts it again on the same port and store. */
  pauseNats(): Promise<() => Promise<void>>;
  startAgencies(
    behaviours?: Partial<Record<AgencyId, AgencyBehaviour>>,
    watch?: Pick<SimulatedAgencyOptions, 'onEvent' | 'onAnswer'>,
  ): Promise<Map<AgencyId, SimulatedAgency>>;
  stop(): Promise<void>;
}

export interface EmbeddedEngineOptions {
  temporalAddress: string;
  /** Directory for this engine's nats-server store and log. */
  scratchDir: string;
  taskQueue: string;
  workflowBundle?: { code: string } | { codePath: string };
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Run nats-server with one user per agency and an engine user, so need to know is enforced by the server. */
  auth?: boolean;
  /** Called for every dead letter, from the bridge and from delivery advisories alike. */
  onDeadLetter?: (reason: string, subject: string) => void;
  /** The master keyring; a fresh random master key when not given. */
  keyring?: MasterKeyring;
}

export async function startEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const natsOptions = { storeDir: join(options.scratchDir, 'nats'), logFile: join(options.scratchDir, 'nats.log') };
  const secured = options.auth ? await startSecuredNatsServer({ ...natsOptions, agencies: AGENCY_IDS }) : undefined;
  let nats = secured ? secured.server : await startNatsServer(natsOptions);
  const nc = await connectEngineNats({ servers: nats.url, name: `los-engine-${options.taskQueue}`, ...(secured ? secured.engine : {}) });
  await ensureTopology(await nc.jetstreamManager(), {
    agencies: AGENCY_IDS,
    ackWaitMs: options.ackWaitMs ?? 5_000,
    ...(options.maxDeliver ? { maxDeliver: options.maxDeliver } : {}),
  });
  const keyStore = await openKeyStore({
    servers: nats.url,
    keyring: options.keyring ?? readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }),
    ...(secured ? secured.engine : {}),
  });
  const keys = keyStore.keys;
  const workerConnection = await NativeConnection.connect({ address: options.temporalAddress });
  const worker: Worker = await createOperationWorker({
    connection: workerConnection,
    nc,
    keys,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: options.temporalAddress });
  const client = new Client({ connection, dataConverter: clientDataConverter(keys) });
  const deadLetters: EmbeddedEngine['deadLetters'] = [];
  const onDeadLetter = (reason: string, subject: string) => {
    deadLetters.push({ reason, subject });
    options.onDeadLetter?.(reason, subject);
  };
  const bridge = await startBridge({ nc, client, keys, retryDelayMs: 500, onDeadLetter });
  const watcher = await startDeadLetterWatcher({ nc, onDeadLetter });
  const agencies: SimulatedAgency[] = [];
  const catalogue = loadCatalogueFile();

  return {
    client,
    keys,
    ...(secured ? { natsEngineCredentials: secured.engine } : {}),
    nc,
    get nats() {
      return nats;
    },
    async pauseNats() {
      if (secured) throw new Error('pauseNats: not supported with auth (a restart would need the same passwords)');
      const port = Number(new URL(nats.url).port);
      await nats.stop();
      return async () => {
        nats = await startNatsServer({ ...natsOptions, port });
        if (nats.url !== `nats://127.0.0.1:${port}`) throw new Error(`nats-server came back on ${nats.url}, not port ${port}`);
      };
    },
    taskQueue: options.taskQueue,
    deadLetters,
    register: (tip, registerOptions = {}) => registerTip(client, tip, { catalogue, taskQueue: options.taskQueue, keys, ...registerOptions }),
    async startAgencies(behaviours = {}, watch = {}) {
      const started = new Map<AgencyId, SimulatedAgency>();
      for (const agency of AGENCY_IDS) {
        const simulated = await startSimulatedAgency(agency, behaviours[agency] ?? defaultBehaviour(agency), {
          servers: nats.url,
          ...watch,
          ...(secured ? { credentials: secured.agency(agency) } : {}),
        });
        agencies.push(simulated);
        started.set(agency, simulated);
      }
      return started;
    },
    async stop() {
      for (const agency of agencies) await agency.stop();
      await bridge.stop();
      await watcher.stop();
      worker.shutdown();
      await running;
      await nc.drain();
      await keyStore.close();
      await connection.close();
      await workerConnection.close();
      await nats.stop();
    },
  };
}
