import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { defaultBehaviour, startSimulatedAgency, type AgencyBehaviour, type SimulatedAgency, type SimulatedAgencyOptions } from '../agencies/index.js';
import { entityKeyFromEnvironment, clientDataConverter, KeyStore, generateMasterKey, readMasterKeyring, type MasterKeyring } from '../vault/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { registerTip, type RegisterOptions } from '../coordinator/index.js';
import { AGENCY_IDS, SUBJECTS, type AgencyId, type TipInput } from '../domain/index.js';
import type { EngineIdentity } from '../messaging/index.js';
import { connectEngineNats, createOperationWorker, currentWorkflowBundle, startBridge, startDeadLetterWatcher, type Bridge } from '../workers/index.js';
import { ensureTopology } from '../messaging/index.js';
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
  nc: NatsConnection;
  nats: NatsServer;
  taskQueue: string;
  deadLetters: { reason: string; subject: string }[];
  /**
   * A connection as one of the engine's identities (with auth; without, a plain one), closed by stop(). The
   * steering group's and the coordinator's readers use their own inbox prefix, as their permissions require.
   */
  connectAs(identity: EngineIdentity): Promise<NatsConnection>;
  /** The bridge this engine started (stop() stops it too). */
  bridge: Bridge;
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
  /** Loopback port for this engine's nats-server. @default a free port */
  natsPort?: number;
  /** @default the bundle in dist/, built first if it is missing or stale */
  workflowBundle?: { code: string } | { codePath: string };
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Run nats-server with one user per agency and an engine user, so need to know is enforced by the server. */
  auth?: boolean;
  /** Called for every dead letter, from the bridge and from delivery advisories alike. */
  onDeadLetter?: (reason: string, subject: string) => void;
  /**
   * The key of the pseudonymous entity reference.
   * @default `LOS_ENTITY_KEY` / `LOS_ENTITY_KEY_FILE` from the environment, else a fresh random key for this engine
   */
  entityKey?: string;
  /** The master keyring; a fresh random master key when not given. */
  keyring?: MasterKeyring;
}

export async function startEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const natsOptions = {
    storeDir: join(options.scratchDir, 'nats'),
    logFile: join(options.scratchDir, 'nats.log'),
    ...(options.natsPort ? { port: options.natsPort } : {}),
  };
  const secured = options.auth ? await startSecuredNatsServer({ ...natsOptions, agencies: AGENCY_IDS }) : undefined;
  let nats = secured ? secured.server : await startNatsServer(natsOptions);
  // With accounts, the worker and the bridge are separate identities, each with only its own rights.
  const as = (identity: EngineIdentity) => (secured ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(secured.engine(identity).nkeySeed)) } : {});
  const nc = await connectEngineNats({ servers: nats.url, name: `los-worker-${options.taskQueue}`, ...as('worker') });
  const bridgeNc = secured ? await connectEngineNats({ servers: nats.url, name: `los-bridge-${options.taskQueue}`, ...as('bridge') }) : nc;
  await ensureTopology(await jetstreamManager(nc), {
    agencies: AGENCY_IDS,
    ackWaitMs: options.ackWaitMs ?? 5_000,
    ...(options.maxDeliver ? { maxDeliver: options.maxDeliver } : {}),
  });
  // The key store lives in the engine account, reached through the worker's connection.
  const keys = await KeyStore.open({ nc, keyring: options.keyring ?? readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }) });
  const workerConnection = await NativeConnection.connect({ address: options.temporalAddress });
  const worker: Worker = await createOperationWorker({
    connection: workerConnection,
    nc,
    keys,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle ?? (await currentWorkflowBundle()),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: options.temporalAddress });
  const client = new Client({ connection, dataConverter: clientDataConverter(keys) });
  const deadLetters: EmbeddedEngine['deadLetters'] = [];
  const onDeadLetter = (reason: string, subject: string) => {
    deadLetters.push({ reason, subject });
    options.onDeadLetter?.(reason, subject);
  };
  const bridge = await startBridge({ nc: bridgeNc, client, keys, retryDelayMs: 500, onDeadLetter });
  const watcher = await startDeadLetterWatcher({ nc: bridgeNc, onDeadLetter });
  const agencies: SimulatedAgency[] = [];
  const extraConnections: NatsConnection[] = [];
  const catalogue = loadCatalogueFile();
  const entityKey = options.entityKey ?? entityKeyFromEnvironment() ?? randomBytes(32).toString('hex');

  return {
    client,
    keys,
    nc,
    get nats() {
      return nats;
    },
    async pauseNats() {
      const port = Number(new URL(nats.url).port);
      await nats.stop();
      return async () => {
        nats = await startNatsServer({ ...natsOptions, port, ...(secured ? { args: secured.configArgs, nkeySeed: secured.seeds.engine.worker } : {}) });
        if (nats.url !== `nats://127.0.0.1:${port}`) throw new Error(`nats-server came back on ${nats.url}, not port ${port}`);
      };
    },
    taskQueue: options.taskQueue,
    deadLetters,
    bridge,
    async connectAs(identity) {
      const reader = identity === 'steering_group' || identity === 'coordinator';
      const extra = await connectEngineNats({
        servers: nats.url,
        name: `los-${identity}-${options.taskQueue}`,
        ...(secured ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(secured.engine(identity).nkeySeed)) } : {}),
        ...(reader ? { inboxPrefix: SUBJECTS.inboxPrefix(identity) } : {}),
      });
      extraConnections.push(extra);
      return extra;
    },
    register: (tip, registerOptions = {}) => registerTip(client, tip, { catalogue, taskQueue: options.taskQueue, entityKey, keys, ...registerOptions }),
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
      for (const extra of extraConnections) await extra.drain().catch(() => undefined);
      if (bridgeNc !== nc) await bridgeNc.drain();
      await nc.drain();
      await connection.close();
      await workerConnection.close();
      await nats.stop();
    },
  };
}
