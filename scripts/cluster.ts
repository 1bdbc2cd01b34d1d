import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { Client } from '@temporalio/client';
import { loadCatalogueFile } from '../config/index.js';
import { AuditLog, clientDataConverter, KeyStore, generateMasterKey, openKeyStore, readMasterKeyring } from '../vault/index.js';
import { ensureTopology, seedFileName, type EngineIdentity, type NatsIdentity, type NatsSeeds } from '../messaging/index.js';
import { clientCredentialsGrant, connectTemporalClient, TemporalTokens, type TemporalAccess } from '../workers/temporalAccess.js';
import { ENGINE_NODE_OPTIONS } from '../workers/memory.js';
import { currentWorkflowBundle } from '../workers/workflowBundle.js';
import { freePort, refusedLogin, stopProcess, waitFor } from './dev-stack.js';
import { makeDevTls } from './dev-tls.js';
import { DEMO_TEMPORAL_UI_CLIENT, startIdentityProvider, type IdentityProvider } from './identity-provider.js';
import { forwardTemporalRefusals, sizeOf, type RefusalForwarder } from './temporal-refusals.js';
import { ensureTemporalCertificates } from './temporal-tls.js';
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
  type TemporalUiSignIn,
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
  /**
   * Start the Temporal Web UI (building it once). On a secure cluster people sign in to it at the identity provider
   * (the realm's temporal-ui client), and it asks the codec server (its own process, https) to decode with the
   * person's access token. @default false
   */
  ui?: boolean;
  taskQueue?: string;
  /** Extra environment for the engine processes, e.g. LOG_LEVEL. */
  engineEnv?: Record<string, string>;
  /**
   * Start the HTTP API as its own process, and the embedded identity provider (idp/, the demo realm) it signs people
   * in at; each on this port, or a free one.
   */
  api?: { port?: number; idpPort?: number };
  /**
   * The Temporal server authorises every call with a JWT from the identity provider (started for it, with or
   * without the API), and serves its frontend over TLS with a certificate this set-up makes; the engine's processes
   * use their own machine clients' tokens. Off: an open, plaintext frontend, as the dev server. @default true
   */
  secure?: boolean;
  /**
   * TLS for NATS clients and routes. Off only for the bench's comparison with an open cluster (bench/locked.ts):
   * the nodes listen in plaintext, and the engine's processes connect without the CA. @default true
   */
  natsTls?: boolean;
  /** The identity provider's realm; the demo realm (idp/realm.yaml) by default. The tests shorten token lifetimes with it. */
  realmFile?: string;
  postgres?: Postgres;
  log?: (line: string) => void;
}

/** The Temporal server's JWT audience on the cluster: the resource the engine's and people's Temporal tokens are for. */
export const CLUSTER_TEMPORAL_AUDIENCE = 'urn:los:temporal';

/**
 * Each engine process's machine client for Temporal in the demo realm (idp/realm.yaml), whose secrets are no secret;
 * a deployment's come from its provider. `los-temporal-admin` is the set-up's (the namespace, its search attributes).
 */
export const CLUSTER_TEMPORAL_CLIENTS = {
  worker: { clientId: 'los-worker', clientSecret: 'demo-secret-los-worker' },
  bridge: { clientId: 'los-bridge', clientSecret: 'demo-secret-los-bridge' },
  api: { clientId: 'los-api-temporal', clientSecret: 'demo-secret-los-api-temporal' },
  admin: { clientId: 'los-temporal-admin', clientSecret: 'demo-secret-los-temporal-admin' },
} as const;

export interface EngineProcess {
  role: 'worker' | 'bridge' | 'api' | 'codec';
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
  /** Its token's source, when the server checks tokens. */
  tokens?: TemporalTokens;
  keys: KeyStore;
  /** The key store's NATS connection (the worker's identity). */
  nc: NatsConnection;
  close(): Promise<void>;
}

export interface Cluster {
  temporal: TemporalServer;
  temporalAddress: string;
  /**
   * How to reach the frontend besides its address: the TLS to trust it and, with `issuer`, where its tokens come
   * from. Undefined parts: the frontend is plaintext or open.
   */
  temporalAccess: { tls?: { caFile: string; serverName: string }; issuer?: string; audience?: string };
  namespace: string;
  /** The Web UI, or why there is none. */
  ui: { url: string } | { error: string } | undefined;
  /**
   * The codec server the Web UI and the Temporal CLI decode with (https, its certificate signed by `caFile`, the NATS
   * nodes' CA), on a secure cluster with the UI or the API: people's tokens from the provider, checked.
   */
  codec?: { url: string; certFile: string; caFile: string };
  nats: NatsCluster;
  /** Every node's client URL, comma-separated as NATS_URL takes them. */
  natsUrl: string;
  masterKeyFile: string;
  /** The file holding an identity's NKEY seed (engine identities and agencies alike). */
  seedFile(identity: NatsIdentity): string;
  seeds: NatsSeeds;
  engine: EngineProcess[];
  /**
   * Carries the Temporal server's authorisation refusals to the security log (scripts/temporal-refusals.ts), on a
   * secure cluster; `poll()` forwards what the server has said so far.
   */
  temporalRefusals?: RefusalForwarder;
  /** The identity provider's process, when one runs (a secure cluster's, or the API's). */
  idp?: IdentityProvider;
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
  /**
   * A Temporal client with the engine's codec and the key store, as the coordinator's `los` has them; on a secure
   * cluster with a token of `clientId` (a machine client of the realm, renewed), the set-up's by default.
   */
  connectClient(name: string, credentials?: { clientId: string; clientSecret: string }): Promise<ClusterClient>;
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
    const secure = options.secure ?? true;
    // The identity provider first: the Temporal server fetches its keys when it starts.
    let idp: IdentityProvider | undefined;
    const apiPort = options.api ? await freePort(options.api.port ?? 4300) : undefined;
    const apiUrl = apiPort !== undefined ? `http://127.0.0.1:${apiPort}` : undefined;
    // The UI's origin before the provider starts: the UI's client has its redirect URI on it.
    const uiUrl = options.ui ? `http://127.0.0.1:${await freePort(8233)}` : undefined;
    if (options.api || secure) {
      log(`starting the identity provider${secure ? ' (the Temporal server trusts its tokens)' : ''}`);
      idp = await startIdentityProvider({
        scratchDir: join(options.dataDir, 'idp'),
        dataDir: join(options.dataDir, 'idp', 'keys'),
        audience: `${apiUrl ?? 'http://127.0.0.1:4300'}/v1`,
        apiUrls: apiUrl ? [apiUrl] : [],
        ...(secure ? { temporalAudience: CLUSTER_TEMPORAL_AUDIENCE, temporalUiUrls: uiUrl ? [uiUrl] : [] } : {}),
        ...(options.realmFile ? { realmFile: options.realmFile } : {}),
        port: options.api?.idpPort ?? 4400,
      });
      const provider = idp;
      stopOnFailure.push(() => provider.stop());
    }
    const certificates = secure ? ensureTemporalCertificates(join(options.dataDir, 'temporal', 'tls')) : undefined;
    const temporalTls = certificates ? { serverRootCACertificate: readFileSync(certificates.caFile), serverNameOverride: certificates.serverName } : undefined;
    const access: Cluster['temporalAccess'] = {
      ...(certificates ? { tls: { caFile: certificates.caFile, serverName: certificates.serverName } } : {}),
      ...(secure && idp ? { issuer: idp.issuer, audience: CLUSTER_TEMPORAL_AUDIENCE } : {}),
    };
    const ports = await freeTemporalPorts();
    // With the authoriser, the server's metrics: the count of the calls it denied, which its log does not record.
    const metricsPort = secure && idp ? await freePort() : undefined;
    const configFile = join(options.dataDir, 'temporal', 'config.yaml');
    writeTemporalServerConfig(configFile, {
      postgres,
      databasePrefix: options.prefix,
      ports,
      bindAddress: '127.0.0.1',
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      ...(secure && idp ? { authorization: { jwksUrl: `${idp.issuer}/jwks`, audience: CLUSTER_TEMPORAL_AUDIENCE } } : {}),
      ...(certificates ? { tls: certificates } : {}),
    });
    const temporalAddress = `127.0.0.1:${ports.frontend}`;
    const temporalLog = join(options.dataDir, 'temporal', 'server.log');
    const startTemporal = () => startTemporalServer({ configFile, address: temporalAddress, logFile: temporalLog, connection: { tls: temporalTls ?? false } });
    const temporalLogStart = sizeOf(temporalLog);
    log(`starting the Temporal server at ${temporalAddress}${secure ? ' (TLS, every call authorised with a token)' : ''}`);
    let temporal = await startTemporal();
    stopOnFailure.push(() => temporal.stop());
    const adminToken =
      secure && idp
        ? (await clientCredentialsGrant({ issuer: idp.issuer, audience: CLUSTER_TEMPORAL_AUDIENCE, ...CLUSTER_TEMPORAL_CLIENTS.admin })).accessToken
        : undefined;
    await ensureNamespace(temporalAddress, namespace, undefined, { tls: temporalTls ?? false, ...(adminToken ? { apiKey: adminToken } : {}) });
    const temporalEnv = (role: 'worker' | 'bridge' | 'api'): Record<string, string> => ({
      ...(certificates ? { LOS_TEMPORAL_TLS_CA_FILE: certificates.caFile, LOS_TEMPORAL_TLS_SERVER_NAME: certificates.serverName } : {}),
      ...(secure && idp
        ? {
            LOS_OIDC_ISSUER: idp.issuer,
            LOS_TEMPORAL_AUDIENCE: CLUSTER_TEMPORAL_AUDIENCE,
            LOS_TEMPORAL_TOKEN_CLIENT_ID: CLUSTER_TEMPORAL_CLIENTS[role].clientId,
            LOS_TEMPORAL_TOKEN_CLIENT_SECRET: CLUSTER_TEMPORAL_CLIENTS[role].clientSecret,
          }
        : {}),
    });

    const seedsDir = join(options.dataDir, 'keys');
    const seeds = clusterSeeds(seedsDir, agencies);
    const seedFile = (identity: NatsIdentity) => join(seedsDir, seedFileName(identity));
    log('starting three nats-server nodes as one JetStream cluster');
    // TLS for clients and routes, with a CA of this data directory's own that the engine's processes trust.
    const tls = makeDevTls(join(options.dataDir, 'tls'), ['localhost', '127.0.0.1']);
    const natsTls = options.natsTls ?? true;
    const natsCa = natsTls ? { caFile: tls.caFile } : undefined;
    const natsClientTls = natsCa ? { tls: natsCa } : {};
    const nats = await startNatsCluster({
      dataDir: join(options.dataDir, 'nats'),
      agencies,
      keys: accountKeys(readPublicKeysFile(seedsDir)!),
      ...(natsTls ? { tls } : {}),
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
        ...natsClientTls,
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

    // The Temporal server's refusals to the security log, where auditors read the API's and the codec server's.
    let refusals: { forwarder: RefusalForwarder; nc: NatsConnection } | undefined;
    if (secure && idp) {
      const nc = await connectAs('worker', 'los-cluster-temporal-refusals');
      const audit = await AuditLog.open(nc, { replicas: CLUSTER_REPLICAS });
      const forwarder = forwardTemporalRefusals({
        logFile: temporalLog,
        from: temporalLogStart,
        ...(metricsPort !== undefined ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
        record: (entry) => audit.record(entry),
        log,
      });
      refusals = { forwarder, nc };
      stopOnFailure.push(async () => {
        await forwarder.stop();
        await nc.drain();
      });
    }

    // With people signing in, the UI and the Temporal CLI decode through the codec server with the person's token:
    // https (the UI passes a token to https only), with the certificate the NATS nodes have (loopback names, this data
    // directory's CA).
    const codec = (uiUrl || apiUrl) && secure && idp ? { url: `https://127.0.0.1:${await freePort()}`, certFile: tls.certFile, caFile: tls.caFile } : undefined;
    const startedUi =
      uiUrl !== undefined
        ? await startTemporalUi(options.dataDir, {
            temporalAddress,
            url: uiUrl,
            log,
            ...(access.tls ? { tls: access.tls } : {}),
            ...(codec && idp ? { signIn: { issuer: idp.issuer, ...DEMO_TEMPORAL_UI_CLIENT }, codecEndpoint: codec.url } : {}),
          })
        : undefined;
    const stopUi = startedUi && 'stop' in startedUi ? startedUi.stop : async () => undefined;
    stopOnFailure.push(stopUi);
    const ui: Cluster['ui'] = startedUi && ('url' in startedUi ? { url: startedUi.url } : { error: startedUi.error });

    const engineLogs = join(options.dataDir, 'engine');
    mkdirSync(engineLogs, { recursive: true });
    const engineProcess = (role: EngineProcess['role'], number: number, roleEnv: Record<string, string> = {}): EngineProcess => {
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
              // The engine's heap settings alone: the environment of whoever started the cluster is not passed on.
              NODE_OPTIONS: ENGINE_NODE_OPTIONS,
              TEMPORAL_ADDRESS: temporalAddress,
              TEMPORAL_NAMESPACE: namespace,
              NATS_URL: natsUrl,
              // The API and the codec server run as the worker's identity (the key store, the access log, the sessions).
              NATS_NKEY_SEED_FILE: seedFile(role === 'api' || role === 'codec' ? 'worker' : role),
              ...(natsTls ? { NATS_TLS_CA_FILE: tls.caFile } : {}),
              LOS_MASTER_KEY_FILE: masterKeyFile,
              LOS_STREAM_REPLICAS: String(CLUSTER_REPLICAS),
              SHUTDOWN_GRACE_SECONDS: '10',
              ...(role === 'codec' ? {} : temporalEnv(role)),
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
    let api: Cluster['api'];
    if (apiPort !== undefined && apiUrl && idp) {
      log(`starting the API at ${apiUrl}`);
      api = { url: apiUrl, issuer: idp.issuer };
      engine.push(
        engineProcess('api', 1, {
          LOS_API_PORT: String(apiPort),
          LOS_OIDC_ISSUER: idp.issuer,
          // The demo realm's secret of the los-api client (idp/realm.yaml); a deployment's comes from its provider.
          LOS_OIDC_CLIENT_SECRET: 'demo-secret-los-api',
          LOS_API_SESSION_SECRET_FILE: clusterSecret(join(options.dataDir, 'api-session.secret')),
          LOS_ENTITY_KEY_FILE: clusterSecret(join(options.dataDir, 'entity.key')),
        }),
      );
    }
    if (codec && idp) {
      log(`starting the codec server at ${codec.url} for the Temporal ${uiUrl ? 'UI and CLI' : 'CLI'}`);
      engine.push(
        engineProcess('codec', 1, {
          CODEC_BIND_ADDRESS: new URL(codec.url).host,
          CODEC_TLS_CERT_FILE: tls.certFile,
          CODEC_TLS_KEY_FILE: tls.keyFile,
          ...(uiUrl ? { LOS_UI_ORIGIN: uiUrl } : {}),
          LOS_OIDC_ISSUER: idp.issuer,
          LOS_TEMPORAL_AUDIENCE: CLUSTER_TEMPORAL_AUDIENCE,
          // The API's audience and its session cookies, when it runs: `los token` and an API session work here too.
          ...(apiUrl ? { LOS_API_PUBLIC_URL: apiUrl, LOS_API_SESSION_SECRET_FILE: clusterSecret(join(options.dataDir, 'api-session.secret')) } : {}),
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
      temporalAccess: access,
      namespace,
      ui,
      ...(codec ? { codec } : {}),
      nats,
      natsUrl,
      natsCaFile: tls.caFile,
      async revokeAgency(agency) {
        const seed = seeds.agencies[agency];
        revokeAgencyKeys(seedsDir, agency);
        delete seeds.agencies[agency];
        await nats.reconfigure(accountKeys(readPublicKeysFile(seedsDir)!), (url) => (seed ? refusedLogin(url, seed, natsCa) : Promise.resolve()));
      },
      masterKeyFile,
      seedFile,
      seeds,
      engine,
      ...(api ? { api } : {}),
      ...(idp ? { idp } : {}),
      databases,
      connectAs,
      async connectClient(name, credentials = CLUSTER_TEMPORAL_CLIENTS.admin) {
        const tokens = access.issuer ? await TemporalTokens.start({ issuer: access.issuer, audience: CLUSTER_TEMPORAL_AUDIENCE, ...credentials }) : undefined;
        const temporalAccess: TemporalAccess = { address: temporalAddress, ...(temporalTls ? { tls: temporalTls } : {}) };
        const connection = await connectTemporalClient(temporalAccess, tokens);
        const store = await openKeyStore({
          servers: nats.urls,
          nkeySeedFile: seedFile('worker'),
          ...natsClientTls,
          keyring: readMasterKeyring({ LOS_MASTER_KEY_FILE: masterKeyFile }),
          name,
        });
        return {
          client: new Client({ connection, namespace, dataConverter: clientDataConverter(store.keys) }),
          keys: store.keys,
          nc: store.nc,
          ...(tokens ? { tokens } : {}),
          async close() {
            tokens?.stop();
            await store.close().catch(() => undefined);
            await connection.close().catch(() => undefined);
          },
        };
      },
      async restartTemporal(pauseMs = 0) {
        await temporal.stop();
        await new Promise((r) => setTimeout(r, pauseMs));
        temporal = await startTemporal();
      },
      describe() {
        const uiLine = !ui
          ? 'Temporal UI: not started (use the Temporal CLI)'
          : 'url' in ui
            ? `Temporal UI: ${ui.url}${codec ? ` (sign in at the identity provider; it decodes through the codec server ${codec.url}, whose certificate ${tls.caFile} signed)` : ''}`
            : `Temporal UI: not available (${ui.error}); use the Temporal CLI, e.g. temporal workflow list --address ${temporalAddress}`;
        return [
          `Temporal server ${temporalAddress} (namespace ${namespace}; PostgreSQL ${postgres.host}:${postgres.port}, databases ${databases.main} and ${databases.visibility})`,
          uiLine,
          ...nats.nodes.map((node) => `NATS node ${node.name}: ${node.url} (routes ${node.routeUrl}, monitoring ${node.monitorUrl})`),
          ...engine.map((p) => `${p.role} ${p.number}: pid ${p.child?.pid ?? '-'}, log ${p.logFile}`),
          `Agency NKEY seeds: ${join(seedsDir, 'agencies')} (one per agency); the CA to trust: ${tls.caFile}`,
          ...(access.issuer
            ? [
                `Temporal authorises every call with a token from ${access.issuer} for ${access.audience} (permissions claim, e.g. default:read); ` +
                  'the Web UI signs people in there and calls with their token',
              ]
            : ['Temporal: open to anyone who reaches it (no authorisation)']),
          ...(access.tls ? [`Temporal TLS: trust ${access.tls.caFile} (server name ${access.tls.serverName})`] : []),
          ...(api ? [`API: ${api.url} (OpenAPI at ${api.url}/v1/openapi.json; sign in at ${api.url}/auth/login)`, `Identity provider: ${api.issuer}`] : []),
          ...(codec && access.tls
            ? [
                `Codec server: ${codec.url} (trust ${codec.caFile}); the Temporal CLI as a person: T=$(los token --for temporal) after LOS_API_URL=${api?.url ?? '<the API>'} los login, then ` +
                  `SSL_CERT_FILE=${codec.caFile} temporal workflow show --address ${temporalAddress} --tls-ca-path ${access.tls.caFile} --tls-server-name ${access.tls.serverName} --api-key "$T" --codec-endpoint ${codec.url} --codec-auth "Bearer $T" --workflow-id <operation>`,
              ]
            : []),
          `For los: TEMPORAL_ADDRESS=${temporalAddress}${access.tls ? ` LOS_TEMPORAL_TLS_CA_FILE=${access.tls.caFile}` : ''} NATS_URL=${nats.urls[0]} NATS_NKEY_SEED_FILE=${seedFile('worker')} NATS_TLS_CA_FILE=${tls.caFile} LOS_MASTER_KEY_FILE=${masterKeyFile}`,
        ];
      },
      ...(refusals ? { temporalRefusals: refusals.forwarder } : {}),
      async stop() {
        await Promise.all(engine.map((p) => p.stop()));
        await refusals?.forwarder.stop();
        await refusals?.nc.drain().catch(() => undefined);
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
  options: {
    temporalAddress: string;
    /** Its origin, on a port found free. */
    url: string;
    log: (line: string) => void;
    tls?: { caFile: string; serverName: string };
    signIn?: TemporalUiSignIn;
    codecEndpoint?: string;
  },
): Promise<{ url: string; stop(): Promise<void> } | { error: string }> {
  const built = ensureTemporalUi(options.log);
  if ('error' in built) return { error: built.error };
  const { url, temporalAddress, tls, signIn, codecEndpoint } = options;
  const port = Number(new URL(url).port);
  const configDir = join(dataDir, 'ui');
  writeTemporalUiConfig(configDir, {
    temporalAddress,
    host: '127.0.0.1',
    port,
    origin: url,
    ...(tls ? { tls } : {}),
    ...(signIn ? { signIn } : {}),
    ...(codecEndpoint ? { codecEndpoint } : {}),
  });
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
