import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
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
   * Operations kept in memory between their workflow tasks. Each costs about 1.5–2 MiB (bench/README.md), and
   * most sleep for days between events, so a bounded cache trades a cheap replay for bounded memory.
   */
  maxCachedWorkflows?: number;
}

export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

export const WORKFLOWS_PATH = new URL('../workflows/index.ts', import.meta.url).pathname;

/** The worker that runs operations and their notification activities. */
export async function createOperationWorker(options: OperationWorkerOptions): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: WORKFLOWS_PATH };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: { ...createNotifyActivities(options.nc.jetstream(), options.keys), ...createKeyActivities(options.keys) },
    dataConverter: engineDataConverter(options.keys),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    ...workflowSource,
  });
}
