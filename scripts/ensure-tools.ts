import { ensureNatsServer } from './nats-server-binary.js';
import { ensureTemporalCli } from './temporal-cli.js';

// Run before the tests (and in CI), so a first build of the Temporal CLI or nats-server happens once, with its
// progress visible, instead of inside a test's timeout.
try {
  console.error(`Temporal CLI: ${ensureTemporalCli()}`);
  console.error(`nats-server: ${ensureNatsServer()}`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
