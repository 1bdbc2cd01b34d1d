import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  DeadlineName,
  AgencyAnswer,
  AmendTip,
  CorrectableTipField,
  CorrectionNotice,
  AgencyId,
  AgencyStatus,
  HeldActionPlan,
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  ClosedRequest,
  ConflictLog,
  CloseOperation,
  DecisionReceipt,
  MandateCatalogue,
  OperationConfig,
  OperationState,
  OrderReinspection,
  OutcomeSummary,
  PendingRequest,
  Phase,
  SignedAnswers,
  Stage,
  QuorumDecision,
  Sealed,
  RescheduleAction,
  ScheduleAction,
  TimelineEntry,
  Tip,
} from '../domain/index.js';

/**
 * The operation's messages, declared once and imported by both the workflow and every client (the demo,
 * the bridge, tests). Update inputs are the raw coordinator input: the workflow's validators parse them
 * with the domain schemas, so a bad decision is rejected before it reaches the history.
 */

export const TASK_QUEUE = 'los-operations';

export type { Stage };

/** A deadline as the operation keeps it: when it started, when it falls, and how far it has been acted on. */
export interface DeadlineMemory {
  what: DeadlineName;
  startedAt: string;
  dueAt: string;
  reminded: boolean;
  missed: boolean;
}

/**
 * A coordinator decision that has been admitted but not yet acted on. Update handlers only record intent;
 * the stage that owns the decision acts on it, so every effect happens in one place, in order.
 */
export type Intent =
  | { kind: 'assessment'; decision: AssessmentDecision }
  | { kind: 'quorum decision'; decision: QuorumDecision }
  | { kind: 'schedule'; plan: HeldActionPlan }
  | { kind: 'reschedule'; change: RescheduleAction }
  | { kind: 'call off'; reason: string | Sealed }
  | { kind: 'reinspection'; reason: string | Sealed }
  | { kind: 'close'; summary: string | Sealed }
  | { kind: 'cancel'; reason: string | Sealed }
  /** A corrected tip is applied at once; the agencies holding the changed data are told by the main loop. */
  | { kind: 'correction'; number: number; notices: CorrectionNotice[] };

/** Everything an operation knows, carried whole across continue-as-new so that nothing is lost. */
export interface OperationMemory {
  /** The workflow code that wrote it: v1 memory resumes on the frozen v1 code. */
  version: 2;
  phase: Phase;
  stage: Stage;
  timeline: TimelineEntry[];
  agencies: AgencyStatus[];
  pending: PendingRequest[];
  closedRequests: ClosedRequest[];
  /** Conflicting answers per request (absent in operations started before answer-conflicts-v1). */
  conflicts?: ConflictLog[];
  seenAnswerIds: string[];
  secondWave: AgencyId[];
  overdue: boolean;
  deadline?: DeadlineMemory;
  rounds: { information: number; mandate: number; action: number };
  action?: { plan: HeldActionPlan; revision: number };
  intents: Intent[];
  endReason?: string | Sealed;
  coordinatorSummary?: string | Sealed;
  /** How many corrections of the tip were applied (absent in operations that never had one). */
  corrections?: number;
  /** The bridge's public key, handed back by the first fan-out: agency answers count only with its signature. */
  bridgeKey?: string;
  /** The final fan-out has arranged the erasure (delayed start); absent in operations that start an erasure child. */
  erasureArranged?: boolean;
  continuedAsNew: number;
}

export interface OperationInput {
  tip: Tip;
  config: OperationConfig;
  /** The catalogue as it was when the operation started; later edits do not change a running operation. */
  catalogue: MandateCatalogue;
  /** The bridge's public key, when the starter has it (domain/start.ts). */
  bridgeKey?: string;
  /** Present after continue-as-new: the operation resumes exactly where it was. */
  memory?: OperationMemory;
}

export interface OperationResult {
  operationId: string;
  phase: Phase;
  endReason?: string | Sealed;
  outcome?: OutcomeSummary;
}

export const assessUpdate = defineUpdate<DecisionReceipt, [AssessmentDecision]>('assess');
export const decideQuorumUpdate = defineUpdate<DecisionReceipt, [QuorumDecision]>('decideQuorum');
export const scheduleUpdate = defineUpdate<DecisionReceipt, [ScheduleAction]>('schedule');
export const rescheduleUpdate = defineUpdate<DecisionReceipt, [RescheduleAction]>('reschedule');
export const callOffUpdate = defineUpdate<DecisionReceipt, [CallOffAction]>('callOff');
export const reinspectUpdate = defineUpdate<DecisionReceipt, [OrderReinspection]>('reinspect');
export const closeUpdate = defineUpdate<DecisionReceipt, [CloseOperation]>('close');
export const cancelUpdate = defineUpdate<DecisionReceipt, [CancelOperation]>('cancel');

/** What a correction of the tip changed, and which agencies were told (each only of what it holds). */
export interface CorrectionReceipt extends DecisionReceipt {
  changed: CorrectableTipField[];
  told: AgencyId[];
}
/**
 * A corrected tip (same identity, so the same operation). The validator refuses one that changes nothing
 * with the failure type `FailureType.TipUnchanged` (workflows/failures.ts), so a plain re-registration leaves no trace in the history.
 */
export const amendTipUpdate = defineUpdate<CorrectionReceipt, [AmendTip]>('amendTip');

/** What became of an agency's answer: applied, recorded as late or conflicting, or recognised as a duplicate. */
export interface AnswerReceipt {
  outcome: 'applied' | 'late' | 'conflicting' | 'duplicate' | 'ignored';
}

/**
 * Agency answers arrive from the bridge as an update, so that an answer the operation cannot take (another
 * operation's, or one whose correlation key matches no request) is rejected back to the bridge, which
 * dead-letters it with the reason, instead of vanishing into the history.
 */
export const agencyAnswerUpdate = defineUpdate<AnswerReceipt, [AgencyAnswer]>('agencyAnswer');

/** The most answers the bridge hands one operation in one update. */
export const MAX_ANSWER_BATCH = 32;

/**
 * Several answers to one operation in one update, applied in the order given, with one receipt each: the
 * bridge hands over at once what queued up for an operation while its previous answer was being applied. The
 * batch is signed once as a whole and taken whole or refused whole (naming the answer that was refused); the
 * bridge then applies its answers one by one, so each refusal reaches its own agency.
 */
export const agencyAnswersUpdate = defineUpdate<AnswerReceipt[], [SignedAnswers<AgencyAnswer>]>('agencyAnswers');

export const stateQuery = defineQuery<OperationState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');

/** Registered on the dev server at start; kept current by the workflow so operators can filter in the UI. */
export const searchAttributes = {
  phase: defineSearchAttributeKey('LosPhase', SearchAttributeType.KEYWORD),
  municipality: defineSearchAttributeKey('LosMunicipality', SearchAttributeType.KEYWORD),
  agencies: defineSearchAttributeKey('LosAgencies', SearchAttributeType.KEYWORD_LIST),
  nextDeadline: defineSearchAttributeKey('LosNextDeadline', SearchAttributeType.DATETIME),
  overdue: defineSearchAttributeKey('LosOverdue', SearchAttributeType.BOOL),
  /**
   * The pseudonymous entity reference: HMAC-SHA-256 of the normalised org number under a key only the engine
   * holds (coordinator/entityReference.ts). Operations about the same business share it; without the key it
   * reveals nothing, not even to someone who hashes every org number. Set by the client at start.
   */
  entityRef: defineSearchAttributeKey('LosEntityRef', SearchAttributeType.KEYWORD),
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
