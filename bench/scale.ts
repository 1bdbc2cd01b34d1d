import { performance } from 'node:perf_hooks';
import { registerWaiting, type LifecycleContext } from './operations.js';
import { readCpuSeconds, readMemory, sqliteSize } from './processes.js';
import { sleep } from './stats.js';

/**
 * Many operations left open on long deadlines, as a national deployment would hold them: each waits in
 * assessment on a durable timer. What grows with them is the worker's memory (its sticky cache keeps
 * recently active workflows) and the server's database.
 */

export interface ScaleCheckpoint {
  open: number;
  /** Every registered operation had completed its first workflow task (visibility showed it in assessment). */
  settled: boolean;
  secondsSinceStart: number;
  registrationsPerSecond: number;
  /** Worker CPU seconds since the scale run began: taking operations into assessment, and its garbage collection. */
  workerCpuSeconds?: number;
  workerRssBytes?: number;
  workerPeakBytes?: number;
  bridgeRssBytes?: number;
  database?: { db: number; wal: number; shm: number; total: number };
}

export interface ScaleResult {
  requested: number;
  registered: number;
  failed: number;
  assessmentDeadline: string;
  checkpoints: ScaleCheckpoint[];
  workflowIds: string[];
}

export const SCALE_ASSESSMENT_DEADLINE = '30 days';
const REGISTER_CONCURRENCY = 32;

export function checkpointsFor(total: number): number[] {
  return [...new Set([Math.round(total / 10), Math.round(total / 2), total])].filter((n) => n > 0).sort((a, b) => a - b);
}

export async function runScale(
  ctx: LifecycleContext,
  total: number,
  pids: { worker?: number; bridge?: number },
  dbFile: string | undefined,
  log: (line: string) => void,
): Promise<ScaleResult> {
  const inAssessment = `TaskQueue = '${ctx.taskQueue}' AND LosPhase = 'assessment' AND ExecutionStatus = 'Running'`;
  const alreadyOpen = (await ctx.client.workflow.count(inAssessment)).count;
  const workflowIds: string[] = [];
  const checkpoints: ScaleCheckpoint[] = [];
  let failed = 0;
  let index = 0;
  const startedAt = performance.now();
  const workerCpuAtStart = pids.worker === undefined ? undefined : readCpuSeconds(pids.worker);
  let segmentStartedAt = startedAt;
  let segmentStart = 0;

  for (const target of checkpointsFor(total)) {
    await Promise.all(
      Array.from({ length: REGISTER_CONCURRENCY }, async () => {
        while (index < target) {
          const mine = index++;
          try {
            workflowIds.push(await registerWaiting(ctx, mine, SCALE_ASSESSMENT_DEADLINE));
          } catch {
            failed += 1;
          }
        }
      }),
    );
    const registeredAt = performance.now();
    const registrationsPerSecond = (target - segmentStart) / ((registeredAt - segmentStartedAt) / 1000);
    // Started is not yet running: wait until the worker has taken every new operation into assessment.
    let settled = false;
    const giveUpAt = performance.now() + 600_000;
    while (!settled && performance.now() < giveUpAt) {
      const open = (await ctx.client.workflow.count(inAssessment).catch(() => ({ count: -1 }))).count;
      settled = open >= alreadyOpen + workflowIds.length;
      if (!settled) await sleep(500);
    }
    const worker = pids.worker === undefined ? undefined : readMemory(pids.worker);
    const bridge = pids.bridge === undefined ? undefined : readMemory(pids.bridge);
    const workerCpu = pids.worker === undefined ? undefined : readCpuSeconds(pids.worker);
    const checkpoint: ScaleCheckpoint = {
      open: workflowIds.length,
      settled,
      secondsSinceStart: (performance.now() - startedAt) / 1000,
      registrationsPerSecond,
      ...(workerCpu !== undefined && workerCpuAtStart !== undefined ? { workerCpuSeconds: workerCpu - workerCpuAtStart } : {}),
      ...(worker ? { workerRssBytes: worker.rssBytes, workerPeakBytes: worker.peakBytes } : {}),
      ...(bridge ? { bridgeRssBytes: bridge.rssBytes } : {}),
      ...(dbFile ? { database: sqliteSize(dbFile) } : {}),
    };
    checkpoints.push(checkpoint);
    log(
      `  ${checkpoint.open} open: worker RSS ${worker ? (worker.rssBytes / 2 ** 20).toFixed(0) : '?'} MiB, database ${
        checkpoint.database ? (checkpoint.database.total / 2 ** 20).toFixed(1) : '?'
      } MiB, ${registrationsPerSecond.toFixed(0)} registrations/s${settled ? '' : ' (not settled)'}`,
    );
    segmentStartedAt = performance.now();
    segmentStart = target;
  }
  return { requested: total, registered: workflowIds.length, failed, assessmentDeadline: SCALE_ASSESSMENT_DEADLINE, checkpoints, workflowIds };
}

/** On a server this run did not start, the open operations are ended so they do not linger for 30 days. */
export async function terminateAll(ctx: LifecycleContext, workflowIds: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < workflowIds.length) {
        const id = workflowIds[next++]!;
        await ctx.client.workflow
          .getHandle(id)
          .terminate('benchmark finished')
          .catch(() => undefined);
      }
    }),
  );
}
