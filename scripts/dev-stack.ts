import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import Long from 'long';
import { parseDuration } from '../domain/durations.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { freshSeeds, natsAccountsConfig, publicKeys, type EngineIdentity, type NatsSeeds } from '../messaging/index.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/definitions.js';
import { natsServerBinary } from './nats-server-binary.js';
import { ensureTemporalCli } from './temporal-cli.js';

/**
 * The embedded stack: the Temporal CLI's dev server (SQLite and the Web UI) and a nats-server with
 * JetStream, each on a loopback port, each stopped cleanly.
 */

export interface RunningProcess {
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface TemporalDevServer extends RunningProcess {
  address: string;
  uiUrl?: string;
  namespace: string;
}

export interface NatsServer extends RunningProcess {
  url: string;
}

export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  if (preferred !== undefined) {
    const port = await tryPort(preferred);
    if (port !== undefined) return port;
  }
  const port = await tryPort(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

/** Stops a child with SIGTERM, and SIGKILL if it has not exited after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise<void>((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    if (!child.kill('SIGTERM')) {
      clearTimeout(timer);
      resolveStop();
    }
  });
}

/**
 * The last error a server wrote to its log before it exited, so the message says why even when the log is gone
 * (a test's scratch directory is removed after the run). Servers that log JSON lines give their `msg` and `error`.
 */
function lastLogError(logFile: string): string {
  let lines: string[];
  try {
    lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  } catch {
    return '';
  }
  // A fatal line says why it stopped; without one, the last error is the best guess.
  const newestFirst = [...lines].reverse();
  const last =
    newestFirst.find((line) => /"level":"(fatal|dpanic|panic)"|\b(FATAL|fatal|panic):/.test(line)) ??
    newestFirst.find((line) => /"level":"error"|\[ERR\]/.test(line));
  if (!last) return '';
  try {
    const entry = JSON.parse(last) as { msg?: string; error?: string };
    return `; it logged: ${[entry.msg, entry.error].filter(Boolean).join(': ')}`;
  } catch {
    return `; it logged: ${last.slice(0, 300)}`;
  }
}

export async function waitFor<T>(what: string, child: ChildProcess, attempt: () => Promise<T>, timeoutMs: number, logFile?: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}${logFile ? `; see ${logFile}${lastLogError(logFile)}` : ''}`);
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what} did not become ready in ${timeoutMs / 1000}s: ${(lastError as Error)?.message}${logFile ? `; see ${logFile}` : ''}`);
}

export interface TemporalDevServerOptions {
  /** SQLite file; the directory is created. */
  dbFile: string;
  port?: number;
  uiPort?: number;
  /** Run without the Web UI (tests). */
  headless?: boolean;
  logFile?: string;
  namespace?: string;
  /** The codec server the Web UI calls to decode payloads (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /**
   * How long closed workflows' histories are kept, e.g. "90 days": set to the operations' retention, so that a
   * history goes when its personal data is erased. At least one day (Temporal's minimum).
   */
  historyRetention?: string;
}

/** Sets a namespace's history retention for closed workflows (Temporal keeps at least one day). */
export async function setHistoryRetention(
  address: string,
  namespace: string,
  retention: string,
  connectionOptions: Partial<ConnectionOptions> = {},
): Promise<number> {
  const ms = parseDuration(retention);
  if (ms === undefined) throw new Error(`history retention "${retention}" is not a duration such as "90 days"`);
  const seconds = Math.max(24 * 3600, Math.ceil(ms / 1000));
  const connection = await Connection.connect({ address, ...connectionOptions });
  try {
    await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(seconds) } } });
  } finally {
    await connection.close();
  }
  return seconds;
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const cli = ensureTemporalCli();
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const namespace = options.namespace ?? 'default';
  const port = await freePort(options.port);
  const uiPort = options.headless ? undefined : await freePort(options.uiPort);
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  if (uiPort !== undefined && options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_FLAGS)) args.push('--search-attribute', `${name}=${type}`);
  const log = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(cli, args, { stdio: ['ignore', log, log] });
  const address = `127.0.0.1:${port}`;
  await waitFor(
    'the Temporal dev server',
    child,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } finally {
        await connection.close();
      }
    },
    60_000,
    options.logFile,
  );
  if (options.historyRetention) await setHistoryRetention(address, namespace, options.historyRetention);
  return {
    process: child,
    address,
    namespace,
    ...(uiPort === undefined ? {} : { uiUrl: `http://localhost:${uiPort}` }),
    stop: () => stopProcess(child),
  };
}

export interface NatsServerOptions {
  storeDir: string;
  port?: number;
  logFile?: string;
  /** Extra arguments, e.g. `-c generated.conf`. */
  args?: string[];
  /** The NKEY seed the readiness probe connects with, when the config file requires authentication. */
  nkeySeed?: string;
  /** A config as `nats-config config` writes it, which says where to listen and store; `url` is where that is. */
  completeConfig?: { path: string; url: string; caFile?: string };
}

export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  mkdirSync(options.storeDir, { recursive: true });
  const port = await freePort(options.port);
  // A complete config file (listen, store_dir, TLS) is given alone: nats-server refuses a store_dir given twice.
  const args = options.completeConfig
    ? ['-c', options.completeConfig.path]
    : ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', options.storeDir, ...(options.args ?? [])];
  const log = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(natsServerBinary(), args, { stdio: ['ignore', log, log] });
  const url = options.completeConfig ? options.completeConfig.url : `nats://127.0.0.1:${port}`;
  await waitFor(
    'nats-server',
    child,
    async () => {
      const nc = await connect({
        servers: url,
        reconnect: false,
        timeout: 1_000,
        ...(options.nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed)) } : {}),
        ...(options.completeConfig?.caFile ? { tls: { caFile: options.completeConfig.caFile } } : {}),
      });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
      } finally {
        await nc.close();
      }
    },
    20_000,
    options.logFile,
  );
  return { process: child, url, stop: () => stopProcess(child) };
}

export interface SecuredNatsServer {
  server: NatsServer;
  seeds: NatsSeeds;
  /** The config file the server runs with (public keys only); a restart on the same port uses it again. */
  configArgs: string[];
  engine(identity: EngineIdentity): { nkeySeed: string };
  agency(agency: string): { nkeySeed: string };
}

/**
 * A nats-server that enforces need to know: one account per agency and the engine's, every identity with a
 * fresh NKEY. The config (public keys only) is written next to the store, never to the repository; the seeds
 * stay in this process.
 */
export async function startSecuredNatsServer(options: NatsServerOptions & { agencies: readonly string[] }): Promise<SecuredNatsServer> {
  const seeds = freshSeeds(options.agencies);
  mkdirSync(options.storeDir, { recursive: true });
  const configPath = join(dirname(options.storeDir), 'nats-accounts.conf');
  writeFileSync(configPath, natsAccountsConfig({ agencies: options.agencies, publicKeys: publicKeys(seeds) }), { mode: 0o600 });
  const configArgs = [...(options.args ?? []), '-c', configPath];
  const server = await startNatsServer({ ...options, args: configArgs, nkeySeed: seeds.engine.worker });
  return {
    server,
    seeds,
    configArgs,
    engine: (identity) => ({ nkeySeed: seeds.engine[identity] }),
    agency: (agency) => {
      const nkeySeed = seeds.agencies[agency];
      if (nkeySeed === undefined) throw new Error(`no NATS account for agency "${agency}"`);
      return { nkeySeed };
    },
  };
}
