import { createHmac, randomBytes } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowIdReusePolicy, type UpdateDefinition } from '@temporalio/common';
import {
  DECISIONS,
  OperationConfig,
  Tip,
  catalogueSnapshot,
  parseWith,
  slug,
  tipIdentity,
  type DecisionInput,
  type DecisionKind,
  type DecisionReceipt,
  type MandateCatalogue,
  type OperationConfigInput,
  type Phase,
  type PlainTip,
  type Sealed,
  type Author,
  type SignedDecision,
} from '../domain/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { assertPlain, entityReference, requireEntityKey, sealDecision, sealTip, signDecision, type DecisionSigner, type KeyStore } from '../vault/index.js';
import {
  TASK_QUEUE,
  amendTipUpdate,
  decisionUpdates,
  searchAttributes,
  type CorrectionReceipt,
  type OperationInput,
  type OperationResult,
} from '../workflows/definitions.js';
import { FailureType } from '../workflows/failures.js';
import type { losOperation } from '../workflows/index.js';
import { allOf, quote } from '../domain/index.js';

/**
 * The engine-internal path the API alone takes: seal a tip with its operation's own key and start the operation,
 * correct a running one, seal and send a decision. Nothing outside the engine's network calls these; people reach
 * them through the HTTP API, which has checked who they are first.
 */

export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}

/**
 * The operation ID: a keyed hash (HMAC-SHA-256 with the entity-reference key) of the tip's identity, so registering
 * the same tip twice finds the same operation, and the ID (which operators, Temporal, NATS headers and the erasure
 * record see everywhere) carries no org number or other personal data: without the key, nobody can confirm a guessed
 * tip against it by hashing candidates.
 */
export function operationIdFor(tip: PlainTip, entityKey: string): string {
  const digest = createHmac('sha256', entityKey)
    .update(JSON.stringify(tipIdentity(tip)))
    .digest('hex');
  return `los-${slug(tip.entity.municipality)}-${digest.slice(0, 20)}`;
}

/**
 * The Temporal update id of one decision: random like the SDK's own, but 14 characters instead of a 36-character
 * UUID, since the history writes an update's id four times.
 */
export function decisionUpdateId(): string {
  return `d-${randomBytes(9).toString('base64url')}`;
}

/** How an operation ended, for a person: "cancelled", "closed", "terminated in phase assessment"… */
export interface EndedOperation {
  how: string;
  /** When it ended (ISO instant). */
  at?: string;
  reason?: string | Sealed;
}

/** Another open operation about the same business (same entity reference). */
export interface ParallelOperation {
  operationId: string;
  phase?: string;
  municipality?: string;
}

export interface Registration {
  operationId: string;
  /**
   * `started`: a new operation. The same tip again finds the existing one: `unchanged` when nothing differs,
   * `corrected` when the correctable fields differed and were applied (`amendTip`), `ended` when the
   * operation has ended and takes no correction; none of these starts a second operation.
   */
  outcome: 'started' | 'unchanged' | 'corrected' | 'ended';
  handle: WorkflowHandle<typeof losOperation>;
  /** The pseudonymous entity reference (search attribute `LosEntityRef`). */
  entityRef: string;
  /** Other open operations about the same business; empty when there are none. */
  sameBusiness: ParallelOperation[];
  correction?: CorrectionReceipt;
  ended?: EndedOperation;
}

export interface RegisterOptions {
  /** The key store: the operation's data key is created here and the tip sealed with it before it starts. */
  keys: Pick<KeyStore, 'createDataKey' | 'seal' | 'apiSigningKey'>;
  /** Who registers the tip (from their verified token): the timeline's first entry names them, and a correction is signed as theirs. */
  author: Author;
  /** Signs a correction (`amendTip`); default: the API's key from the key store. */
  signer?: DecisionSigner;
  config?: OperationConfigInput;
  catalogue?: MandateCatalogue;
  taskQueue?: string;
  /** The key of the entity reference; default: `LOS_ENTITY_KEY` / `LOS_ENTITY_KEY_FILE` from the environment. */
  entityKey?: string;
}

export async function registerTip(client: Client, rawTip: unknown, options: RegisterOptions): Promise<Registration> {
  const parsedTip = parseWith(Tip, rawTip, 'tip');
  if (!parsedTip.ok) throw new InvalidInputError(parsedTip.error);
  const config = parseWith(OperationConfig, options.config ?? {}, 'operation config');
  if (!config.ok) throw new InvalidInputError(config.error);
  try {
    assertPlain(rawTip, 'tip');
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
  const tip = parsedTip.value as PlainTip;
  const entityKey = options.entityKey ?? requireEntityKey();
  const entityRef = entityReference(tip.entity.orgNumber, entityKey);
  const operationId = operationIdFor(tip, entityKey);
  // Personal fields are sealed with the operation's own data key before anything reaches Temporal.
  await options.keys.createDataKey(operationId, tip.entity.municipality);
  const sealed = await sealTip(options.keys, operationId, tip);
  const input: OperationInput = {
    tip: sealed,
    config: config.value,
    // Only what the operation can use of the catalogue travels in its history (domain/catalogue.ts).
    catalogue: catalogueSnapshot(options.catalogue ?? loadCatalogueFile(), tip.categories),
    author: options.author,
  };
  const sameBusiness = () => openOperationsAbout(client, entityRef, operationId);
  let handle: WorkflowHandle<typeof losOperation>;
  try {
    handle = await client.workflow.start<typeof losOperation>('losOperation', {
      workflowId: operationId,
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      args: [input],
      // The same tip never starts a second operation, not even after the first one ended.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // What operators read in the UI's list: domain words, no entity identifiers or other personal data. No static
      // details: the workflow's current details say the same and more, and cost the history nothing.
      staticSummary: `LOS operation in ${tip.entity.municipality}: ${tip.categories.join(', ')} (urgency ${tip.urgency})`,
      typedSearchAttributes: [
        { key: searchAttributes.phase, value: 'tip' },
        { key: searchAttributes.municipality, value: tip.entity.municipality },
        { key: searchAttributes.entityRef, value: entityRef },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const existing = client.workflow.getHandle<typeof losOperation>(operationId);
    const registration = { operationId, handle: existing, entityRef };
    const description = await existing.describe();
    if (description.status.name !== 'RUNNING') {
      // Why it ended stays sealed here: reading it is a decode, for an entitled reader and on the access log.
      const ended = await howItEnded(existing, description);
      return { ...registration, outcome: 'ended', sameBusiness: await sameBusiness(), ended };
    }
    // Corrections are never dropped: the running operation applies them and tells who holds the old data.
    try {
      const signer = options.signer ?? (await options.keys.apiSigningKey());
      const correction = await executeSigned(existing, amendTipUpdate, () =>
        signDecision(signer, { update: amendTipUpdate.name, operationId, decision: { tip: sealed }, author: options.author }),
      );
      return { ...registration, outcome: 'corrected', correction, sameBusiness: await sameBusiness() };
    } catch (updateErr) {
      const unchanged =
        updateErr instanceof WorkflowUpdateFailedError && updateErr.cause instanceof ApplicationFailure && updateErr.cause.type === FailureType.TipUnchanged;
      if (!unchanged) throw updateErr;
      return { ...registration, outcome: 'unchanged', sameBusiness: await sameBusiness() };
    }
  }
  return { operationId, outcome: 'started', handle, entityRef, sameBusiness: await sameBusiness() };
}

/** Every open operation with this entity reference except `exceptId`, from visibility (eventually consistent). */
export async function openOperationsAbout(client: Client, entityRef: string, exceptId?: string): Promise<ParallelOperation[]> {
  const found: ParallelOperation[] = [];
  const query = allOf(`${searchAttributes.entityRef.name} = ${quote(entityRef)}`, `ExecutionStatus = 'Running'`);
  for await (const info of client.workflow.list({ query, pageSize: 20 })) {
    if (info.workflowId === exceptId) continue;
    const phase = info.typedSearchAttributes.get(searchAttributes.phase);
    const municipality = info.typedSearchAttributes.get(searchAttributes.municipality);
    found.push({ operationId: info.workflowId, ...(phase !== undefined ? { phase } : {}), ...(municipality !== undefined ? { municipality } : {}) });
    if (found.length >= 20) break;
  }
  return found;
}

/** How, when and why an operation ended: its result for a completed one, the failure's message otherwise. */
export async function howItEnded(handle: WorkflowHandle<typeof losOperation>, description: WorkflowExecutionDescription): Promise<EndedOperation> {
  const at = description.closeTime?.toISOString();
  const status = description.status.name;
  const phase = description.typedSearchAttributes.get(searchAttributes.phase) as Phase | undefined;
  if (status === 'COMPLETED') {
    const result: OperationResult = await handle.result();
    return { how: result.phase, ...(at ? { at } : {}), ...(result.endReason !== undefined ? { reason: result.endReason } : {}) };
  }
  let reason: string | undefined;
  try {
    await handle.result();
  } catch (err) {
    // A terminated operation's reason is the terminate request's, carried as the failure's cause.
    const cause = (err as Error).cause as Error | undefined;
    reason = cause?.message || (err as Error).message;
  }
  return { how: `${status.toLowerCase().replaceAll('_', ' ')}${phase ? ` in phase ${phase}` : ''}`, ...(at ? { at } : {}), ...(reason ? { reason } : {}) };
}

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

export type { OperationResult };
