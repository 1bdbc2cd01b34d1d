#!/usr/bin/env node
// The `los` command. The coordinator code is TypeScript; tsx (a runtime dependency) compiles it on load, so
// the CLI runs from a checkout with no build step.
import { register } from 'tsx/esm/api';

register();
const unsupported = (await import('../config/nodeVersion.ts')).unsupportedNode();
if (unsupported) {
  console.error(unsupported);
  process.exit(1);
}
const { runCli } = await import('./cli.ts');
process.exitCode = await runCli(process.argv);
