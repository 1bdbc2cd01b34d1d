import { ensureTemporalCli } from './temporal-cli.js';

// Run before the tests, so a first build of the CLI happens once, with its progress visible.
try {
  console.error(`Temporal CLI: ${ensureTemporalCli()}`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
