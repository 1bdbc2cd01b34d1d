/**
 * `npm run cluster`: the production topology on this machine (see scripts/cluster.ts), until Ctrl-C or SIGTERM (to
 * this process or to `npm run cluster`). `npm run cluster -- --down` removes its databases and its data directory.
 * A failure prints what failed; its stack trace goes to <data dir>/cluster.log.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { removeCluster, startCluster, type Cluster } from './cluster.js';
import { PROJECT_ROOT } from './temporal-cli.js';

const program = new Command()
  .name('cluster')
  .description(
    'Temporal server on PostgreSQL (LOS_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432) with its Web UI, ' +
      'a three-node NATS JetStream cluster with the per-agency accounts, two workers and two bridges, ' +
      'and the HTTP API with the embedded identity provider.',
  )
  .option('--prefix <name>', 'prefix of the two Temporal databases', 'los_cluster')
  .option('--data-dir <dir>', 'NATS stores, NKEYs, the master key, configs and logs', join(PROJECT_ROOT, '.data', 'cluster'))
  .option('--workers <n>', 'worker processes', (v) => Number(v), 2)
  .option('--bridges <n>', 'bridge processes', (v) => Number(v), 2)
  .option('--no-ui', 'do not start (or build) the Temporal Web UI')
  .option('--api-port <port>', 'port of the HTTP API (a free one if taken)', (v) => Number(v), 4300)
  .option('--no-api', 'do not start the HTTP API (the identity provider still starts: Temporal trusts its tokens)')
  .option('--insecure', 'an open, plaintext Temporal frontend (no tokens, no TLS), as the dev server')
  .option('--down', 'remove the databases and the data directory, and start nothing')
  .parse();
const options = program.opts<{
  prefix: string;
  dataDir: string;
  workers: number;
  bridges: number;
  ui: boolean;
  api: boolean;
  apiPort: number;
  down?: boolean;
  insecure?: boolean;
}>();
const log = (line: string) => console.error(`[cluster] ${line}`);
const logFile = join(options.dataDir, 'cluster.log');

/** One sentence for the person; the stack trace to the cluster's log file. */
function failure(what: string, err: unknown): void {
  let logged = false;
  try {
    mkdirSync(options.dataDir, { recursive: true });
    appendFileSync(logFile, `${new Date().toISOString()} ${what}: ${(err as Error)?.stack ?? String(err)}\n`);
    logged = true;
  } catch {
    // The data directory cannot be written: the sentence is all there is.
  }
  log(`${what}: ${(err as Error)?.message ?? String(err)}${logged ? ` (details in ${logFile})` : ''}`);
}
process.on('uncaughtException', (err) => {
  failure('failed', err);
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  failure('failed', err);
  process.exit(1);
});

if (options.down) {
  try {
    const dropped = await removeCluster(options.prefix, options.dataDir);
    log(`removed ${options.dataDir}; databases dropped: ${dropped.length ? dropped.join(', ') : 'none were there'}`);
  } catch (err) {
    failure('--down failed', err);
    process.exit(1);
  }
  process.exit(0);
}

let cluster: Cluster | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  if (!cluster) return log(`${signal}: stopping as soon as what is starting has started`);
  log(`${signal}: stopping the workers, bridges and API, the identity provider, the UI, the Temporal server and the NATS nodes…`);
  try {
    await cluster?.stop();
  } catch (err) {
    failure('stopping failed; some of its processes may still run (ps shows those with the data directory on their command line)', err);
    process.exit(1);
  }
  log('stopped; the data stays for the next start (`npm run cluster -- --down` removes it)');
  process.exit(0);
};
// A signal during start-up waits for the start to finish or fail, and then stops what is running. Not once: Ctrl-C
// reaches this process from the terminal and from npm, and a second signal must not end it half-way through stopping.
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  cluster = await startCluster({
    prefix: options.prefix,
    dataDir: options.dataDir,
    workers: options.workers,
    bridges: options.bridges,
    ui: options.ui,
    secure: !options.insecure,
    ...(options.api ? { api: { port: options.apiPort } } : {}),
    log,
  });
} catch (err) {
  failure('could not start', err);
  process.exit(stopping ? 0 : 1);
}
if (stopping) {
  await cluster.stop();
  process.exit(0);
} else {
  for (const line of cluster.describe()) console.log(line);
  log('running; Ctrl-C or SIGTERM stops it');
  // An engine process that exits on its own is reported; a supervisor in production would restart it.
  for (const engineProcess of cluster.engine) {
    engineProcess.child?.once('exit', (code, signal) => {
      if (!stopping) log(`${engineProcess.role} ${engineProcess.number} exited (${signal ?? code}); see ${engineProcess.logFile}`);
    });
  }
}
