import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { erasureReconciliationScheduleId } from '../domain/index.js';
import type { reconcileErasures } from '../workflows/erasure.js';
import type { EngineLogger } from './logger.js';

export interface ErasureReconciliationOptions {
  client: Client;
  taskQueue: string;
  /** How often the reconciliation runs; an erasure more than one interval overdue is caught up. */
  intervalMs: number;
  logger: EngineLogger;
}

/** What keeping the schedule found: it was there as it should be, or had to be made, resumed or changed. */
export type ScheduleRepair = 'unchanged' | 'created' | 'unpaused' | 'updated';

/**
 * Makes the erasure reconciliation's Temporal Schedule exist, unpaused, at the interval asked for. Every worker does
 * this when it starts and again every interval, so a schedule deleted or paused (anyone with write access to the
 * namespace can) is back within one interval of a running worker.
 */
export async function ensureErasureReconciliation({ client, taskQueue, intervalMs, logger }: ErasureReconciliationOptions): Promise<ScheduleRepair> {
  const scheduleId = erasureReconciliationScheduleId(taskQueue);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'reconcileErasures',
    taskQueue,
    workflowId: scheduleId,
    args: [{ graceMs: intervalMs }] as Parameters<typeof reconcileErasures>,
    // A run that cannot finish (no worker) must not hold up the next ones for ever: overlapping runs are skipped.
    workflowExecutionTimeout: Math.max(intervalMs, 3_600_000),
  };
  const handle = client.schedule.getHandle(scheduleId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule
      .create<typeof reconcileErasures>({
        scheduleId,
        spec: { intervals: [{ every: intervalMs }] },
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: intervalMs },
        state: { note: 'destroys every data key whose erasure is overdue (README: Retention and erasure)', triggerImmediately: true },
      })
      .catch((raced: unknown) => {
        // Another worker made it a moment ago.
        if (!(raced instanceof ScheduleAlreadyRunning)) throw raced;
      });
    return 'created';
  }
  if (description.state.paused) {
    logger.warn({ scheduleId, note: description.state.note ?? null }, 'the erasure reconciliation was paused; resumed: erasure cannot be called off');
    await handle.unpause('resumed by the engine: erasure cannot be called off');
    return 'unpaused';
  }
  const every = description.spec.intervals?.[0]?.every;
  if (every !== intervalMs || description.action.taskQueue !== taskQueue) {
    await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every: intervalMs }] }, action }));
    return 'updated';
  }
  return 'unchanged';
}

/**
 * Keeps the schedule as ensureErasureReconciliation makes it, now and every interval (at least every minute); returns
 * what stops it. A failure (Temporal away, a token without the permission) is logged and tried again at the next
 * check: the worker's operations do not wait for the schedule.
 */
export async function keepErasureReconciliation(options: ErasureReconciliationOptions): Promise<() => void> {
  const { logger, intervalMs } = options;
  const scheduleId = erasureReconciliationScheduleId(options.taskQueue);
  const keep = async () => {
    try {
      const repair = await ensureErasureReconciliation(options);
      if (repair !== 'unchanged') logger.info({ scheduleId, repair, intervalMs }, 'erasure reconciliation scheduled');
    } catch (err) {
      logger.error({ scheduleId, err: (err as Error).message }, 'could not check the erasure reconciliation schedule; tried again at the next check');
    }
  };
  await keep();
  const timer = setInterval(() => void keep(), Math.max(intervalMs, 60_000));
  timer.unref();
  return () => clearInterval(timer);
}
