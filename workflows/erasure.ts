import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/index.js';
import { deadlineAfter } from '../domain/index.js';

const { destroyDataKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '30 seconds',
  // Erasure must happen: a key store that is down for a while only delays it.
  retry: { maximumInterval: '10 minutes' },
});

export interface ErasureInput {
  operationId: string;
  /** A duration such as "90 days" or "5s" (domain/deadlines.ts). */
  retention: string;
}

/**
 * Erasure by key destruction (GDPR art. 5(1)(e)): started by an operation when it ends and left running on
 * its own, it waits out the retention on a durable timer and destroys the operation's data key. From then on
 * every sealed field of the operation, in any history, backup or archive, reads only as "erased on <date>".
 */
export async function eraseOperationData(input: ErasureInput): Promise<{ operationId: string; erasedAt: string }> {
  const start = workflowInfo().startTime.getTime();
  const dueMs = deadlineAfter(start, input.retention);
  await sleep(Math.max(0, dueMs - Date.now()));
  const { erasedAt } = await destroyDataKey(input.operationId);
  return { operationId: input.operationId, erasedAt };
}
