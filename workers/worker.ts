import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createKeyActivities, createNotifyActivities } from '../activities/index.js';
import { engineDataConverter } from './codec.js';
import type { KeyStore } from './keys.js';
import { TASK_QUEUE } from '../workflows/definitions.js';

export interface OperationWorkerOptions {
  connection: NativeConnection;
  nc: NatsConnection;
  /** Unseals for the notify activity, serves the bridge's public key and destroys data keys at erasure. */
  keys: KeyStore;
  namespace?: string;
  taskQueue?: string;
  /** A pre-built bundle (tests bundle once per run); otherwise the worker bundles `workflows/` itself. */
  workflowBundle?: { code: string } | { codePath: string };
  /** How long in-flight activities may run on after shutdown begins. */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * Operations kept in memory between their workflow tasks. Each costs its own state plus about 0.1 MiB of
   * sandbox (measured after importing the workflow code): zod, the ed25519 and SHA-256 code and the domain's
   * schemas are evaluated once per workflow thread and shared (workflows/shared-modules.ts, domain/shared.ts),
   * where each cached operation used to evaluate them again (1.5 MiB). Most operations sleep for days between
   * events, so a bounded cache trades a cheap replay for bounded memory.
   * @default 100
   */
  maxCachedWorkflows?: number;
  /**
   * The benchmark gives one without the payload codec, to measure what encryption costs (bench/plaintext.ts).
   * @default engineDataConverter(keys): the payload codec
   */
  dataConverter?: DataConverter;
}

export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

export const WORKFLOWS_PATH = new URL('../workflows/index.ts', import.meta.url).pathname;

/**
 * How the worker bundles `workflows/`, wherever it is bundled (here, workers/main.ts, the tests): the libraries in
 * workflows/shared-modules.ts are evaluated once per workflow thread instead of once per cached operation.
 */
export const WORKFLOW_BUNDLER_OPTIONS: { preloadModules: string[] } = {
  preloadModules: [new URL('../workflows/shared-modules.ts', import.meta.url).pathname],
};

/** The worker that runs operations and their notification activities. */
export async function createOperationWorker(options: OperationWorkerOptions): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: { ...createNotifyActivities(jetstream(options.nc), options.keys), ...createKeyActivities(options.keys) },
    dataConverter: options.dataConverter ?? engineDataConverter(options.keys),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    ...workflowSource,
  });
}
