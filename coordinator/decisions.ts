import type { WorkflowHandle } from '@temporalio/client';
import { DECISIONS, parseWith, type DecisionInput, type DecisionKind, type DecisionReceipt } from '../domain/index.js';
import { decisionUpdates } from '../workflows/definitions.js';
import { decisionUpdateId } from './operation-id.js';
import { InvalidInputError } from './operations.js';
import { sealDecision } from '../vault/index.js';

/**
 * The typed client for the coordinator's decisions, one per row of the decision table
 * (domain/decision-table.ts): parsed with the row's schema, sealed, sent as the row's update. The workflow's
 * validator parses again and has the last word on what the operation takes now.
 */

/** A decision as its row's schema parses it; a mistake names the field ("assessment rejected: reason …"). */
export function parseDecision<K extends DecisionKind>(kind: K, input: unknown): DecisionInput<K> {
  const result = parseWith(DECISIONS[kind].schema, input, kind);
  if (!result.ok) throw new InvalidInputError(result.error);
  return result.value as DecisionInput<K>;
}

/** Sends a parsed decision to a running operation; its free text is sealed with the operation's key first. */
export async function sendDecision<K extends DecisionKind>(
  handle: WorkflowHandle,
  keys: Parameters<typeof sealDecision>[0],
  kind: K,
  decision: DecisionInput<K>,
): Promise<DecisionReceipt> {
  // Free text is personal data: sealed with the operation's key before it reaches Temporal.
  const sealed = await sealDecision(keys, handle.workflowId, decision);
  return handle.executeUpdate(decisionUpdates[kind], { args: [sealed], updateId: decisionUpdateId() });
}
