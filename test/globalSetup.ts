import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer } from '../scripts/dev-stack.js';
import { currentWorkflowBundle } from '../workers/workflowBundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    scratchDir: string;
    /** The entity-reference key of this run (tests generate one; it is never in the repository). */
    entityKey: string;
  }
}

/** One real Temporal dev server (SQLite in a temp dir) per test run, and a current workflow bundle. */
export default async function setup(project: TestProject) {
  const scratch = mkdtempSync(join(tmpdir(), 'los-test-'));
  const temporal = await startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), headless: true, logFile: join(scratch, 'temporal.log') });
  // The bundle the worker process loads too (dist/), rebuilt first when any file it was built from has changed,
  // so a run always tests the code in the tree.
  const { codePath } = await currentWorkflowBundle();
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', codePath);
  project.provide('scratchDir', scratch);
  project.provide('entityKey', randomBytes(32).toString('hex'));
  return async () => {
    await temporal.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
}
