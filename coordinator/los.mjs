#!/usr/bin/env node
// The `los` command. The coordinator code is TypeScript; tsx (a runtime dependency) compiles it on load, so
// the CLI runs from a checkout with no build step.
import { register } from 'tsx/esm/api';

register();
const unsupported = (await import('../config/nodeVersion.ts')).unsupportedNode();
if (unsupported) {
  // Not set up to run: a setup error, exit 2, as every other (coordinator/cli/failures.ts).
  console.error(unsupported);
  process.exit(2);
}
const { runCli } = await import('./cli.ts');
process.exitCode = await runCli(process.argv);
