import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  AgencyAnswer,
  AgencyId,
  AgencyStatus,
  HeldActionPlan,
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  CloseOperation,
  DecisionReceipt,
  Deadline,
  MandateCatalogue,
  OperationConfig,
  OperationState,
  OrderReinspection,
  OutcomeSummary,
  PendingRequest,
  Phase,
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

/** Where the operation stands between two events: finer than the phase, so it can resume exactly. */
export type Stage =
  | 'assessment'
  | 'mandate_answers'
  | 'quorum_decision'
  | 'awaiting_schedule'
  | 'awaiting_start'
  | 'findings'
  | 'follow_up_wait'
  | 'outcomes'
  | 'closing_decision'
  | 'ended';

export interface DeadlineMemory {
  what: Deadline['what'];
  startedAt: string;
  dueAt: string;
  reminded: boolean;
  missed: boolean;
}

/** Everything an operation knows, carried whole across continue-as-new so that nothing is lost. */
export interface OperationMemory {
  phase: Phase;
  stage: Stage;
  timeline: TimelineEntry[];
  agencies: AgencyStatus[];
  pending: PendingRequest[];
  closedRequests: PendingRequest[];
  seenAnswerIds: string[];
  secondWave: AgencyId[];
  overdue: boolean;
  deadline?: DeadlineMemory;
  rounds: { information: number; mandate: number; action: number };
  action?: { plan: HeldActionPlan; revision: number };
  assessment?: AssessmentDecision;
  quorumDecision?: QuorumDecision;
  closeRequest?: CloseOperation;
  reinspection?: OrderReinspection;
  cancelRequest?: string | Sealed;
  endReason?: string | Sealed;
  coordinatorSummary?: string | Sealed;
  continuedAsNew: number;
  /** Set when this operation takes agency answers only with the bridge's signature (patch signed-answers-v1). */
  signedAnswers?: boolean;
  /** The bridge's public key, from an activity (so a replay sees the same one); carried across continue-as-new. */
  bridgeKey?: string;
}

export interface OperationInput {
  tip: Tip;
  config: OperationConfig;
  /** The catalogue as it was when the operation started; later edits do not change a running operation. */
  catalogue: MandateCatalogue;
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

/** What became of an agency's answer: applied, recorded as late, or recognised as a duplicate. */
export interface AnswerReceipt {
  outcome: 'applied' | 'late' | 'duplicate' | 'ignored';
}

/**
 * Agency answers arrive from the bridge as an update, so that an answer the operation cannot take (another
 * operation's, or one whose correlation key matches no request) is rejected back to the bridge, which
 * dead-letters it with the reason, instead of vanishing into the history.
 */
export const agencyAnswerUpdate = defineUpdate<AnswerReceipt, [AgencyAnswer]>('agencyAnswer');

export const stateQuery = defineQuery<OperationState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');

/** Registered on the dev server at start; kept current by the workflow so operators can filter in the UI. */
export const searchAttributes = {
  phase: defineSearchAttributeKey('LosPhase', SearchAttributeType.KEYWORD),
  municipality: defineSearchAttributeKey('LosMunicipality', SearchAttributeType.KEYWORD),
  agencies: defineSearchAttributeKey('LosAgencies', SearchAttributeType.KEYWORD_LIST),
  nextDeadline: defineSearchAttributeKey('LosNextDeadline', SearchAttributeType.DATETIME),
  overdue: defineSearchAttributeKey('LosOverdue', SearchAttributeType.BOOL),
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
