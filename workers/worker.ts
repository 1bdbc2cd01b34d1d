import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createKeyActivities, createNotifyActivities } from '../activities/index.js';
import { engineDataConverter, FAILURE_CONVERTER_PATH } from './codec.js';
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
   * Operations kept in memory between their workflow tasks. Each costs about 2 MiB (measured: 0.2 MiB is the
   * SDK's own sandbox, 0.6 MiB zod evaluated in it, 0.9 MiB the domain's schemas, the rest the operation), and
   * most sleep for days between events, so a bounded cache trades a cheap replay for bounded memory: 100
   * keeps the worker near 500 MiB however many operations are open.
   * @default 100
   */
  maxCachedWorkflows?: number;
  /**
   * False only to measure what encryption costs (the benchmark): no payload codec.
   * @default true
   */
  encryption?: boolean;
}

export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

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
    activities: { ...createNotifyActivities(jetstream(options.nc), options.keys), ...createKeyActivities(options.keys) },
    dataConverter: options.encryption === false ? { failureConverterPath: FAILURE_CONVERTER_PATH } : engineDataConverter(options.keys),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    ...workflowSource,
  });
}
