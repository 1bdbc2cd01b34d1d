import { defineSearchAttributeKey, SearchAttributeType, type UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  AgencyAnswer,
  AgencyId,
  AmendTip,
  AnswerOutcome,
  Author,
  CorrectableFields,
  TipAsShown,
  CorrectableTipField,
  DecisionInput,
  DecisionKind,
  DecisionReceipt,
  DisclosureRegister,
  CatalogueSnapshot,
  OperationConfig,
  OperationMemory,
  OperationState,
  OutcomeSummary,
  Phase,
  Sealed,
  SignedAnswers,
  SignedDecision,
  Stage,
  TimelineEntry,
  Tip,
} from '../domain/index.js';
import { DECISIONS, DECISION_KINDS, SEARCH_ATTRIBUTE_NAMES } from '../domain/index.js';

/**
 * The operation's messages, declared once and imported by both the workflow and every client (the demo,
 * the bridge, tests). Update inputs are the raw coordinator input: the workflow's validators parse them
 * with the domain schemas, so a bad decision is rejected before it reaches the history.
 */

export const TASK_QUEUE = 'los-operations';

export type { Stage };

export interface OperationInput {
  tip: Tip;
  config: OperationConfig;
  /**
   * The catalogue as it was when the operation started, as its snapshot for the tip's categories
   * (domain/catalogue.ts); later edits do not change a running operation.
   */
  catalogue: CatalogueSnapshot;
  /** Who registered the tip (domain/start.ts). */
  author?: Author;
  /** Present after continue-as-new: the operation resumes exactly where it was (domain/operation-memory.ts). */
  memory?: OperationMemory;
}

export interface OperationResult {
  operationId: string;
  phase: Phase;
  endReason?: string | Sealed;
  outcome?: OutcomeSummary;
}

/**
 * One update per decision in the table (domain/decision-table.ts), named as its row says. Each carries the
 * decision signed by the API with its author (domain/authorship.ts); an unsigned one is refused.
 */
export const decisionUpdates = Object.fromEntries(DECISION_KINDS.map((kind) => [kind, defineUpdate(DECISIONS[kind].update)])) as {
  [K in DecisionKind]: UpdateDefinition<DecisionReceipt, [SignedDecision<DecisionInput<K>>]>;
};
export const {
  assessment: assessUpdate,
  'quorum decision': decideQuorumUpdate,
  schedule: scheduleUpdate,
  reschedule: rescheduleUpdate,
  'call off': callOffUpdate,
  reinspection: reinspectUpdate,
  close: closeUpdate,
  cancel: cancelUpdate,
} = decisionUpdates;

/** What a correction of the tip changed, and which agencies were told (each only of what it holds). */
export interface CorrectionReceipt extends DecisionReceipt {
  changed: CorrectableTipField[];
  told: AgencyId[];
}
/**
 * A corrected tip (same identity, so the same operation). The validator refuses one that changes nothing
 * with the failure type `FailureType.TipUnchanged` (workflows/failures.ts), so a plain re-registration leaves no trace in the history.
 */
export const amendTipUpdate = defineUpdate<CorrectionReceipt, [SignedDecision<AmendTip>]>('amendTip');

/**
 * What became of an agency's answer: applied, recorded as late or conflicting, or recognised as a duplicate. A
 * bare word, not an object: one is kept in the history for every answer.
 */
export type AnswerReceipt = AnswerOutcome;

/** The most answers the bridge hands one operation in one update. */
export const MAX_ANSWER_BATCH = 32;

/**
 * Agency answers arrive from the bridge as an update, so that an answer the operation cannot take (another
 * operation's, or one whose correlation key matches no request) is rejected back to the bridge, which
 * dead-letters it with the reason, instead of vanishing into the history. One update carries 1 to
 * MAX_ANSWER_BATCH answers to one operation (what queued up for it while its previous update was being
 * applied), applied in the order given, with one receipt each, or none at all (`undefined`, stored unencrypted as it holds
 * nothing) when every answer was applied, as almost every batch is. The batch is signed once as a whole and taken
 * whole or refused whole (naming the answer that was refused); the bridge then hands each of its answers over
 * in a batch of its own, so each refusal reaches its own agency with its own reason.
 */
export const agencyAnswersUpdate = defineUpdate<AnswerReceipt[] | undefined, [SignedAnswers<AgencyAnswer>]>('agencyAnswers');

export const stateQuery = defineQuery<OperationState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
/** What personal data went to which agency, in which event, on which legal ground (field names, never values). */
export const disclosuresQuery = defineQuery<DisclosureRegister>('disclosures');
/**
 * The current tip's correctable fields (name and address sealed), for a correction to show what it changes
 * before it is sent; never the identity fields or the source's reference, so a protected source stays inside.
 */
export const correctableTipQuery = defineQuery<CorrectableFields>('correctableTip');
/**
 * The current tip as its coordinator reads it (personal fields sealed; the API unseals them for the entitled
 * reader, on the access log). A protected source's reference is not in it (domain/tip.ts: tipAsShown).
 */
export const registeredTipQuery = defineQuery<TipAsShown>('registeredTip');

/** Registered on the dev server at start; kept current by the workflow so operators can filter in the UI. */
export const searchAttributes = {
  phase: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.phase, SearchAttributeType.KEYWORD),
  municipality: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.municipality, SearchAttributeType.KEYWORD),
  agencies: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.agencies, SearchAttributeType.KEYWORD_LIST),
  nextDeadline: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.nextDeadline, SearchAttributeType.DATETIME),
  overdue: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.overdue, SearchAttributeType.BOOL),
  /**
   * The pseudonymous entity reference: HMAC-SHA-256 of the normalised org number under a key only the engine
   * holds (vault/entityReference.ts). Operations about the same business share it; without the key it
   * reveals nothing, not even to someone who hashes every org number. Set by the client at start.
   */
  entityRef: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.entityRef, SearchAttributeType.KEYWORD),
  /** The stage (domain/stages.ts): what the operation waits for, so a list of what awaits a decision is one query. */
  stage: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.stage, SearchAttributeType.KEYWORD),
} as const;

const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.BOOL]: 'Bool',
};

/** The same keys in the dev server's `--search-attribute Name=Type` form. */
export const SEARCH_ATTRIBUTE_FLAGS: Record<string, string> = Object.fromEntries(
  Object.values(searchAttributes).map((key) => [key.name, CLI_TYPE_NAMES[key.type]!]),
);
