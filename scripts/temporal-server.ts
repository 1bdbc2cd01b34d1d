import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import protobufs from '@temporalio/proto';
import Long from 'long';
import { parse, stringify } from 'yaml';
import { parseDuration } from '../domain/durations.js';
import { TEMPORAL_UI_CALLBACK_PATH } from '../idp/index.js';
import { DEFAULT_RETENTION } from '../vault/index.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/definitions.js';
import { freePort, setHistoryRetention, stopProcess, waitFor, type RunningProcess } from './dev-stack.js';
import { PROJECT_ROOT, executable } from './temporal-cli.js';

/**
 * The Temporal server as deployed: built from its Go module (`go.temporal.io/server`), on PostgreSQL, with a
 * config this project writes. Used by `npm run cluster`, the chaos suite on the cluster and the benchmark.
 */

/** The newest server whose go.mod asks for no newer Go than this machine's 1.26.8; no `replace` directive. */
export const TEMPORAL_SERVER_VERSION = 'v1.32.1';
/** The Temporal Web UI server: v2.56 and later ask for Go 1.26.9 or newer. */
export const TEMPORAL_UI_VERSION = 'v2.55.0';
/** How long closed workflows' histories are kept: as long as an operation's personal data (its default retention). */
export const NAMESPACE_RETENTION = DEFAULT_RETENTION;
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432';

const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
export const TEMPORAL_BINARIES = {
  server: join(TOOLS_BIN, 'temporal-server'),
  sqlTool: join(TOOLS_BIN, 'temporal-sql-tool'),
  ui: join(TOOLS_BIN, 'temporal-ui-server'),
};

/**
 * `go install`s packages of one module into .tools/bin under the names given: `cmd/server` and `cmd/tools/sql`
 * would both land as generic names (`server`, `sql`), so each is built into a scratch GOBIN and renamed.
 */
function goInstall(module: string, version: string, packages: Record<string, string>, log: (line: string) => void): void {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(`Go is needed to build ${module}@${version} into .tools/bin and was not found: install Go ≥ 1.25 (https://go.dev/dl/).`);
  }
  mkdirSync(TOOLS_BIN, { recursive: true });
  const scratch = mkdtempSync(join(PROJECT_ROOT, '.tools', 'gobin-'));
  try {
    log(`Building ${Object.values(packages).join(' and ')} from ${module}@${version} with ${go.stdout.trim()} (minutes on a cold cache, once)…`);
    const build = spawnSync('go', ['install', ...Object.keys(packages).map((path) => `${module}/${path}@${version}`)], {
      env: { ...process.env, GOBIN: scratch },
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`go install ${module}@${version} failed: ${(build.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
    for (const [path, name] of Object.entries(packages)) renameSync(join(scratch, path.split('/').pop()!), join(TOOLS_BIN, name));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The Temporal server and its SQL tool in .tools/bin, built once. */
export function ensureTemporalServer(log: (line: string) => void = (line) => console.error(line)): typeof TEMPORAL_BINARIES {
  if (!executable(TEMPORAL_BINARIES.server) || !executable(TEMPORAL_BINARIES.sqlTool)) {
    goInstall('go.temporal.io/server', TEMPORAL_SERVER_VERSION, { 'cmd/server': 'temporal-server', 'cmd/tools/sql': 'temporal-sql-tool' }, log);
  }
  return TEMPORAL_BINARIES;
}

/** The Temporal Web UI server in .tools/bin, built once; the reason when it cannot be built. */
export function ensureTemporalUi(log: (line: string) => void = (line) => console.error(line)): { path: string } | { error: string } {
  if (executable(TEMPORAL_BINARIES.ui)) return { path: TEMPORAL_BINARIES.ui };
  try {
    goInstall('github.com/temporalio/ui-server/v2', TEMPORAL_UI_VERSION, { 'cmd/server': 'temporal-ui-server' }, log);
    return { path: TEMPORAL_BINARIES.ui };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Where PostgreSQL is: `LOS_POSTGRES_URL`, e.g. postgres://postgres@127.0.0.1:5432 (a role that may create databases). */
export interface Postgres {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export function postgresFromEnvironment(env: Record<string, string | undefined> = process.env): Postgres {
  const text = env.LOS_POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('LOS_POSTGRES_URL is not a URL: it should read postgres://USER[:PASSWORD]@HOST:PORT');
  }
  if (!/^postgres(ql)?:$/.test(url.protocol) || !url.hostname || !url.username) {
    throw new Error('LOS_POSTGRES_URL should read postgres://USER[:PASSWORD]@HOST:PORT, with a user that may create databases');
  }
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** Fails with what is needed when nothing listens where PostgreSQL should be. */
export async function assertPostgresReachable(pg: Postgres): Promise<void> {
  await new Promise<void>((resolveReach, reject) => {
    const socket = connectTcp({ host: pg.host, port: pg.port, timeout: 3_000 });
    const fail = (reason: string) => {
      socket.destroy();
      reject(
        new Error(
          `PostgreSQL is not reachable at ${pg.host}:${pg.port} (${reason}). The cluster needs PostgreSQL ≥ 12 and a role that may create ` +
            'databases: set LOS_POSTGRES_URL=postgres://USER[:PASSWORD]@HOST:PORT (default postgres://postgres@127.0.0.1:5432).',
        ),
      );
    };
    socket.once('connect', () => {
      socket.end();
      resolveReach();
    });
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (err) => fail(err.message));
  });
}

/** The two databases of one cluster; the prefix keeps one run's apart from every other's on the same PostgreSQL. */
export function temporalDatabases(prefix: string): { main: string; visibility: string } {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`database prefix "${prefix}" should be lower-case letters, digits and "_", starting with a letter`);
  return { main: `${prefix}_temporal`, visibility: `${prefix}_temporal_visibility` };
}

function sqlTool(pg: Postgres, database: string, args: string[]): { ok: boolean; output: string } {
  const run = spawnSync(
    ensureTemporalServer().sqlTool,
    ['--plugin', 'postgres12', '--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user, '--database', database, ...args],
    // The password goes by environment, never on a command line that `ps` shows.
    { env: { ...process.env, SQL_PASSWORD: pg.password ?? '' }, encoding: 'utf8' },
  );
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() };
}

/** Creates both databases when missing and brings both schemas (embedded in the SQL tool) up to date. */
export function prepareTemporalDatabases(pg: Postgres, prefix: string, log: (line: string) => void): void {
  const databases = temporalDatabases(prefix);
  for (const [database, schema] of [
    [databases.main, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    const created = sqlTool(pg, database, ['create-database']);
    if (!created.ok && !/already exists/.test(created.output)) throw new Error(`creating database ${database} failed: ${lastLines(created.output)}`);
    // Version 0.0 sets up only the versioning tables; the update applies every versioned schema step.
    const setup = sqlTool(pg, database, ['setup-schema', '--version', '0.0']);
    if (!setup.ok && !/already exists/.test(setup.output)) throw new Error(`setting up the schema of ${database} failed: ${lastLines(setup.output)}`);
    const update = sqlTool(pg, database, ['update-schema', '--schema-name', schema]);
    if (!update.ok) throw new Error(`updating the schema of ${database} failed: ${lastLines(update.output)}`);
    log(`database ${database}: schema ${schema} up to date`);
  }
}

export function dropTemporalDatabases(pg: Postgres, prefix: string): string[] {
  const dropped: string[] = [];
  for (const database of Object.values(temporalDatabases(prefix))) {
    const drop = sqlTool(pg, database, ['drop-database', '--force']);
    if (drop.ok) dropped.push(database);
    else if (/being accessed by other users/.test(drop.output)) throw new Error(`database ${database} is in use: stop the cluster that uses it first`);
    else if (!/does not exist/.test(drop.output)) throw new Error(`dropping database ${database} failed: ${lastLines(drop.output)}`);
  }
  return dropped;
}

/** One query through psql (PostgreSQL's own client) on the `postgres` database; its rows, one a line. */
export function psqlQuery(pg: Postgres, sql: string): string[] {
  const run = spawnSync('psql', ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'postgres', '-tAc', sql], {
    env: { ...process.env, PGPASSWORD: pg.password ?? '' },
    encoding: 'utf8',
  });
  if (run.error || run.status !== 0)
    throw new Error(`psql could not run the query (it needs the PostgreSQL client): ${run.error?.message ?? run.stderr.trim()}`);
  return run.stdout.split('\n').filter((line) => line.length > 0);
}

const lastLines = (text: string) => text.split('\n').slice(-3).join(' | ');

/** The loopback ports of one server: gRPC and membership for each of its four services, and HTTP. */
export interface TemporalPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** The frontend the server's own system worker calls when the public one checks tokens (no authorisation, loopback only). */
  internalFrontend: number;
  internalFrontendMembership: number;
}

/** The ports docker-compose.yml publishes and the server listens on in its container: Temporal's own defaults. */
export const STANDARD_TEMPORAL_PORTS: TemporalPorts = {
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
  internalFrontend: 7236,
  internalFrontendMembership: 6936,
};

/** Membership ports are stored in a PostgreSQL smallint, so they must lie below 32768, under the ephemeral range. */
async function freeMembershipPort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await freePort(candidate)) === candidate) return candidate;
  }
  throw new Error('no free loopback port between 20000 and 32000 for Temporal membership');
}

export async function freeTemporalPorts(): Promise<TemporalPorts> {
  const ports = {} as TemporalPorts;
  for (const name of Object.keys(STANDARD_TEMPORAL_PORTS) as (keyof TemporalPorts)[]) {
    ports[name] = name.endsWith('Membership') ? await freeMembershipPort() : await freePort();
  }
  return ports;
}

export interface TemporalServerConfigOptions {
  postgres: Postgres;
  databasePrefix: string;
  ports: TemporalPorts;
  /** The address the services listen on: 127.0.0.1 on one machine, 0.0.0.0 in a container. */
  bindAddress: string;
  /**
   * The address the services tell each other to reach them at: the host's own when they run on several hosts.
   * @default bindAddress
   */
  broadcastAddress?: string;
  /** @default 4 (history shards are fixed for the life of the database) */
  historyShards?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Every call to the frontend authorised with a JWT from the identity provider: its keys from `jwksUrl`, the
   * audience checked, the roles per namespace from the token's `permissions` claim (`default:read`,
   * `temporal-system:admin`, …) by the server's default claim mapper and authoriser. The server's own system worker
   * then goes through an internal frontend, which checks nothing and listens on the bind address only.
   */
  authorization?: { jwksUrl: string; audience: string };
  /**
   * The server's Prometheus metrics on this port of the bind address: the cluster reads the count of the calls its
   * authoriser denied from them (scripts/temporal-refusals.ts).
   */
  metricsPort?: number;
  /** TLS on the frontend, with this certificate and key (clients trust the CA that signed it). */
  tls?: { certFile: string; keyFile: string; caFile: string; serverName: string };
  /**
   * The server's log to this file instead of stdout, for a process that tails it (the refusals' forwarder in
   * docker-compose.yml, which shares its volume). @default stdout (`npm run cluster` sends stdout to a file itself)
   */
  logFile?: string;
  /**
   * The dynamic config file the server reads (and reads again every minute): `writeTemporalServerConfig` writes
   * `temporalDynamicConfig()` next to the config and names it here. None: Temporal's defaults.
   */
  dynamicConfigFile?: string;
}

/**
 * Visibility calls (list and count) a frontend takes per second for one namespace, and the burst over it as a
 * ratio. Temporal's default is 10 and 1: one console page asks visibility up to three times (the decisions due
 * and their count, an operation's other operations about the same business), so ten coordinators opening a page
 * in the same second already went over, and the SDK waits out a refusal (RESOURCE_EXHAUSTED) with a back-off of
 * about two seconds. 100 a second (what the Temporal CLI's dev server sets) with bursts of 200 leave the PostgreSQL visibility store far from its own limit
 * (`system.visibilityPersistenceMaxReadQPS`, 9000).
 */
export const VISIBILITY_RPS_PER_FRONTEND = 100;
export const VISIBILITY_BURST_RATIO = 2;

/** The server's dynamic config: what the engine needs other than Temporal's defaults. */
export function temporalDynamicConfig(): string {
  return stringify({
    'frontend.namespaceRPS.visibility': [{ value: VISIBILITY_RPS_PER_FRONTEND, constraints: {} }],
    'frontend.namespaceBurstRatio.visibility': [{ value: VISIBILITY_BURST_RATIO, constraints: {} }],
  });
}

/** The server's config: PostgreSQL for persistence and visibility, the four services, no archival. */
export function temporalServerConfig(options: TemporalServerConfigOptions): string {
  const databases = temporalDatabases(options.databasePrefix);
  const { ports, postgres, bindAddress } = options;
  const broadcastAddress = options.broadcastAddress ?? bindAddress;
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password ?? '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: bindAddress, ...extra },
  });
  return stringify({
    log: options.logFile
      ? { stdout: false, outputFile: options.logFile, level: options.logLevel ?? 'warn' }
      : { stdout: true, level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.historyShards ?? 4,
      datastores: { 'postgres-default': datastore(databases.main, 20), 'postgres-visibility': datastore(databases.visibility, 10) },
    },
    ...(options.dynamicConfigFile ? { dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '60s' } } : {}),
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress },
      ...(options.metricsPort !== undefined
        ? {
            // Read only for that count: one bucket per histogram (instead of Temporal's twenty-odd), so that a scrape stays
            // small (about 3 MB and 17,000 lines with the default buckets on the bench's load) and recording stays cheap.
            metrics: {
              perUnitHistogramBoundaries: { dimensionless: [1], milliseconds: [1], bytes: [1] },
              prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${bindAddress}:${options.metricsPort}` },
            },
          }
        : {}),
      ...(options.authorization
        ? {
            authorization: {
              jwtKeyProvider: { keySourceURIs: [options.authorization.jwksUrl], refreshInterval: '1m' },
              permissionsClaimName: 'permissions',
              audience: options.authorization.audience,
              authorizer: 'default',
              claimMapper: 'default',
            },
          }
        : {}),
      ...(options.tls
        ? {
            tls: {
              frontend: {
                server: { certFile: options.tls.certFile, keyFile: options.tls.keyFile, requireClientAuth: false },
                client: { serverName: options.tls.serverName, rootCaFiles: [options.tls.caFile] },
              },
            },
          }
        : {}),
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      ...(options.authorization ? { 'internal-frontend': service(ports.internalFrontend, ports.internalFrontendMembership) } : {}),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${broadcastAddress}:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
  });
}

export interface TemporalServer extends RunningProcess {
  address: string;
}

/** Starts the server on a config file and waits until its frontend answers. */
export async function startTemporalServer(options: {
  configFile: string;
  address: string;
  logFile: string;
  /** How to reach the frontend: its TLS when it has any (the health check needs no token). */
  connection?: Partial<ConnectionOptions>;
}): Promise<TemporalServer> {
  const { server } = ensureTemporalServer();
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  // Every service the config lists (the server starts only the four public ones unless told): the internal frontend too.
  const services = Object.keys((parse(readFileSync(options.configFile, 'utf8')) as { services?: Record<string, unknown> }).services ?? {});
  const child = spawn(server, ['--config-file', options.configFile, '--allow-no-auth', 'start', ...services.flatMap((name) => ['--service', name])], {
    stdio: ['ignore', log, log],
  });
  await waitFor(
    'the Temporal server',
    child,
    async () => {
      const connection = await Connection.connect({ address: options.address, connectTimeout: 1_000, ...options.connection });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    },
    120_000,
    options.logFile,
  );
  return { process: child, address: options.address, stop: () => stopProcess(child, 20_000) };
}

/** The server's config at `path` (mode 0600: it may hold the database password) and its dynamic config beside it. */
export function writeTemporalServerConfig(path: string, options: TemporalServerConfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  const dynamicConfigFile = join(dirname(resolve(path)), 'dynamic-config.yaml');
  writeFileSync(dynamicConfigFile, temporalDynamicConfig(), { mode: 0o644 });
  writeFileSync(path, temporalServerConfig({ ...options, dynamicConfigFile }), { mode: 0o600 });
}

const { IndexedValueType } = protobufs.temporal.api.enums.v1;
/** The Temporal UI's sign-in at the identity provider: its confidential client there (kind temporal-ui in the realm). */
export interface TemporalUiSignIn {
  /** The provider's issuer URL, as the browser reaches it (the UI server fetches its discovery document there too). */
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface TemporalUiConfigOptions {
  temporalAddress: string;
  host: string;
  port: number;
  /** The UI's origin as browsers reach it; the sign-in's callback is on it. */
  origin: string;
  /** The frontend's TLS: the CA to trust and the name its certificate carries. */
  tls?: { caFile: string; serverName: string };
  /**
   * People sign in at the provider (the code flow, straight to its form); the UI sends the access token, for
   * Temporal's audience, with every call to Temporal and to the codec server. None: an open UI, as the dev server's.
   */
  signIn?: TemporalUiSignIn;
  /** The codec server the browser asks to decode (https: the UI passes the person's token to https only). */
  codecEndpoint?: string;
}

/** The Web UI server's config (`base.yaml` in its config directory): where Temporal is, where to listen, sign-in and codec. */
export function temporalUiConfig(options: TemporalUiConfigOptions): string {
  if (options.codecEndpoint && options.signIn && !options.codecEndpoint.startsWith('https://'))
    throw new Error(`codec endpoint "${options.codecEndpoint}" must be https: the Temporal UI passes the signed-in person's token to https only`);
  return stringify({
    temporalGrpcAddress: options.temporalAddress,
    host: options.host,
    port: options.port,
    enableUi: true,
    defaultNamespace: 'default',
    distribution: 'server',
    cors: { allowOrigins: [options.origin], cookieInsecure: options.origin.startsWith('http:') },
    refreshInterval: '1m',
    ...(options.tls ? { tls: { caFile: options.tls.caFile, serverName: options.tls.serverName, enableHostVerification: true } } : {}),
    ...(options.signIn
      ? {
          auth: {
            enabled: true,
            // No page of the UI's own in between: the provider's form at once.
            redirectToProvider: true,
            providers: [
              {
                label: 'LOS',
                type: 'oidc',
                providerUrl: options.signIn.issuer,
                issuerUrl: options.signIn.issuer,
                clientId: options.signIn.clientId,
                clientSecret: options.signIn.clientSecret,
                callbackUrl: `${options.origin}${TEMPORAL_UI_CALLBACK_PATH}`,
                // The provider gives this client tokens for Temporal's audience only (its default resource).
                scopes: ['openid', 'profile', 'los', 'temporal'],
              },
            ],
          },
        }
      : {}),
    ...(options.codecEndpoint ? { codec: { endpoint: options.codecEndpoint, passAccessToken: options.signIn !== undefined, includeCredentials: false } } : {}),
  });
}

/** The UI server reads `<root>/<config>/base.yaml`, then the environment's file; this is the environment's name. */
export const TEMPORAL_UI_ENVIRONMENT = 'los';

export function writeTemporalUiConfig(dir: string, options: TemporalUiConfigOptions): void {
  mkdirSync(dir, { recursive: true });
  // It holds the UI's client secret when people sign in.
  writeFileSync(join(dir, 'base.yaml'), temporalUiConfig(options), { mode: 0o600 });
  writeFileSync(join(dir, `${TEMPORAL_UI_ENVIRONMENT}.yaml`), '{}\n');
}

const INDEXED_VALUE_TYPES: Record<string, protobufs.temporal.api.enums.v1.IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
};

/**
 * The namespace with its history retention and the LOS search attributes (the same SEARCH_ATTRIBUTE_FLAGS the
 * dev server is started with); what exists already is kept.
 */
export async function ensureNamespace(
  address: string,
  namespace: string,
  retention = NAMESPACE_RETENTION,
  /** TLS and an administrator's token, on a server that checks them. */
  connectionOptions: Partial<ConnectionOptions> = {},
): Promise<void> {
  const retentionMs = parseDuration(retention);
  if (retentionMs === undefined) throw new Error(`history retention "${retention}" is not a duration such as "90 days"`);
  const connection = await Connection.connect({ address, ...connectionOptions });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(Math.ceil(retentionMs / 1000)) },
      });
    } catch (err) {
      if (!/already exists/i.test((err as Error).message)) throw err;
      await setHistoryRetention(address, namespace, retention, connectionOptions);
    }
    const listed = await retryWhileNamespaceUnknown(() => connection.operatorService.listSearchAttributes({ namespace }));
    const missing = Object.entries(SEARCH_ATTRIBUTE_FLAGS).filter(([name]) => !(name in (listed.customAttributes ?? {})));
    if (missing.length === 0) return;
    const searchAttributes: Record<string, protobufs.temporal.api.enums.v1.IndexedValueType> = {};
    for (const [name, type] of missing) {
      const indexed = INDEXED_VALUE_TYPES[type];
      if (indexed === undefined) throw new Error(`search attribute ${name} has type ${type}, which has no Temporal index type here`);
      searchAttributes[name] = indexed;
    }
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } finally {
    await connection.close();
  }
}

/** A namespace just registered is unknown to the frontend until its namespace cache refreshes (seconds). */
async function retryWhileNamespaceUnknown<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline || !/not found/i.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
