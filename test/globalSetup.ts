import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer } from '../scripts/dev-stack.js';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../workers/worker.js';
import { FAILURE_CONVERTER_PATH } from '../workers/codec.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    scratchDir: string;
    /** The entity-reference key of this run (tests generate one; it is never in the repository). */
    entityKey: string;
  }
}

/** One real Temporal dev server (SQLite in a temp dir) and one workflow bundle per test run. */
export default async function setup(project: TestProject) {
  const scratch = mkdtempSync(join(tmpdir(), 'los-test-'));
  const temporal = await startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), headless: true, logFile: join(scratch, 'temporal.log') });
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...WORKFLOW_BUNDLER_OPTIONS,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  const bundlePath = join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('scratchDir', scratch);
  project.provide('entityKey', randomBytes(32).toString('hex'));
  return async () => {
    await temporal.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (message: string) => console.error(message) };
