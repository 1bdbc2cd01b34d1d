import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createKeyActivities, createNotifyActivities } from '../activities/index.js';
import { engineDataConverter } from '../vault/index.js';
import type { AuditLog, KeyStore } from '../vault/index.js';
import { TASK_QUEUE } from '../workflows/definitions.js';
import { builtWorkflowBundle } from './workflowBundle.js';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../config/index.js';

export interface OperationWorkerOptions {
  connection: NativeConnection;
  nc: NatsConnection;
  /** Unseals for the notify activity, serves the bridge's public key and destroys data keys at erasure. */
  keys: KeyStore;
  /** Where the erasure reconciliation puts each erasure it caught up. */
  audit?: AuditLog;
  namespace?: string;
  taskQueue?: string;
  /**
   * The workflow bundle to run.
   * @default the bundle in dist/, if it is current (workers/workflowBundle.ts); the worker never bundles itself
   */
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

/**
 * The build id the worker stamps on every workflow task and activity it runs (`workerVersion` in the history):
 * which workflow code ran it, as the SDK's default says, in 12 characters instead of its 90 (the package name,
 * its version and the bundle's whole SHA-256), which every operation's history carries some 30 times.
 * 32 bits of the bundle's digest tell a deployment's builds apart; the worker does not opt into versioning, so
 * it is only a record.
 */
export function workflowBuildId(bundle: { code: string } | { codePath: string }): string {
  const code = 'code' in bundle ? bundle.code : readFileSync(bundle.codePath);
  return `los@${createHash('sha256').update(code).digest('hex').slice(0, 8)}`;
}

/** The worker that runs operations and their notification activities. */
export async function createOperationWorker(options: OperationWorkerOptions): Promise<Worker> {
  const workflowBundle = options.workflowBundle ?? builtWorkflowBundle();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: {
      ...createNotifyActivities(jetstream(options.nc), options.keys),
      ...createKeyActivities(options.keys, await jetstreamManager(options.nc), options.audit),
    },
    dataConverter: options.dataConverter ?? engineDataConverter(options.keys),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    workflowBundle,
    buildId: workflowBuildId(workflowBundle),
  });
}
