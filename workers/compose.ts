/**
 * The one composition root: how the engine's parts are wired, from one settings object (config/environment.ts).
 * Production builds one role per process here (workers/main.ts, from the environment), the demo and the tests
 * the worker and the bridge in one process (scripts/embedded-engine.ts, from its options), and the bench runs
 * workers/main.ts as child processes, once more without encryption (bench/plaintext-engine.ts). What differs
 * between them is an option of EngineWiring, never a second wiring.
 */
import { createServer, type Server } from 'node:http';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { loadCatalogueFile, type EngineEnv } from '../config/index.js';
import { SUBJECTS, type MandateCatalogue } from '../domain/index.js';
import { ensureTopology, readSeedFile, startStreamEraser, type TopologyOptions } from '../messaging/index.js';
import { AuditLog, KeyStore, SetupError, clientDataConverter, readMasterKeyring, requireEntityKey, type MasterKeyring } from '../vault/index.js';
import { RelyingParty, SessionStore, apiSettings, bearerVerifier, cookieUnsigner, identitySettings, startApiServer, type ApiServer } from '../api/index.js';
import { startBridge, type Bridge, type BridgeOptions } from './bridge.js';
import { startCodecServer, type CodecServer } from './codecServer.js';
import { startDeadLetterWatcher } from './deadLetters.js';
import { AgencyBacklogs, BacklogMonitor } from './health.js';
import { keepErasureReconciliation } from './erasureSchedule.js';
import { createLogger, type EngineLogger } from './logger.js';
import { connectEngineNats, misconfigured, trackNatsConnection, untilReady } from './startup.js';
import { connectTemporalClient, connectTemporalNative, temporalAccess, TemporalTokens } from './temporalAccess.js';
import { createOperationWorker, type OperationWorkerOptions } from './worker.js';

/** The engine's processes: each production process runs one; the embedded engine runs the worker and the bridge. */
export type EngineRole = 'worker' | 'bridge' | 'codec' | 'api';

/**
 * What the benchmark swaps to measure the engine without encryption (bench/plaintext.ts); every deployment, the
 * demo and the tests run with the defaults.
 */
export interface EngineVariant {
  /** The worker's data converter. @default engineDataConverter(keys): the payload codec */
  workerDataConverter?: DataConverter;
  /** The data converter of the bridge's Temporal client. @default clientDataConverter(keys): the payload codec */
  clientDataConverter?: DataConverter;
  /** What seals and signs the answers the bridge forwards. @default the key store */
  bridgeKeys?: (keys: KeyStore) => BridgeOptions['keys'];
}

export interface EngineWiring extends EngineVariant {
  /** The validated settings: production reads them from the environment (readEngineEnv), the embedded engine from its options. */
  settings: EngineEnv;
  /** @default JSON lines at settings.LOG_LEVEL */
  logger?: EngineLogger;
  /**
   * The engine's NATS connection for a role; the engine closes what it returns when it stops.
   * @default one connection from the settings (NATS_URL, NATS_NKEY_SEED_FILE, NATS_TLS_CA_FILE), shared by the roles
   */
  connectNats?: (role: EngineRole) => Promise<NatsConnection>;
  /** @default readMasterKeyring(settings): LOS_MASTER_KEY or LOS_MASTER_KEY_FILE */
  keyring?: MasterKeyring;
  /** @default loadCatalogueFile(settings.LOS_CATALOGUE) */
  catalogue?: MandateCatalogue;
  /** @default the bundle in dist/, which must be current (workers/workflowBundle.ts) */
  workflowBundle?: OperationWorkerOptions['workflowBundle'];
  /**
   * Wait for nats-server and Temporal while they are not there yet, as a supervised process must (they may be
   * restarting too); a failure of configuration still ends the wait at once. Otherwise the first failure throws.
   * @default false
   */
  waitForServers?: boolean;
  /** How soon a delivery nobody acknowledged is tried again, and how often: the tests shorten it. @default ensureTopology's */
  redelivery?: Pick<TopologyOptions, 'ackWaitMs' | 'maxDeliver'>;
  /** Pause before the bridge retries an answer that failed for a passing reason. @default the bridge's (2 s) */
  bridgeRetryDelayMs?: number;
  /** Every dead letter, from the bridge and from delivery advisories alike, beside its log line. */
  onDeadLetter?: (reason: string, subject: string) => void;
  /** The key of the pseudonymous entity reference the API computes. @default LOS_ENTITY_KEY / LOS_ENTITY_KEY_FILE */
  entityKey?: string;
  /** How often acknowledged events and settled answers are erased from LOS_OUT and LOS_IN; 0 never. @default 60 s */
  streamEraseIntervalMs?: number;
}

/** The composed engine: the parts of the roles it was asked for, and one stop for all of them. */
export interface Engine {
  settings: EngineEnv;
  logger: EngineLogger;
  catalogue: MandateCatalogue;
  /** The connection of the first role: the topology and the key store go through it. */
  nc: NatsConnection;
  keys: KeyStore;
  worker?: {
    worker: Worker;
    /** Settles once the worker has stopped: after stop(), or at once on a fatal error (it then rejects). */
    running: Promise<void>;
  };
  bridge?: {
    bridge: Bridge;
    /** The bridge's Temporal client, with the engine's data converter. */
    client: Client;
  };
  codec?: CodecServer;
  /** The HTTP API (its url is where it listens; people reach it at LOS_API_PUBLIC_URL). */
  api?: ApiServer;
  /** Stops every role (the worker lets in-flight activities finish within SHUTDOWN_GRACE_SECONDS) and closes every connection. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** The JetStream topology the settings describe, for the catalogue's agencies. */
export function engineTopology(settings: EngineEnv, catalogue: MandateCatalogue, redelivery: EngineWiring['redelivery'] = {}): TopologyOptions {
  return {
    agencies: catalogue.agencies.map((agency) => agency.id),
    retention: {
      outMaxAgeMs: settings.LOS_RETENTION_OUT_DAYS * DAY_MS,
      inMaxAgeMs: settings.LOS_RETENTION_IN_DAYS * DAY_MS,
      deadLetterMaxAgeMs: settings.LOS_RETENTION_DEAD_LETTER_DAYS * DAY_MS,
      maxBytesPerStream: settings.LOS_STREAM_MAX_MIB * 1024 * 1024,
    },
    replicas: settings.LOS_STREAM_REPLICAS,
    inboundQuota: settings.LOS_INBOUND_QUOTA,
    ...(redelivery.ackWaitMs !== undefined ? { ackWaitMs: redelivery.ackWaitMs } : {}),
    ...(redelivery.maxDeliver !== undefined ? { maxDeliver: redelivery.maxDeliver } : {}),
  };
}

/** Builds and starts the parts of the given roles. On a failure part-way, what had started is stopped again. */
export async function composeEngine(wiring: EngineWiring, roles: readonly EngineRole[]): Promise<Engine> {
  if (roles.length === 0) throw new Error('composeEngine: name at least one role');
  const { settings } = wiring;
  const logger = wiring.logger ?? createLogger({ level: settings.LOG_LEVEL, name: `los-${roles.join('-')}` });
  const ready = <T>(what: string, attempt: () => Promise<T>, permanent?: (err: Error) => boolean): Promise<T> =>
    wiring.waitForServers ? untilReady(what, attempt, logger, permanent ? { permanent } : {}) : attempt();
  const catalogue = wiring.catalogue ?? loadCatalogueFile(settings.LOS_CATALOGUE);
  // Read before any server is waited for: a missing key is a setup error, not a server that is still starting.
  const keyring = wiring.keyring ?? readMasterKeyring({ LOS_MASTER_KEY: settings.LOS_MASTER_KEY, LOS_MASTER_KEY_FILE: settings.LOS_MASTER_KEY_FILE });
  const connectNats = wiring.connectNats ?? sharedConnection(settings);
  // The API's sign-in settings and the entity key are setup too: a missing one ends the start at once.
  // The codec server lets in whom the API lets in: the same provider, audience, claims and sessions. In one process
  // they share one identity, so a cookie secret made for the API (none configured) is the codec server's too.
  const identity = roles.includes('api') || roles.includes('codec') ? identitySettings(settings, roles.includes('api') ? 'api' : 'codec server') : undefined;
  const apiConfig = roles.includes('api') ? { ...apiSettings(settings, identity), entityKey: wiring.entityKey ?? requireEntityKey() } : undefined;
  // Temporal over TLS and with this process's own token when configured (the cluster's server checks both).
  const temporal = temporalAccess(settings);
  let temporalTokens: Promise<TemporalTokens | undefined> | undefined;
  const tokensForTemporal = () =>
    (temporalTokens ??= temporal.credentials
      ? ready(
          'a token for Temporal',
          () => TemporalTokens.start(temporal.credentials!, logger),
          (err) => err instanceof SetupError,
        ).then((tokens) => {
          stops.push(() => tokens.stop());
          return tokens;
        })
      : Promise.resolve(undefined));

  // Undone in reverse on stop(), or when a later part fails to start.
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  const natsByRole = new Map<EngineRole, NatsConnection>();
  const natsFor = async (role: EngineRole) => {
    const nc = await connectNats(role);
    if (![...natsByRole.values()].includes(nc)) stops.push(() => closeNats(nc));
    natsByRole.set(role, nc);
    return nc;
  };
  const onDeadLetter = (what: string) => (reason: string, subject: string) => {
    // The reason can quote agency input, so only the subject is logged; the reason is in the dead letter.
    logger.warn({ subject }, `${what} dead-lettered`);
    wiring.onDeadLetter?.(reason, subject);
  };

  try {
    const nc = await natsFor(roles[0]!);
    await ready(
      'JetStream topology',
      async () => ensureTopology(await jetstreamManager(nc), engineTopology(settings, catalogue, wiring.redelivery)),
      misconfigured.nats,
    );
    // The data keys live in the engine's own key-value bucket; the master key that wraps them never does.
    const keys = await ready('key store', () => KeyStore.open({ nc, keyring, replicas: settings.LOS_STREAM_REPLICAS }), misconfigured.nats);
    // A key store restored from a backup: the erasures made since were done again before anything read a key.
    if (keys.reappliedAtOpen > 0)
      logger.warn({ reapplied: keys.reappliedAtOpen }, 'key store had erased keys back (restored from a backup?); erased them again');
    const engine: Engine = { settings, logger, catalogue, nc, keys, stop: stopAll };

    if (roles.includes('worker')) {
      const workerNc = natsByRole.get('worker') ?? (await natsFor('worker'));
      const tokens = await tokensForTemporal();
      const { connection, close } = await ready('Temporal', () => connectTemporalNative(temporal, tokens), misconfigured.temporal);
      stops.push(close);
      const audit = await ready('access log', () => AuditLog.open(workerNc, { replicas: settings.LOS_STREAM_REPLICAS }), misconfigured.nats);
      const worker = await ready(
        'Temporal worker',
        () =>
          createOperationWorker({
            connection,
            nc: workerNc,
            keys,
            audit,
            namespace: settings.TEMPORAL_NAMESPACE,
            ...(settings.TEMPORAL_TASK_QUEUE ? { taskQueue: settings.TEMPORAL_TASK_QUEUE } : {}),
            ...(wiring.workflowBundle ? { workflowBundle: wiring.workflowBundle } : {}),
            shutdownGraceTime: `${settings.SHUTDOWN_GRACE_SECONDS}s`,
            maxCachedWorkflows: settings.MAX_CACHED_WORKFLOWS,
            ...(wiring.workerDataConverter ? { dataConverter: wiring.workerDataConverter } : {}),
          }),
        misconfigured.temporal,
      );
      const running = worker.run();
      stops.push(async () => {
        // Stops polling and lets in-flight activities run on for the grace time.
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
      });
      engine.worker = { worker, running };
      // Erasure must not depend on one workflow surviving: the reconciliation's schedule, kept by every worker.
      const reconcileEveryMs = settings.LOS_ERASURE_RECONCILE_SECONDS * 1000;
      if (reconcileEveryMs > 0) {
        const clientConnection = await ready('Temporal', () => connectTemporalClient(temporal, tokens), misconfigured.temporal);
        stops.push(() => clientConnection.close());
        const client = new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(keys) });
        stops.push(await keepErasureReconciliation({ client, taskQueue: worker.options.taskQueue, intervalMs: reconcileEveryMs, logger }));
      }
    }

    if (roles.includes('bridge')) {
      const bridgeNc = natsByRole.get('bridge') ?? (await natsFor('bridge'));
      const tokens = await tokensForTemporal();
      const connection = await ready('Temporal', () => connectTemporalClient(temporal, tokens), misconfigured.temporal);
      stops.push(() => connection.close());
      const client = new Client({
        connection,
        namespace: settings.TEMPORAL_NAMESPACE,
        dataConverter: wiring.clientDataConverter ?? clientDataConverter(keys),
      });
      const bridge = await startBridge({
        nc: bridgeNc,
        client,
        keys: wiring.bridgeKeys?.(keys) ?? keys,
        batchWindowMs: settings.LOS_BRIDGE_BATCH_WINDOW_MS,
        ...(wiring.bridgeRetryDelayMs !== undefined ? { retryDelayMs: wiring.bridgeRetryDelayMs } : {}),
        onNotApplied: (reason, subject) => logger.info({ subject, reason }, 'answer not applied; agency told'),
        onApplied: (answer, receipt) =>
          logger.info({ operationId: answer.data.correlation.operationId, agency: answer.agency, event: answer.name, outcome: receipt }, 'answer applied'),
        onDeadLetter: onDeadLetter('answer'),
      });
      stops.push(() => bridge.stop());
      const watcher = await startDeadLetterWatcher({ nc: bridgeNc, onDeadLetter: onDeadLetter('delivery') });
      stops.push(() => watcher.stop());
      // Events an agency acknowledged and answers the bridge settled are overwritten on disk, not left in the streams.
      const eraseEveryMs = wiring.streamEraseIntervalMs ?? settings.LOS_STREAM_ERASE_SECONDS * 1000;
      if (eraseEveryMs > 0) {
        const eraser = await startStreamEraser({
          nc: bridgeNc,
          intervalMs: eraseEveryMs,
          onError: (err) => logger.warn({ err: err.message }, 'erasing acknowledged messages failed; tried again at the next sweep'),
        });
        stops.push(() => eraser.stop());
      }
      if (settings.HEALTH_BIND_ADDRESS)
        stops.push(await serveBridgeHealth(settings.HEALTH_BIND_ADDRESS, bridgeNc, settings.HEALTH_BACKLOG_WINDOW_SECONDS * 1000, bridge));
      engine.bridge = { bridge, client };
    }

    if (roles.includes('codec') && identity) {
      // The codec server for the Temporal UI and CLI: decodes only for entitled readers, every attempt logged.
      const codecNc = natsByRole.get('codec') ?? (await natsFor('codec'));
      const replicas = settings.LOS_STREAM_REPLICAS;
      if (!identity.cookieSecretShared && !roles.includes('api'))
        logger.warn(
          'LOS_API_SESSION_SECRET is not set: the codec server cannot check the API’s session cookies, so browsers cannot use it; bearer tokens still work',
        );
      const [host, port] = (settings.CODEC_BIND_ADDRESS ?? '127.0.0.1:8234').split(':') as [string, string];
      const codec = await startCodecServer({
        keys,
        audit: await ready('access log', () => AuditLog.open(codecNc, { replicas }), misconfigured.nats),
        identity: {
          // The API's tokens (`los token`, the CLI) and the Temporal UI's own, which are for Temporal's audience and name the person.
          verifier: bearerVerifier({ issuer: identity.issuer, audience: [identity.audience, settings.LOS_TEMPORAL_AUDIENCE], claims: identity.claims }),
          sessions: await ready('session store', () => SessionStore.open(codecNc, { ttlMs: identity.sessionTtlMs, replicas }), misconfigured.nats),
          unsign: cookieUnsigner(identity.cookieSecret),
        },
        logger: logger.child({ server: 'codec' }),
        host,
        port: Number(port),
        ...(settings.LOS_UI_ORIGIN ? { uiOrigin: settings.LOS_UI_ORIGIN } : {}),
        ...(settings.CODEC_TLS_CERT_FILE && settings.CODEC_TLS_KEY_FILE
          ? { tls: { certFile: settings.CODEC_TLS_CERT_FILE, keyFile: settings.CODEC_TLS_KEY_FILE } }
          : {}),
      });
      stops.push(() => codec.close());
      engine.codec = codec;
    }
    if (apiConfig) {
      // The one door for people: it seals and unseals, so the master key, the key store and Temporal stay inside.
      const { entityKey, ...api } = apiConfig;
      const apiNc = natsByRole.get('api') ?? (await natsFor('api'));
      const tokens = await tokensForTemporal();
      const connection = await ready('Temporal', () => connectTemporalClient(temporal, tokens), misconfigured.temporal);
      stops.push(() => connection.close());
      const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE, dataConverter: wiring.clientDataConverter ?? clientDataConverter(keys) });
      const replicas = settings.LOS_STREAM_REPLICAS;
      const sessions = await ready('session store', () => SessionStore.open(apiNc, { ttlMs: api.sessionTtlMs, replicas }), misconfigured.nats);
      const audit = await ready('access log', () => AuditLog.open(apiNc, { replicas }), misconfigured.nats);
      if (!api.cookieSecretShared)
        logger.warn(
          'LOS_API_SESSION_SECRET is not set: this process signs its cookies with a key of its own, so its sessions end when it stops and no other API process accepts them',
        );
      const server = await startApiServer({
        host: api.host,
        port: api.port,
        publicUrl: api.publicUrl,
        issuer: api.issuer,
        audience: api.audience,
        cliClientId: api.cliClientId,
        // Temporal checks tokens (this process has a client for it): people can get one too, through `los`.
        ...(settings.LOS_TEMPORAL_TOKEN_CLIENT_ID ? { temporalAudience: settings.LOS_TEMPORAL_AUDIENCE } : {}),
        cookieSecret: api.cookieSecret,
        sessionTtlMs: api.sessionTtlMs,
        logger: logger.child({ role: 'api' }),
        services: {
          client,
          keys,
          signer: await keys.apiSigningKey(),
          audit,
          sessions,
          verifier: bearerVerifier({ issuer: api.issuer, audience: api.audience, claims: api.claims }),
          relyingParty: new RelyingParty({
            issuer: api.issuer,
            clientId: api.clientId,
            clientSecret: api.clientSecret,
            redirectUri: `${api.publicUrl}/auth/callback`,
            audience: api.audience,
            scopes: api.scopes,
          }),
          catalogue,
          entityKey,
          ...(settings.TEMPORAL_TASK_QUEUE ? { taskQueue: settings.TEMPORAL_TASK_QUEUE } : {}),
        },
      });
      stops.push(() => server.close());
      engine.api = server;
    }
    return engine;
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** One connection for every role of the process, as the settings name it; it waits for nats-server and never stops reconnecting. */
function sharedConnection(settings: EngineEnv): (role: EngineRole) => Promise<NatsConnection> {
  let shared: Promise<NatsConnection> | undefined;
  return (role) =>
    (shared ??= connectEngineNats({
      servers: settings.NATS_URL.split(','),
      name: `los-${role}`,
      ...(settings.NATS_NKEY_SEED_FILE ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readSeedFile(settings.NATS_NKEY_SEED_FILE))) } : {}),
      ...(settings.NATS_TLS_CA_FILE ? { tls: { caFile: settings.NATS_TLS_CA_FILE } } : {}),
    }));
}

/**
 * `GET /healthz`: unhealthy while nats-server is out of reach (the bridge keeps reconnecting) or while the backlog
 * of answers keeps growing, so an orchestrator can see both. Returns what stops it.
 */
async function serveBridgeHealth(bindAddress: string, nc: NatsConnection, windowMs: number, bridge: Pick<Bridge, 'heldByAgency'>): Promise<() => void> {
  const natsConnected = trackNatsConnection(nc);
  const backlog = new BacklogMonitor(windowMs);
  const byAgency = new AgencyBacklogs(windowMs);
  const jsm = await jetstreamManager(nc);
  const sampling = setInterval(
    () => {
      byAgency.record(Date.now(), bridge.heldByAgency());
      jsm.consumers
        .info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer)
        .then((info) => backlog.record({ atMs: Date.now(), backlog: info.num_pending + info.num_ack_pending }))
        .catch(() => undefined);
    },
    Math.max(200, windowMs / 12),
  );
  const [host, port] = bindAddress.split(':') as [string, string];
  const server: Server = createServer((req, res) => {
    if (req.url !== '/healthz') return void res.writeHead(404).end();
    const now = { ...backlog.report(natsConnected()), agencies: byAgency.report() };
    res.writeHead(now.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(now)}\n`);
  }).listen(Number(port), host);
  return () => {
    clearInterval(sampling);
    server.close();
  };
}

/** Drains the connection when nats-server is there to drain to, and closes it regardless after a few seconds. */
async function closeNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const drained = (async () => nc.drain())().catch(() => undefined);
  await Promise.race([drained, new Promise<void>((resolveLater) => (timer = setTimeout(resolveLater, 5_000)))]);
  clearTimeout(timer);
  if (!nc.isClosed()) await (async () => nc.close())().catch(() => undefined);
}
