/**
 * The engine's process entry point: `tsx workers/main.ts worker|bridge`. Configuration comes from the
 * environment and is validated at start. SIGTERM/SIGINT drain: the worker stops polling and lets in-flight
 * activities finish; the bridge stops taking messages and finishes (and acknowledges) the ones it holds.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { JWK } from 'jose';
import { tokenVerifier } from './access.js';
import { AuditLog } from './audit.js';
import { startCodecServer } from './codecServer.js';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime } from '@temporalio/worker';
import { loadCatalogueFile } from '../coordinator/index.js';
import { startBridge } from './bridge.js';
import { readEngineEnv } from './config.js';
import { startDeadLetterWatcher } from './deadLetters.js';
import { ensureTopology } from './jetstream.js';
import { createLogger, temporalLogger } from './logger.js';
import { connectEngineNats, misconfigured, trackNatsConnection, untilReady } from './startup.js';
import { createOperationWorker, WORKFLOWS_PATH } from './worker.js';
import { FAILURE_CONVERTER_PATH, clientDataConverter } from './codec.js';
import { openKeyStore, readMasterKeyring } from './keys.js';

async function main() {
  const role = process.argv[2];
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
  const logger = createLogger({ level: env.LOG_LEVEL, name: `los-${role}` });
  Runtime.install({
    logger: temporalLogger(logger, env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO'),
    ...(env.METRICS_BIND_ADDRESS ? { telemetryOptions: { metrics: { prometheus: { bindAddress: env.METRICS_BIND_ADDRESS } } } } : {}),
  });
  const catalogue = loadCatalogueFile(env.LOS_CATALOGUE);
  // nats-server or Temporal may be down or restarting while this process starts: wait for them, do not exit.
  const nc = await connectEngineNats({
    servers: env.NATS_URL,
    name: `los-${role}`,
    ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD ?? '' } : {}),
  });
  // The master key comes from the environment or a file, never from the repository.
  const keyring = readMasterKeyring(process.env);
  const keyStore = await untilReady('key store', () => openKeyStore({ servers: env.NATS_URL, keyring, name: `los-${role}-keys`, ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD ?? '' } : {}) }), logger, { permanent: misconfigured.nats });
  const keys = keyStore.keys;
  await untilReady('JetStream topology', async () => ensureTopology(await nc.jetstreamManager(), { agencies: catalogue.agencies.map((a) => a.id) }), logger, { permanent: misconfigured.nats });

  if (role === 'codec') {
    // The codec server for the Temporal UI and CLI: decodes only for entitled readers, every attempt logged.
    const jwkText = env.LOS_TOKEN_ISSUER_JWK ?? (env.LOS_TOKEN_ISSUER_JWK_FILE ? readFileSync(env.LOS_TOKEN_ISSUER_JWK_FILE, 'utf8') : undefined);
    if (!jwkText) throw new Error('codec server: set LOS_TOKEN_ISSUER_JWK or LOS_TOKEN_ISSUER_JWK_FILE (the token issuer public key)');
    const [host, port] = (env.CODEC_BIND_ADDRESS ?? '127.0.0.1:8234').split(':') as [string, string];
    const server = await startCodecServer({
      keys,
      audit: await AuditLog.open(keyStore.nc),
      verifier: await tokenVerifier(JSON.parse(jwkText) as JWK),
      host,
      port: Number(port),
      ...(env.LOS_UI_ORIGIN ? { uiOrigin: env.LOS_UI_ORIGIN } : {}),
    });
    logger.info({ url: server.url, uiOrigin: env.LOS_UI_ORIGIN ?? null }, 'codec server started');
    await new Promise<void>((resolveStop) => {
      process.once('SIGTERM', () => resolveStop());
      process.once('SIGINT', () => resolveStop());
    });
    await server.close();
    await keyStore.close();
    await nc.drain();
    return;
  }

  if (role === 'worker') {
    // Bundled once, so that waiting for Temporal below does not bundle again on every try.
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: Runtime.instance().logger });
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
        }),
      logger,
      { permanent: misconfigured.temporal },
    );
    logger.info({ taskQueue: worker.options.taskQueue, metrics: env.METRICS_BIND_ADDRESS ?? null }, 'worker started');
    await worker.run();
    await nc.drain();
    await keyStore.close();
    await connection.close();
    logger.info('worker stopped');
    return;
  }

  const connection = await untilReady('Temporal', () => Connection.connect({ address: env.TEMPORAL_ADDRESS }), logger);
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(keys) });
  const bridge = await startBridge({
    nc,
    client,
    keys,
    onApplied: (answer, receipt) => logger.info({ operationId: answer.data.correlation.operationId, agency: answer.agency, event: answer.name, outcome: receipt.outcome }, 'answer applied'),
    // The reason can quote agency input, so only the subject is logged; the reason is in the dead letter.
    onDeadLetter: (_reason, subject) => logger.warn({ subject }, 'answer dead-lettered'),
  });
  const watcher = await startDeadLetterWatcher({ nc, onDeadLetter: (_reason, subject) => logger.warn({ subject }, 'delivery dead-lettered') });
  // Unhealthy while nats-server is out of reach: the bridge keeps reconnecting, and an orchestrator can see it.
  const natsConnected = trackNatsConnection(nc);
  const health = env.HEALTH_BIND_ADDRESS ? serveHealth(env.HEALTH_BIND_ADDRESS, natsConnected) : undefined;
  logger.info('bridge started');
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', () => resolveStop());
    process.once('SIGINT', () => resolveStop());
  });
  logger.info('bridge draining');
  await bridge.stop();
  await watcher.stop();
  health?.close();
  await nc.drain();
  await keyStore.close();
  await connection.close();
  logger.info('bridge stopped');
}

function serveHealth(bindAddress: string, healthy: () => boolean) {
  const [host, port] = bindAddress.split(':') as [string, string];
  return createServer((req, res) => {
    const ok = req.url === '/healthz' && healthy();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
  }).listen(Number(port), host);
}

main().catch((err) => {
  console.error(`los ${process.argv[2] ?? ''} failed: ${(err as Error).message}`);
  process.exit(2);
});
