import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import Long from 'long';
import { parseDuration } from '../domain/durations.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { freshSeeds, natsAccountsConfig, publicKeyOf, publicKeys, type EngineIdentity, type NatsSeeds } from '../messaging/index.js';
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

/**
 * The dev server picks its internal services' ports itself; when another process takes one of them between its pick
 * and its bind, it panics at start (temporalio/cli#543, #667; seen once in CI right after the chaos suite). Such an
 * early exit is tried again on fresh ports; a server that starts and then fails to answer is not.
 */
const DEV_SERVER_STARTS = 3;

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalDevServerOnce(options);
    } catch (err) {
      if (!(err instanceof DevServerExited) || attempt >= DEV_SERVER_STARTS) throw err;
      console.warn(`${err.message}; starting it again (${attempt + 1} of ${DEV_SERVER_STARTS})`);
    }
  }
}

class DevServerExited extends Error {}

async function startTemporalDevServerOnce(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
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
  ).catch((err: unknown) => {
    throw child.exitCode !== null ? new DevServerExited((err as Error).message) : err;
  });
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
  /**
   * Revokes the agency's credentials: the config is rendered without its user and the server reloaded; returns once
   * the server refuses the agency's key (the server closes its open connections on the reload).
   */
  revokeAgency(agency: string): Promise<void>;
  /** Starts a rotation: a second key for the agency, valid beside the old one once this returns; the new seed. */
  rotateAgency(agency: string): Promise<{ nkeySeed: string }>;
  /** Ends the rotation: the old key revoked (refused once this returns), the new one the agency's only key. */
  finishRotation(agency: string): Promise<void>;
}

/**
 * A nats-server that enforces need to know: one account per agency and the engine's, every identity with a
 * fresh NKEY. The config (public keys only) is written next to the store, never to the repository; the seeds
 * stay in this process.
 */
export async function startSecuredNatsServer(options: NatsServerOptions & { agencies: readonly string[] }): Promise<SecuredNatsServer> {
  const seeds = freshSeeds(options.agencies);
  const next: Record<string, string> = {};
  const revoked: string[] = [];
  mkdirSync(options.storeDir, { recursive: true });
  const configPath = join(dirname(options.storeDir), 'nats-accounts.conf');
  const render = () => {
    const keys = publicKeys(seeds);
    const agencies = Object.fromEntries(
      options.agencies.map((agency) => [agency, [keys.agencies[agency], next[agency] && publicKeyOf(next[agency])].filter((k): k is string => !!k)]),
    );
    writeFileSync(configPath, natsAccountsConfig({ agencies: options.agencies, publicKeys: { engine: keys.engine, agencies }, revokedKeys: revoked }), {
      mode: 0o600,
    });
  };
  render();
  const configArgs = [...(options.args ?? []), '-c', configPath];
  const secured: SecuredNatsServer = {
    server: await startNatsServer({ ...options, args: configArgs, nkeySeed: seeds.engine.worker }),
    seeds,
    configArgs,
    engine: (identity) => ({ nkeySeed: seeds.engine[identity] }),
    agency: (agency) => {
      const nkeySeed = seeds.agencies[agency];
      if (nkeySeed === undefined) throw new Error(`no NATS credentials for agency "${agency}" (none issued, or revoked)`);
      return { nkeySeed };
    },
    async revokeAgency(agency) {
      const gone = [secured.agency(agency).nkeySeed, next[agency]].filter((k): k is string => !!k);
      revoked.push(...gone.map(publicKeyOf));
      delete seeds.agencies[agency];
      delete next[agency];
      render();
      await reloadNats(secured.server, () => Promise.all(gone.map((seed) => refusedLogin(secured.server.url, seed))));
    },
    async rotateAgency(agency) {
      secured.agency(agency);
      if (next[agency]) throw new Error(`agency "${agency}" is already rotating its key`);
      const nkeySeed = freshSeeds([agency]).agencies[agency]!;
      next[agency] = nkeySeed;
      render();
      await reloadNats(secured.server, () => acceptedLogin(secured.server.url, nkeySeed));
      return { nkeySeed };
    },
    async finishRotation(agency) {
      const old = secured.agency(agency).nkeySeed;
      const nkeySeed = next[agency];
      if (!nkeySeed) throw new Error(`agency "${agency}" is not rotating its key`);
      revoked.push(publicKeyOf(old));
      seeds.agencies[agency] = nkeySeed;
      delete next[agency];
      render();
      await reloadNats(secured.server, () => refusedLogin(secured.server.url, old));
    },
  };
  return secured;
}

/** Has nats-server reload its config (SIGHUP, as `nats-server --signal reload=<pid>` sends) until `applied` holds. */
export async function reloadNats(server: RunningProcess, applied: () => Promise<unknown>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  // A reload is applied asynchronously; one more SIGHUP is harmless, so each try signals again.
  while (Date.now() < deadline) {
    server.process.kill('SIGHUP');
    try {
      await applied();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nats-server did not apply its new config within ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no reason'}`);
}

/** Resolves when a login with this seed is refused as an authorisation failure; throws if it is let in. */
export async function refusedLogin(url: string, nkeySeed: string, tls?: { caFile: string }): Promise<void> {
  let nc;
  try {
    nc = await connect({
      servers: url,
      reconnect: false,
      timeout: 2_000,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeySeed)),
      ...(tls ? { tls } : {}),
    });
  } catch (err) {
    if (/authorization/i.test(String((err as Error).message)) || (err as { code?: string }).code === 'AUTHORIZATION_VIOLATION') return;
    throw err;
  }
  await nc.close();
  throw new Error(`${url} still lets the key in`);
}

/** Resolves when a login with this seed is let in. */
export async function acceptedLogin(url: string, nkeySeed: string, tls?: { caFile: string }): Promise<void> {
  const nc = await connect({
    servers: url,
    reconnect: false,
    timeout: 2_000,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeySeed)),
    ...(tls ? { tls } : {}),
  });
  await nc.close();
}
