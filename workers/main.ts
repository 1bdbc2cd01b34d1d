/**
 * The engine's process entry point: `tsx workers/main.ts worker|bridge`. Configuration comes from the
 * environment and is validated at start. SIGTERM/SIGINT drain: the worker stops polling and lets in-flight
 * activities finish; the bridge stops taking messages and finishes (and acknowledges) the ones it holds.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readEngineEnv, unsupportedNode } from '../config/index.js';
import type { EngineVariant } from './compose.js';
import { createLogger, type EngineLogger } from './logger.js';

/** Runs one of the engine's processes (`worker`, `bridge`, `codec` or `api`) until SIGTERM or SIGINT. */
export async function runEngineProcess(role: string | undefined, variant: EngineVariant = {}): Promise<void> {
  const unsupported = unsupportedNode();
  if (unsupported) {
    console.error(unsupported);
    process.exit(1);
  }
  if (role !== 'worker' && role !== 'bridge' && role !== 'codec' && role !== 'api') {
    console.error('usage: tsx workers/main.ts worker|bridge|codec|api');
    process.exit(1);
  }
  const config = readEngineEnv(process.env);
  if (!config.ok) {
    console.error(config.error);
    process.exit(1);
  }
  const settings = config.value;
  processLogger = createLogger({ level: settings.LOG_LEVEL, name: `los-${role}` });
  // Built ahead of time (`npm run build:workflows`), so webpack never runs in the worker; a missing or stale
  // bundle ends it at once, naming the file that changed, before it waits for any server.
  const workflowBundle = role === 'worker' ? (await import('./workflowBundle.js')).builtWorkflowBundle() : undefined;
  const logger = processLogger;
  const graceMs = settings.SHUTDOWN_GRACE_SECONDS * 1000;
  // SIGTERM always ends the process within the grace period, whatever state NATS or Temporal is in: before the
  // process has started there is nothing to drain, and after, a watchdog ends a drain that cannot finish.
  let started = false;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolveStop) => (requestStop = resolveStop));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C can reach the process twice (from the terminal and from npm): the first one counts.
    if (draining) return;
    draining = true;
    if (!started) {
      logger.info({ signal }, `${role} stopped before it started`);
      process.exit(0);
    }
    logger.info({ signal, graceSeconds: settings.SHUTDOWN_GRACE_SECONDS }, `${role} draining`);
    setTimeout(() => {
      logger.warn({ graceSeconds: settings.SHUTDOWN_GRACE_SECONDS }, `${role} could not drain within the grace period; exiting`);
      process.exit(1);
    }, graceMs + 5_000).unref();
    requestStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.info(`${role} starting`);
  // The engine's parts are loaded only once the settings hold (a refusal above comes at once, not after seconds of
  // imports), and the Temporal worker's native SDK only in the worker.
  const { composeEngine } = await import('./compose.js');
  if (role === 'worker') {
    const [{ makeTelemetryFilterString, Runtime }, { temporalLogger }] = await Promise.all([import('@temporalio/worker'), import('./temporal-log.js')]);
    // Only the worker has a native runtime; installed in the bridge, its log forwarding would keep the
    // process alive after the bridge has stopped.
    Runtime.install({
      // The signals are this process's to handle (above); the worker is shut down from there.
      shutdownSignals: [],
      logger: temporalLogger(logger, settings.LOG_LEVEL === 'debug' || settings.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO'),
      telemetryOptions: {
        // The SDK core's own warnings go through the same JSON logger, not to stderr as ANSI text.
        logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
        ...(settings.METRICS_BIND_ADDRESS ? { metrics: { prometheus: { bindAddress: settings.METRICS_BIND_ADDRESS } } } : {}),
      },
    });
  }
  // nats-server or Temporal may be down or restarting while this process starts: wait for them, do not exit.
  const engine = await composeEngine({ settings, logger, waitForServers: true, ...(workflowBundle ? { workflowBundle } : {}), ...variant }, [role]);
  if (engine.worker) logger.info({ taskQueue: engine.worker.worker.options.taskQueue, metrics: settings.METRICS_BIND_ADDRESS ?? null }, 'worker started');
  if (engine.bridge) logger.info('bridge started');
  if (engine.api) logger.info({ url: engine.api.url, publicUrl: settings.LOS_API_PUBLIC_URL ?? null }, 'api started');
  if (engine.codec) logger.info({ url: engine.codec.url, uiOrigin: settings.LOS_UI_ORIGIN ?? null }, 'codec server started');
  started = true;
  // A worker that fails on its own ends the process too (the supervisor restarts it).
  await Promise.race([stopRequested, engine.worker?.running ?? new Promise<never>(() => undefined)]);
  await engine.stop();
  logger.info(`${role} stopped`);
  // Everything is drained: a handle left open (a reconnect timer, a socket) must not keep the process alive.
  if (role !== 'codec') setTimeout(() => process.exit(0), 1_000).unref();
}

/** This process's log (JSON lines on stdout), once its settings are read: a failure's stack trace goes there. */
let processLogger: EngineLogger | undefined;

/**
 * A failure ends the process with one sentence on stderr, what failed and that the details are in the log; the stack
 * trace goes to the log (stdout, JSON lines), not to the person reading stderr.
 */
function failed(role: string, err: unknown): never {
  const logger = processLogger ?? createLogger({ name: `los-${role}` });
  logger.fatal({ err }, `${role} failed`);
  console.error(`los ${role} failed: ${(err as Error)?.message ?? String(err)} (the stack trace is in this process's log, on stdout)`);
  process.exit(2);
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
  const role = process.argv[2] ?? '';
  // Whatever fails later, outside the start (a timer, a stream): the same one sentence, the trace in the log.
  process.on('uncaughtException', (err) => failed(role, err));
  process.on('unhandledRejection', (err) => failed(role, err));
  runEngineProcess(role).catch((err: unknown) => failed(role, err));
}
