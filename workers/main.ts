/**
 * The engine's process entry point: `tsx workers/main.ts worker|bridge`. Configuration comes from the
 * environment and is validated at start. SIGTERM/SIGINT drain: the worker stops polling and lets in-flight
 * activities finish; the bridge stops taking messages and finishes (and acknowledges) the ones it holds.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '../domain/index.js';
import type { JWK } from 'jose';
import { tokenVerifier } from './access.js';
import { AuditLog } from './audit.js';
import { startCodecServer } from './codecServer.js';
import { Client, Connection } from '@temporalio/client';
import { makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { loadCatalogueFile } from '../coordinator/index.js';
import { startBridge, type BridgeOptions } from './bridge.js';
import { readEngineEnv } from './config.js';
import { startDeadLetterWatcher } from './deadLetters.js';
import { BacklogMonitor, type HealthReport } from './health.js';
import { readSeedFile } from './natsAuth.js';
import { ensureTopology } from './jetstream.js';
import { createLogger, temporalLogger } from './logger.js';
import { connectEngineNats, misconfigured, trackNatsConnection, untilReady } from './startup.js';
import { createOperationWorker } from './worker.js';
import { builtWorkflowBundle } from './workflowBundle.js';
import { clientDataConverter } from './codec.js';
import { KeyStore, readMasterKeyring } from './keys.js';
import { unsupportedNode } from './nodeVersion.js';

/**
 * What the benchmark swaps to measure the engine without encryption (bench/plaintext.ts), in a process of the
 * engine's otherwise: every deployment runs with the defaults.
 */
export interface EngineProcessOptions {
  /** The worker's data converter. @default engineDataConverter(keys): the payload codec */
  workerDataConverter?: DataConverter;
  /** The data converter of the bridge's Temporal client. @default clientDataConverter(keys): the payload codec */
  clientDataConverter?: DataConverter;
  /** What seals and signs the answers the bridge forwards. @default the key store */
  bridgeKeys?: (keys: KeyStore) => BridgeOptions['keys'];
}

/** Runs one of the engine's processes (`worker`, `bridge` or `codec`) until SIGTERM or SIGINT. */
export async function runEngineProcess(role: string | undefined, options: EngineProcessOptions = {}): Promise<void> {
  const unsupported = unsupportedNode();
  if (unsupported) {
    console.error(unsupported);
    process.exit(1);
  }
  if (role !== 'worker' && role !== 'bridge' && role !== 'codec') {
    console.error('usage: tsx workers/main.ts worker|bridge|codec');
    process.exit(1);
  }
  const config = readEngineEnv(process.env);
  if (!config.ok) {
    console.error(config.error);
    process.exit(1);
  }
  const env = config.value;
  // Built ahead of time (`npm run build:workflows`), so webpack never runs in the worker; a missing or stale
  // bundle ends it at once, naming the file that changed, before it waits for any server.
  const workflowBundle = role === 'worker' ? builtWorkflowBundle() : undefined;
  const logger = createLogger({ level: env.LOG_LEVEL, name: `los-${role}` });
  const graceMs = env.SHUTDOWN_GRACE_SECONDS * 1000;
  // SIGTERM always ends the process within the grace period, whatever state NATS or Temporal is in: before the
  // process has started there is nothing to drain, and after, a watchdog ends a drain that cannot finish.
  let started = false;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolveStop) => (requestStop = resolveStop));
  const onSignal = (signal: NodeJS.Signals) => {
    if (!started) {
      logger.info({ signal }, `${role} stopped before it started`);
      process.exit(0);
    }
    logger.info({ signal, graceSeconds: env.SHUTDOWN_GRACE_SECONDS }, `${role} draining`);
    setTimeout(() => {
      logger.warn({ graceSeconds: env.SHUTDOWN_GRACE_SECONDS }, `${role} could not drain within the grace period; exiting`);
      process.exit(1);
    }, graceMs + 5_000).unref();
    requestStop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  logger.info(`${role} starting`);
  const catalogue = loadCatalogueFile(env.LOS_CATALOGUE);
  // nats-server or Temporal may be down or restarting while this process starts: wait for them, do not exit.
  const nc = await connectEngineNats({
    servers: env.NATS_URL.split(','),
    name: `los-${role}`,
    ...(env.NATS_NKEY_SEED_FILE ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readSeedFile(env.NATS_NKEY_SEED_FILE))) } : {}),
    ...(env.NATS_TLS_CA_FILE ? { tls: { caFile: env.NATS_TLS_CA_FILE } } : {}),
  });
  const DAY_MS = 86_400_000;
  const retention = {
    outMaxAgeMs: env.LOS_RETENTION_OUT_DAYS * DAY_MS,
    inMaxAgeMs: env.LOS_RETENTION_IN_DAYS * DAY_MS,
    deadLetterMaxAgeMs: env.LOS_RETENTION_DEAD_LETTER_DAYS * DAY_MS,
    maxBytesPerStream: env.LOS_STREAM_MAX_MIB * 1024 * 1024,
  };
  await untilReady(
    'JetStream topology',
    async () => ensureTopology(await jetstreamManager(nc), { agencies: catalogue.agencies.map((a) => a.id), retention, replicas: env.LOS_STREAM_REPLICAS }),
    logger,
    { permanent: misconfigured.nats },
  );
  // The master key comes from the environment or a file, never from the repository; the data keys it wraps
  // live in the engine's own key-value bucket.
  const keyring = readMasterKeyring(process.env);
  const keys = await untilReady('key store', () => KeyStore.open({ nc, keyring, replicas: env.LOS_STREAM_REPLICAS }), logger, {
    permanent: misconfigured.nats,
  });

  if (role === 'codec') {
    // The codec server for the Temporal UI and CLI: decodes only for entitled readers, every attempt logged.
    const jwkText = env.LOS_TOKEN_ISSUER_JWK ?? (env.LOS_TOKEN_ISSUER_JWK_FILE ? readFileSync(env.LOS_TOKEN_ISSUER_JWK_FILE, 'utf8') : undefined);
    if (!jwkText) throw new Error('codec server: set LOS_TOKEN_ISSUER_JWK or LOS_TOKEN_ISSUER_JWK_FILE (the token issuer public key)');
    const [host, port] = (env.CODEC_BIND_ADDRESS ?? '127.0.0.1:8234').split(':') as [string, string];
    const server = await startCodecServer({
      keys,
      audit: await AuditLog.open(nc, { replicas: env.LOS_STREAM_REPLICAS }),
      verifier: await tokenVerifier(JSON.parse(jwkText) as JWK),
      host,
      port: Number(port),
      ...(env.LOS_UI_ORIGIN ? { uiOrigin: env.LOS_UI_ORIGIN } : {}),
    });
    logger.info({ url: server.url, uiOrigin: env.LOS_UI_ORIGIN ?? null }, 'codec server started');
    started = true;
    await stopRequested;
    await server.close();
    await closeNats(nc);
    logger.info('codec stopped');
    return;
  }

  if (role === 'worker') {
    // Only the worker has a native runtime; installed in the bridge, its log forwarding would keep the
    // process alive after the bridge has stopped.
    Runtime.install({
      // The signals are this process's to handle (above); the worker is shut down from there.
      shutdownSignals: [],
      logger: temporalLogger(logger, env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO'),
      telemetryOptions: {
        // The SDK core's own warnings go through the same JSON logger, not to stderr as ANSI text.
        logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
        ...(env.METRICS_BIND_ADDRESS ? { metrics: { prometheus: { bindAddress: env.METRICS_BIND_ADDRESS } } } : {}),
      },
    });
    const connection = await untilReady('Temporal', () => NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }), logger);
    // The Temporal runtime handles SIGTERM/SIGINT itself: it stops polling and waits for in-flight tasks.
    const worker = await untilReady(
      'Temporal worker',
      () =>
        createOperationWorker({
          connection,
          nc,
          keys,
          workflowBundle,
          namespace: env.TEMPORAL_NAMESPACE,
          ...(env.TEMPORAL_TASK_QUEUE ? { taskQueue: env.TEMPORAL_TASK_QUEUE } : {}),
          shutdownGraceTime: `${env.SHUTDOWN_GRACE_SECONDS}s`,
          maxCachedWorkflows: env.MAX_CACHED_WORKFLOWS,
          ...(options.workerDataConverter ? { dataConverter: options.workerDataConverter } : {}),
        }),
      logger,
      { permanent: misconfigured.temporal },
    );
    logger.info({ taskQueue: worker.options.taskQueue, metrics: env.METRICS_BIND_ADDRESS ?? null }, 'worker started');
    started = true;
    // Stops polling and lets in-flight activities run on for the grace time.
    void stopRequested.then(() => worker.shutdown());
    await worker.run();
    await closeNats(nc);
    await connection.close();
    logger.info('worker stopped');
    exitSoon();
    return;
  }

  const connection = await untilReady('Temporal', () => Connection.connect({ address: env.TEMPORAL_ADDRESS }), logger);
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: options.clientDataConverter ?? clientDataConverter(keys) });
  const bridge = await startBridge({
    nc,
    client,
    keys: options.bridgeKeys?.(keys) ?? keys,
    batchWindowMs: env.LOS_BRIDGE_BATCH_WINDOW_MS,
    onNotApplied: (reason, subject) => logger.info({ subject, reason }, 'answer not applied; agency told'),
    onApplied: (answer, receipt) =>
      logger.info({ operationId: answer.data.correlation.operationId, agency: answer.agency, event: answer.name, outcome: receipt }, 'answer applied'),
    // The reason can quote agency input, so only the subject is logged; the reason is in the dead letter.
    onDeadLetter: (_reason, subject) => logger.warn({ subject }, 'answer dead-lettered'),
  });
  const watcher = await startDeadLetterWatcher({ nc, onDeadLetter: (_reason, subject) => logger.warn({ subject }, 'delivery dead-lettered') });
  // Unhealthy while nats-server is out of reach (the bridge keeps reconnecting) or while the backlog of
  // answers keeps growing: an orchestrator can see both.
  const natsConnected = trackNatsConnection(nc);
  const backlog = new BacklogMonitor(env.HEALTH_BACKLOG_WINDOW_SECONDS * 1000);
  const jsm = await jetstreamManager(nc);
  const sampling = setInterval(
    () => {
      jsm.consumers
        .info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer)
        .then((info) => backlog.record({ atMs: Date.now(), backlog: info.num_pending + info.num_ack_pending }))
        .catch(() => undefined);
    },
    Math.max(200, (env.HEALTH_BACKLOG_WINDOW_SECONDS * 1000) / 12),
  );
  const health = env.HEALTH_BIND_ADDRESS ? serveHealth(env.HEALTH_BIND_ADDRESS, () => backlog.report(natsConnected())) : undefined;
  logger.info('bridge started');
  started = true;
  await stopRequested;
  clearInterval(sampling);
  await bridge.stop();
  await watcher.stop();
  health?.close();
  await closeNats(nc);
  await connection.close();
  logger.info('bridge stopped');
  exitSoon();
}

/** Everything is drained: a handle left open (a reconnect timer, a socket) must not keep the process alive. */
function exitSoon() {
  setTimeout(() => process.exit(0), 1_000).unref();
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

function serveHealth(bindAddress: string, report: () => HealthReport) {
  const [host, port] = bindAddress.split(':') as [string, string];
  return createServer((req, res) => {
    if (req.url !== '/healthz') return void res.writeHead(404).end();
    const now = report();
    res.writeHead(now.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(now)}\n`);
  }).listen(Number(port), host);
}

/** Run as a process; imported (bench/plaintext-engine.ts), this module starts nothing by itself. */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  runEngineProcess(process.argv[2]).catch((err) => {
    console.error(`los ${process.argv[2] ?? ''} failed: ${(err as Error).message}`);
    process.exit(2);
  });
}
