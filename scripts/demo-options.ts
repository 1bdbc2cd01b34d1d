/**
 * The demo's options, read before anything heavy is loaded: `--help` and a bad option answer at once.
 */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run demo -- [options]

Runs one LOS operation through all five phases on a local stack (Temporal dev server with its Web UI,
nats-server, worker, bridge, the identity provider, the API and the codec server, 13 simulated agency
systems), then stops everything it started. The stack keeps its data, and the keys that data needs, in the
data directory, so each run adds an operation to the ones before; remove the directory to start afresh.

Options:
  --keep                 leave everything running afterwards to explore the UI; Ctrl-C (or SIGTERM) stops it
  --temporal-port <n>    Temporal frontend port (default 7233, or a free one if taken)
  --ui-port <n>          Temporal Web UI port (default 8233, or a free one if taken)
  --nats-port <n>        nats-server port (default: a free one)
  --help                 show this help

Environment:
  LOS_DEMO_DATA_DIR      where the stack keeps its data (default .data/): the Temporal database, the NATS store,
                         the master key (master.key) and the entity key (entity.key), made on the first run
  LOS_ENTITY_KEY         key of the pseudonymous entity reference (or LOS_ENTITY_KEY_FILE); default: the data
                         directory's entity.key

SIGINT or SIGTERM at any moment (to this process or to \`npm run demo\`) stops everything the demo started
and exits 0. On a failure it says what failed; the details are in <data dir>/demo.log.`;

function port(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    console.error(`demo: --${name} ${JSON.stringify(value)}: must be a port number from 1 to 65535\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

function parseDemoArgs() {
  return parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      'temporal-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'nats-port': { type: 'string' },
    },
    strict: true,
  }).values;
}

export interface DemoOptions {
  keep: boolean;
  ports: { temporal: number; ui: number; nats: number | undefined };
}

/** The options from the command line; prints the usage and exits on `--help` (0) or a bad option (2). */
export function demoOptions(): DemoOptions {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs();
  } catch (err) {
    console.error(`demo: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    keep: args.keep,
    ports: {
      temporal: port('temporal-port', args['temporal-port'], 7233)!,
      ui: port('ui-port', args['ui-port'], 8233)!,
      nats: port('nats-port', args['nats-port']),
    },
  };
}
