import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { Client, Connection } from '@temporalio/client';
import { loadCatalogueFile } from '../config/index.js';
import { clientDataConverter, KeyStore, generateMasterKey, openKeyStore, readMasterKeyring } from '../vault/index.js';
import { ensureTopology, seedFileName, type EngineIdentity, type NatsIdentity, type NatsSeeds } from '../messaging/index.js';
import { currentWorkflowBundle } from '../workers/workflowBundle.js';
import { freePort, refusedLogin, stopProcess, waitFor } from './dev-stack.js';
import { makeDevTls } from './dev-tls.js';
import { startIdentityProvider, type IdentityProvider } from './identity-provider.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { accountKeys, issueKeys, readPublicKeysFile, readSeeds, revokeAgencyKeys } from './nats-keys.js';
import { PROJECT_ROOT } from './temporal-cli.js';
import {
  assertPostgresReachable,
  dropTemporalDatabases,
  ensureNamespace,
  ensureTemporalServer,
  ensureTemporalUi,
  freeTemporalPorts,
  postgresFromEnvironment,
  prepareTemporalDatabases,
  startTemporalServer,
  temporalDatabases,
  writeTemporalServerConfig,
  TEMPORAL_UI_ENVIRONMENT,
  writeTemporalUiConfig,
  type Postgres,
  type TemporalServer,
} from './temporal-server.js';

/**
 * The production topology on one machine: the Temporal server on PostgreSQL (and its Web UI when it builds),
 * a three-node NATS JetStream cluster with the per-agency accounts and three replicas of every stream, and the
 * engine's workers and bridges as separate processes (`workers/main.ts`), configured only by environment.
 */

/** Copies of every stream, consumer and key-value bucket: any one NATS node may be lost. */
export const CLUSTER_REPLICAS = 3;

export interface ClusterOptions {
  /** Prefix of the two databases, e.g. "los_cluster"; one per run, so runs never touch each other's. */
  prefix: string;
  /** Where the cluster keeps its NATS stores, keys, configs and logs. */
  dataDir: string;
  /** @default 2 */
  workers?: number;
  /** @default 2 */
  bridges?: number;
  /** Start the Temporal Web UI (building it once). @default false */
  ui?: boolean;
  taskQueue?: string;
  /** Extra environment for the engine processes, e.g. LOG_LEVEL. */
  engineEnv?: Record<string, string>;
  /**
   * Start the HTTP API as its own process, and the embedded identity provider (idp/, the demo realm) it signs people
   * in at; each on this port, or a free one.
   */
  api?: { port?: number; idpPort?: number };
  postgres?: Postgres;
  log?: (line: string) => void;
}

export interface EngineProcess {
  role: 'worker' | 'bridge' | 'api';
  /** 1-based, per role: worker 1, worker 2, bridge 1, … */
  number: number;
  logFile: string;
  child?: ChildProcess;
  running(): boolean;
  start(): void;
  /** SIGKILL, as a crash; returns when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: the process drains and exits. */
  stop(): Promise<void>;
}

export interface ClusterClient {
  client: Client;
  keys: KeyStore;
  /** The key store's NATS connection (the worker's identity). */
  nc: NatsConnection;
  close(): Promise<void>;
}

export interface Cluster {
  temporal: TemporalServer;
  temporalAddress: string;
  namespace: string;
  /** The Web UI, or why there is none. */
  ui: { url: string } | { error: string } | undefined;
  nats: NatsCluster;
  /** Every node's client URL, comma-separated as NATS_URL takes them. */
  natsUrl: string;
  masterKeyFile: string;
  /** The file holding an identity's NKEY seed (engine identities and agencies alike). */
  seedFile(identity: NatsIdentity): string;
  seeds: NatsSeeds;
  engine: EngineProcess[];
  /** The API's URL and the provider's issuer, when the options asked for them. */
  api?: { url: string; issuer: string };
  databases: { main: string; visibility: string };
  /** The CA that signed the nodes' certificate: clients connect with `tls: { caFile }`. */
  natsCaFile: string;
  /**
   * Revokes an agency's NATS credentials: its seed deleted and its keys marked revoked in the data directory (so a
   * restart keeps them revoked), every node's config rendered without its user and reloaded; returns once every
   * running node refuses the agency.
   */
  revokeAgency(agency: string): Promise<void>;
  /** Connects as one of the engine's identities to every node. */
  connectAs(identity: EngineIdentity, name: string): Promise<NatsConnection>;
  /** A Temporal client with the engine's codec and the key store, as the coordinator's `los` has them. */
  connectClient(name: string): Promise<ClusterClient>;
  /** Stops the Temporal server, waits `pauseMs`, and starts it again on the same config and database. */
  restartTemporal(pauseMs?: number): Promise<void>;
  /** What a person needs to use it: every endpoint, and the environment for `los`. */
  describe(): string[];
  stop(): Promise<void>;
}

/**
 * The NKEY seeds of a data directory: kept from an earlier start, or made now, as `nats-config keys` makes them
 * (0600, public-keys.json beside them). A revoked agency stays revoked across restarts and has no seed.
 */
function clusterSeeds(keysDir: string, agencies: readonly string[]): NatsSeeds {
  issueKeys(keysDir, agencies);
  return readSeeds(keysDir, agencies);
}

/** A random secret of a data directory, made once (0600), e.g. the API's cookie key; returns its file. */
function clusterSecret(path: string): string {
  if (!existsSync(path) || readFileSync(path, 'utf8').trim().length < 32) writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return path;
}

/** The master key of a data directory, made once: the data keys in NATS are wrapped with it. */
function clusterMasterKey(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${generateMasterKey()}\n`, { mode: 0o600 });
  }
  chmodSync(path, 0o600);
  return path;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? ((line: string) => console.error(line));
  const postgres = options.postgres ?? postgresFromEnvironment();
  const namespace = 'default';
  const agencies = loadCatalogueFile().agencies.map((a) => a.id);
  mkdirSync(options.dataDir, { recursive: true });
  const stopOnFailure: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const stop of stopOnFailure.reverse()) await stop().catch(() => undefined);
  };

  try {
    // The worker processes load the prebuilt workflow bundle: built here if the code changed since.
    await currentWorkflowBundle(log);
    ensureTemporalServer(log);
    await assertPostgresReachable(postgres);
    prepareTemporalDatabases(postgres, options.prefix, log);
    const ports = await freeTemporalPorts();
    const configFile = join(options.dataDir, 'temporal', 'config.yaml');
    writeTemporalServerConfig(configFile, { postgres, databasePrefix: options.prefix, ports, bindAddress: '127.0.0.1' });
    const temporalAddress = `127.0.0.1:${ports.frontend}`;
    const temporalLog = join(options.dataDir, 'temporal', 'server.log');
    log(`starting the Temporal server at ${temporalAddress}`);
    let temporal = await startTemporalServer({ configFile, address: temporalAddress, logFile: temporalLog });
    stopOnFailure.push(() => temporal.stop());
    await ensureNamespace(temporalAddress, namespace);

    const seedsDir = join(options.dataDir, 'keys');
    const seeds = clusterSeeds(seedsDir, agencies);
    const seedFile = (identity: NatsIdentity) => join(seedsDir, seedFileName(identity));
    log('starting three nats-server nodes as one JetStream cluster');
    // TLS for clients and routes, with a CA of this data directory's own that the engine's processes trust.
    const tls = makeDevTls(join(options.dataDir, 'tls'), ['localhost', '127.0.0.1']);
    const nats = await startNatsCluster({
      dataDir: join(options.dataDir, 'nats'),
      agencies,
      keys: accountKeys(readPublicKeysFile(seedsDir)!),
      tls,
      probeSeed: seeds.engine.worker,
    });
    stopOnFailure.push(() => nats.stop());
    const natsUrl = nats.urls.join(',');
    const connectAs = (identity: EngineIdentity, name: string) =>
      connect({
        servers: nats.urls,
        name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.engine[identity])),
        tls: { caFile: tls.caFile },
      });

    // The streams and the key store with three replicas before any engine process starts, so that none of them
    // creates one with a single copy; the engine processes set up the same again, idempotently.
    const masterKeyFile = clusterMasterKey(join(options.dataDir, 'master.key'));
    const setup = await connectAs('worker', 'los-cluster-setup');
    try {
      // After a restart of every node the streams elect their leaders first, and calls time out until then.
      await retryUntil('the JetStream topology', 90_000, async () => {
        await ensureTopology(await jetstreamManager(setup), { agencies, replicas: CLUSTER_REPLICAS });
        await KeyStore.open({ nc: setup, keyring: readMasterKeyring({ LOS_MASTER_KEY_FILE: masterKeyFile }), replicas: CLUSTER_REPLICAS });
      });
    } finally {
      await setup.drain();
    }

    const startedUi = options.ui ? await startTemporalUi(options.dataDir, temporalAddress, log) : undefined;
    const stopUi = startedUi && 'stop' in startedUi ? startedUi.stop : async () => undefined;
    stopOnFailure.push(stopUi);
    const ui: Cluster['ui'] = startedUi && ('url' in startedUi ? { url: startedUi.url } : { error: startedUi.error });

    const engineLogs = join(options.dataDir, 'engine');
    mkdirSync(engineLogs, { recursive: true });
    const engineProcess = (role: 'worker' | 'bridge' | 'api', number: number, roleEnv: Record<string, string> = {}): EngineProcess => {
      const logFile = join(engineLogs, `${role}-${number}.log`);
      const processHandle: EngineProcess = {
        role,
        number,
        logFile,
        running: () => processHandle.child !== undefined && processHandle.child.exitCode === null && processHandle.child.signalCode === null,
        start() {
          const out = openSync(logFile, 'a');
          processHandle.child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'workers', 'main.ts'), role], {
            cwd: PROJECT_ROOT,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: process.env.HOME ?? '',
              TEMPORAL_ADDRESS: temporalAddress,
              TEMPORAL_NAMESPACE: namespace,
              NATS_URL: natsUrl,
              // The API runs as the worker's identity (the key store, the access log, its sessions).
              NATS_NKEY_SEED_FILE: seedFile(role === 'api' ? 'worker' : role),
              NATS_TLS_CA_FILE: tls.caFile,
              LOS_MASTER_KEY_FILE: masterKeyFile,
              LOS_STREAM_REPLICAS: String(CLUSTER_REPLICAS),
              SHUTDOWN_GRACE_SECONDS: '10',
              ...(options.taskQueue ? { TEMPORAL_TASK_QUEUE: options.taskQueue } : {}),
              ...options.engineEnv,
              ...roleEnv,
            },
            stdio: ['ignore', out, out],
          });
        },
        async kill() {
          const child = processHandle.child;
          if (!child || !processHandle.running()) return;
          const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
          child.kill('SIGKILL');
          await exited;
        },
        stop: async () => (processHandle.child ? stopProcess(processHandle.child, 20_000) : undefined),
      };
      return processHandle;
    };
    const engine = [
      ...Array.from({ length: options.workers ?? 2 }, (_, i) => engineProcess('worker', i + 1)),
      ...Array.from({ length: options.bridges ?? 2 }, (_, i) => engineProcess('bridge', i + 1)),
    ];
    let idp: IdentityProvider | undefined;
    let api: Cluster['api'];
    if (options.api) {
      const port = await freePort(options.api.port ?? 4300);
      const url = `http://127.0.0.1:${port}`;
      log(`starting the identity provider and the API at ${url}`);
      idp = await startIdentityProvider({
        scratchDir: join(options.dataDir, 'idp'),
        dataDir: join(options.dataDir, 'idp', 'keys'),
        audience: `${url}/v1`,
        apiUrls: [url],
        port: options.api.idpPort ?? 4400,
      });
      const provider = idp;
      stopOnFailure.push(() => provider.stop());
      api = { url, issuer: idp.issuer };
      engine.push(
        engineProcess('api', 1, {
          LOS_API_PORT: String(port),
          LOS_OIDC_ISSUER: idp.issuer,
          // The demo realm's secret of the los-api client (idp/realm.yaml); a deployment's comes from its provider.
          LOS_OIDC_CLIENT_SECRET: 'demo-secret-los-api',
          LOS_API_SESSION_SECRET_FILE: clusterSecret(join(options.dataDir, 'api-session.secret')),
          LOS_ENTITY_KEY_FILE: clusterSecret(join(options.dataDir, 'entity.key')),
        }),
      );
    }
    for (const processHandle of engine) processHandle.start();
    stopOnFailure.push(async () => {
      await Promise.all(engine.map((p) => p.stop()));
    });
    const databases = temporalDatabases(options.prefix);

    return {
      get temporal() {
        return temporal;
      },
      temporalAddress,
      namespace,
      ui,
      nats,
      natsUrl,
      natsCaFile: tls.caFile,
      async revokeAgency(agency) {
        const seed = seeds.agencies[agency];
        revokeAgencyKeys(seedsDir, agency);
        delete seeds.agencies[agency];
        await nats.reconfigure(accountKeys(readPublicKeysFile(seedsDir)!), (url) =>
          seed ? refusedLogin(url, seed, { caFile: tls.caFile }) : Promise.resolve(),
        );
      },
      masterKeyFile,
      seedFile,
      seeds,
      engine,
      ...(api ? { api } : {}),
      databases,
      connectAs,
      async connectClient(name) {
        const connection = await Connection.connect({ address: temporalAddress });
        const store = await openKeyStore({
          servers: nats.urls,
          nkeySeedFile: seedFile('worker'),
          tls: { caFile: tls.caFile },
          keyring: readMasterKeyring({ LOS_MASTER_KEY_FILE: masterKeyFile }),
          name,
        });
        return {
          client: new Client({ connection, namespace, dataConverter: clientDataConverter(store.keys) }),
          keys: store.keys,
          nc: store.nc,
          async close() {
            await store.close().catch(() => undefined);
            await connection.close().catch(() => undefined);
          },
        };
      },
      async restartTemporal(pauseMs = 0) {
        await temporal.stop();
        await new Promise((r) => setTimeout(r, pauseMs));
        temporal = await startTemporalServer({ configFile, address: temporalAddress, logFile: temporalLog });
      },
      describe() {
        const uiLine = !ui
          ? 'Temporal UI: not started (use the Temporal CLI)'
          : 'url' in ui
            ? `Temporal UI: ${ui.url}`
            : `Temporal UI: not available (${ui.error}); use the Temporal CLI, e.g. temporal workflow list --address ${temporalAddress}`;
        return [
          `Temporal server ${temporalAddress} (namespace ${namespace}; PostgreSQL ${postgres.host}:${postgres.port}, databases ${databases.main} and ${databases.visibility})`,
          uiLine,
          ...nats.nodes.map((node) => `NATS node ${node.name}: ${node.url} (routes ${node.routeUrl}, monitoring ${node.monitorUrl})`),
          ...engine.map((p) => `${p.role} ${p.number}: pid ${p.child?.pid ?? '-'}, log ${p.logFile}`),
          `Agency NKEY seeds: ${join(seedsDir, 'agencies')} (one per agency); the CA to trust: ${tls.caFile}`,
          ...(api ? [`API: ${api.url} (OpenAPI at ${api.url}/v1/openapi.json; sign in at ${api.url}/auth/login)`, `Identity provider: ${api.issuer}`] : []),
          `For los: TEMPORAL_ADDRESS=${temporalAddress} NATS_URL=${nats.urls[0]} NATS_NKEY_SEED_FILE=${seedFile('worker')} NATS_TLS_CA_FILE=${tls.caFile} LOS_MASTER_KEY_FILE=${masterKeyFile}`,
        ];
      },
      async stop() {
        await Promise.all(engine.map((p) => p.stop()));
        await idp?.stop();
        await stopUi();
        await temporal.stop();
        await nats.stop();
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

async function retryUntil(what: string, timeoutMs: number, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message} (still after ${timeoutMs / 1000}s)`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** Removes what a cluster left: its two databases and its data directory. */
export async function removeCluster(prefix: string, dataDir: string, postgres: Postgres = postgresFromEnvironment()): Promise<string[]> {
  await assertPostgresReachable(postgres);
  const dropped = dropTemporalDatabases(postgres, prefix);
  rmSync(dataDir, { recursive: true, force: true });
  return dropped;
}

async function startTemporalUi(
  dataDir: string,
  temporalAddress: string,
  log: (line: string) => void,
): Promise<{ url: string; stop(): Promise<void> } | { error: string }> {
  const built = ensureTemporalUi(log);
  if ('error' in built) return { error: built.error };
  const port = await freePort(8233);
  const configDir = join(dataDir, 'ui');
  const url = `http://127.0.0.1:${port}`;
  writeTemporalUiConfig(configDir, { temporalAddress, host: '127.0.0.1', port, origin: url });
  const logFile = join(configDir, 'ui.log');
  const out = openSync(logFile, 'a');
  const child = spawn(built.path, ['--root', dataDir, '--config', 'ui', '--env', TEMPORAL_UI_ENVIRONMENT, 'start'], { stdio: ['ignore', out, out] });
  try {
    await waitFor(
      'the Temporal UI',
      child,
      async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      },
      30_000,
      logFile,
    );
  } catch (err) {
    await stopProcess(child);
    return { error: (err as Error).message };
  }
  return { url, stop: () => stopProcess(child) };
}
