import { ensureNatsServer } from './nats-server-binary.js';
import { ensureTemporalCli } from './temporal-cli.js';
import { ensureTemporalServer, ensureTemporalUi } from './temporal-server.js';

// Run before the tests (and in CI), so a first build of the Temporal CLI or nats-server happens once, with its
// progress visible, instead of inside a test's timeout. `--cluster` also builds the Temporal server, its SQL tool and
// the Web UI server, which only the cluster topology (npm run cluster, the chaos suite on it) needs: minutes on a cold Go cache.
try {
  console.error(`Temporal CLI: ${ensureTemporalCli()}`);
  console.error(`nats-server: ${ensureNatsServer()}`);
  if (process.argv.includes('--cluster')) {
    const server = ensureTemporalServer();
    console.error(`Temporal server: ${server.server}; SQL tool: ${server.sqlTool}`);
    // The cluster's UI test (test/chaos/cluster-ui.test.ts) signs people in to it.
    const ui = ensureTemporalUi();
    if ('error' in ui) throw new Error(`the Temporal Web UI server could not be built: ${ui.error}`);
    console.error(`Temporal UI server: ${ui.path}`);
  }
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
