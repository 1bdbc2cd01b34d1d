import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { FAILURE_CONVERTER_PATH } from '../vault/index.js';

/**
 * The workflow bundle is built ahead of time (`npm run build:workflows`, the Dockerfile) and the worker loads the
 * file (`workflowBundle: { codePath }`): webpack never runs in the worker's process, whose memory it would keep
 * (about 100 MiB resident for as long as the worker ran, measured when the worker bundled itself).
 *
 * Beside the bundle, a manifest lists every file webpack read to build it, with its SHA-256. A bundle whose
 * inputs no longer match is stale: the worker refuses it, naming the changed file, and the demo, the tests and
 * the bench build a new one first. No run uses workflow code other than the code in the tree.
 */

const PROJECT_ROOT = resolve(new URL('..', import.meta.url).pathname);

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

/**
 * How `workflows/` is bundled: the libraries in workflows/shared-modules.ts are evaluated once per workflow thread
 * instead of once per cached operation.
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  workflowsPath: WORKFLOWS_PATH,
  preloadModules: [join(PROJECT_ROOT, 'workflows', 'shared-modules.ts')],
  failureConverterPath: FAILURE_CONVERTER_PATH,
};

export const WORKFLOW_BUNDLE_PATH = join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** The manifest beside a bundle: dist/workflow-bundle.inputs.json. */
function manifestBeside(bundlePath: string): string {
  return bundlePath.replace(/\.js$/, '.inputs.json');
}

interface BundleManifest {
  /** SHA-256 of the bundle itself, so that a bundle and a manifest from different builds do not pass as a pair. */
  bundle: string;
  /** Path (relative to the project root where inside it) → SHA-256 of every file the bundle was built from. */
  inputs: Record<string, string>;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Relative to the project root, so that the bundle can move with it; absolute outside it (a linked node_modules). */
function projectPath(file: string): string {
  const inProject = relative(PROJECT_ROOT, file);
  return inProject.startsWith('..') ? file : inProject;
}

/** Writes to a temporary name first, so that a reader never sees half a file. */
function writeWhole(path: string, content: string): void {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, content);
  renameSync(partial, path);
}

/** Bundles the workflows with webpack, in this process, and writes the bundle and its manifest to dist/. */
export async function buildWorkflowBundle(logger: Logger = warningsOnly, bundlePath = WORKFLOW_BUNDLE_PATH): Promise<string> {
  const read = new Set<string>();
  const { code } = await bundleWorkflowCode({
    ...WORKFLOW_BUNDLER_OPTIONS,
    logger,
    webpackConfigHook: (config) => {
      config.plugins = [
        ...(config.plugins ?? []),
        {
          apply: (compiler) =>
            compiler.hooks.afterEmit.tap('los-workflow-inputs', (compilation) => {
              for (const file of compilation.fileDependencies) read.add(file);
            }),
        },
      ];
      return config;
    },
  });
  // This file is an input too: it holds the bundler options.
  writeWorkflowBundle(bundlePath, code, [...read, new URL(import.meta.url).pathname]);
  return bundlePath;
}

/**
 * Writes a bundle and, beside it, the manifest of the files it was built from. Directories among them (webpack
 * lists those it resolved in) and files not on disk (the bundler's entry point lives in memory) are left out.
 */
export function writeWorkflowBundle(bundlePath: string, code: string, inputFiles: Iterable<string>): void {
  const inputs: Record<string, string> = {};
  for (const file of [...inputFiles].sort()) {
    if (isAbsolute(file) && statSync(file, { throwIfNoEntry: false })?.isFile()) inputs[projectPath(file)] = sha256(file);
  }
  if (Object.keys(inputs).length === 0) throw new Error('the workflow bundler reported no input files; cannot tell when the bundle goes stale');
  mkdirSync(dirname(bundlePath), { recursive: true });
  writeWhole(bundlePath, code);
  const manifest: BundleManifest = { bundle: createHash('sha256').update(code).digest('hex'), inputs };
  writeWhole(manifestBeside(bundlePath), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Why the bundle (in dist/) cannot be used, or undefined when it was built from the files in the tree now. */
export function workflowBundleStaleness(bundlePath = WORKFLOW_BUNDLE_PATH): string | undefined {
  const manifestPath = manifestBeside(bundlePath);
  if (!existsSync(bundlePath) || !existsSync(manifestPath)) return `there is no workflow bundle at ${projectPath(bundlePath)} with its manifest`;
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BundleManifest;
  } catch (err) {
    return `the workflow bundle's manifest ${projectPath(manifestPath)} is unreadable (${(err as Error).message})`;
  }
  if (sha256(bundlePath) !== manifest.bundle) return `the workflow bundle does not match its manifest (built by another run meanwhile?)`;
  const inputs = Object.entries(manifest.inputs ?? {});
  if (inputs.length === 0) return `the workflow bundle's manifest ${projectPath(manifestPath)} lists no input files`;
  for (const [file, hash] of inputs) {
    const path = resolve(PROJECT_ROOT, file);
    if (!existsSync(path)) return `${file}, which the workflow bundle was built from, is gone`;
    if (sha256(path) !== hash) return `${file} changed since the workflow bundle was built`;
  }
  return undefined;
}

/** The bundle in dist/, for a worker; throws, naming the reason, when it is missing or stale. Never bundles. */
export function builtWorkflowBundle(): { codePath: string } {
  const stale = workflowBundleStaleness();
  if (stale) throw new Error(`${stale}: run \`npm run build:workflows\` before starting the worker`);
  return { codePath: WORKFLOW_BUNDLE_PATH };
}

/** The bundle in dist/, built first if it is missing or stale: for the demo, the tests and the bench. */
export async function currentWorkflowBundle(report: (line: string) => void = () => undefined): Promise<{ codePath: string }> {
  const stale = workflowBundleStaleness();
  if (stale) {
    report(`building the workflow bundle: ${stale}`);
    await buildWorkflowBundle();
  }
  return { codePath: WORKFLOW_BUNDLE_PATH };
}

// webpack's statistics are for debugging the bundler; its warnings and errors still show.
const noop = () => undefined;
const warningsOnly: Logger = {
  log: noop,
  trace: noop,
  debug: noop,
  info: noop,
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
};
