/**
 * `npm run build:workflows`: bundles workflows/ into dist/workflow-bundle.js for the worker to load
 * (workers/workflowBundle.ts). A bundle still current is kept; `--force` builds anyway.
 */
import { relative } from 'node:path';
import { buildWorkflowBundle, WORKFLOW_BUNDLE_PATH, workflowBundleStaleness } from '../workers/workflowBundle.js';

const started = performance.now();
const stale = process.argv.includes('--force') ? 'rebuild asked for (--force)' : workflowBundleStaleness();
const shown = relative(process.cwd(), WORKFLOW_BUNDLE_PATH);
if (stale) {
  console.log(`building ${shown}: ${stale}`);
  await buildWorkflowBundle();
  console.log(`built ${shown} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} else {
  console.log(`${shown} is current (checked in ${Math.round(performance.now() - started)} ms)`);
}
