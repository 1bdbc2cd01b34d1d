import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { SignedDecision } from '../domain/index.js';
import { FailureType } from '../workflows/failures.js';
import { decisionUpdateId } from './operation-id.js';

/** How long a decision waits for an operation that does not hold the API's key yet (its first moments). */
const NOT_READY_PATIENCE_MS = 10_000;

function notReady(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.NotReady;
}

/**
 * Sends a signed decision. A new operation learns the API's key in its first moments and refuses decisions
 * until then (NotReady): those are signed again (a fresh nonce and time) and sent again, for a few seconds.
 */
export async function executeSigned<R, D>(
  handle: Pick<WorkflowHandle, 'executeUpdate'>,
  update: UpdateDefinition<R, [SignedDecision<D>]>,
  sign: () => SignedDecision<D>,
): Promise<R> {
  const giveUpAt = Date.now() + NOT_READY_PATIENCE_MS;
  for (let delayMs = 25; ; delayMs = Math.min(delayMs * 2, 500)) {
    try {
      return await handle.executeUpdate(update, { args: [sign()], updateId: decisionUpdateId() });
    } catch (err) {
      if (!notReady(err) || Date.now() > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
