import { proxyActivities, sleep } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/index.js';

const { destroyDataKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '30 seconds',
  // Erasure must happen: a key store that is down for a while only delays it.
  retry: { maximumInterval: '10 minutes' },
});

export interface ErasureInput {
  operationId: string;
  /** A duration such as "90 days" or "5s" (domain/deadlines.ts). */
  retention: string;
  /**
   * When the key goes. An operation's final fan-out starts this workflow with the retention as its start delay
   * (a durable timer in the server), so the workflow wakes when it is due.
   */
  eraseAt: string;
}

/**
 * Erasure by key destruction (GDPR art. 5(1)(e)): arranged by an operation's final fan-out, it waits out the
 * retention (as its start delay) and destroys the operation's data key. From then on every sealed field of the
 * operation, in any history, backup or archive, reads only as "erased on <date>".
 */
export async function eraseOperationData(input: ErasureInput): Promise<{ operationId: string; erasedAt: string }> {
  // Woken a little early (clocks): the rest on a timer.
  if (Date.parse(input.eraseAt) > Date.now()) await sleep(Date.parse(input.eraseAt) - Date.now());
  const { erasedAt } = await destroyDataKey(input.operationId);
  return { operationId: input.operationId, erasedAt };
}

const { catchUpErasures } = proxyActivities<KeyActivities>({
  // Reads every data key's entry once: minutes at most, even for a national deployment's tens of thousands.
  startToCloseTimeout: '10 minutes',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * The erasure reconciliation, run by a Temporal Schedule (workers/erasureSchedule.ts): erasure must not depend on
 * one workflow surviving, so every data key whose erasure is overdue (its erasure workflow was terminated,
 * cancelled or never ran) is destroyed anyway. Its result counts what it had to catch up.
 */
export async function reconcileErasures(input: { graceMs: number }): Promise<{ caughtUp: number; operationIds: string[] }> {
  const { caughtUp } = await catchUpErasures({ graceMs: input.graceMs });
  return { caughtUp: caughtUp.length, operationIds: caughtUp.map((c) => c.operationId) };
}
