import type { WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { DECISIONS, parseWith, type Author, type DecisionInput, type DecisionKind, type DecisionReceipt, type SignedDecision } from '../domain/index.js';
import { decisionUpdates } from '../workflows/definitions.js';
import { InvalidInputError } from './operations.js';
import { executeSigned } from './signed-updates.js';
import { sealDecision, signDecision, type DecisionSigner } from '../vault/index.js';

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

/** What sending a decision needs of the engine: the key store to seal its free text, the API's key to sign it. */
export interface DecisionKeys {
  keys: Parameters<typeof sealDecision>[0];
  signer: DecisionSigner;
}

/**
 * Sends a parsed decision to a running operation, taken by `author`: its free text is sealed with the
 * operation's key, then the whole is signed with the API's key, bound to this operation and this decision's update.
 */
export async function sendDecision<K extends DecisionKind>(
  handle: WorkflowHandle,
  { keys, signer }: DecisionKeys,
  author: Author,
  kind: K,
  decision: DecisionInput<K>,
): Promise<DecisionReceipt> {
  // Free text is personal data: sealed with the operation's key before it reaches Temporal.
  const sealed = await sealDecision(keys, handle.workflowId, decision);
  const update: UpdateDefinition<DecisionReceipt, [SignedDecision<DecisionInput<K>>]> = decisionUpdates[kind];
  return executeSigned(handle, update, () => signDecision(signer, { update: update.name, operationId: handle.workflowId, decision: sealed, author }));
}
