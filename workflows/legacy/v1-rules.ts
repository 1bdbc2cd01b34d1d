import {
  ANSWER_TO,
  type ActionPlan,
  type AgencyAnswer,
  type AgencyId,
  type AgencyStatus,
  type AssessmentDecision,
  type CloseOperation,
  type MandateCatalogue,
  type OperationConfig,
  type OrderReinspection,
  type OutcomeSummary,
  type Phase,
  type QuorumDecision,
  type RequestEventName,
  type TimelineEntry,
  type Tip,
} from '../../domain/index.js';

/**
 * FROZEN: the types and rules of workflow code v1, as they were when it was replaced. v1 operations carry
 * these shapes in their continue-as-new input, so they must not follow later changes in domain/.
 */
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

export const AWAITING_BY_REQUEST = {
  mandate_requested: 'mandate_answer',
  information_requested: 'information',
  briefing: 'readiness',
  findings_requested: 'findings',
  outcome_requested: 'outcome',
} as const satisfies Record<RequestEventName, string>;
export type Awaiting = (typeof AWAITING_BY_REQUEST)[RequestEventName];

export interface PendingRequest {
  requestId: string;
  agency: AgencyId;
  awaiting: Awaiting;
  dueAt: string;
}

export interface Deadline {
  what: 'assessment' | 'mandate_answers' | 'action_start' | 'findings' | 'follow_up' | 'outcomes';
  dueAt: string;
}

export interface DeadlineMemory {
  what: Deadline['what'];
  startedAt: string;
  dueAt: string;
  reminded: boolean;
  missed: boolean;
}

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
  action?: { plan: ActionPlan; revision: number };
  assessment?: AssessmentDecision;
  quorumDecision?: QuorumDecision;
  closeRequest?: CloseOperation;
  reinspection?: OrderReinspection;
  cancelRequest?: string;
  endReason?: string;
  coordinatorSummary?: string;
  continuedAsNew: number;
}

export interface OperationInput {
  tip: Tip;
  config: OperationConfig;
  catalogue: MandateCatalogue;
  memory?: OperationMemory;
}

export interface OperationState {
  operationId: string;
  phase: Phase;
  municipality: string;
  categories: string[];
  agencies: AgencyStatus[];
  pending: PendingRequest[];
  nextDeadline?: Deadline;
  overdue: boolean;
  waitingFor: string;
  action?: ActionPlan;
  outcome?: OutcomeSummary;
  endReason?: string;
  actionNumber: number;
  secondWave: AgencyId[];
}

export type AnswerMatch =
  { kind: 'duplicate' } | { kind: 'open'; request: PendingRequest } | { kind: 'late'; request: PendingRequest } | { kind: 'unmatched'; reason: string };

export function matchAnswer(
  answer: AgencyAnswer,
  book: { operationId: string; open: ReadonlyMap<string, PendingRequest>; closed: ReadonlyMap<string, PendingRequest>; seen: ReadonlySet<string> },
): AnswerMatch {
  if (book.seen.has(answer.eventId)) return { kind: 'duplicate' };
  const { requestId, operationId } = answer.data.correlation;
  if (operationId !== book.operationId) return { kind: 'unmatched', reason: `correlation.operationId "${operationId}" is another operation` };
  const expected = AWAITING_BY_REQUEST[ANSWER_TO[answer.name]];
  const fits = (request: PendingRequest | undefined): request is PendingRequest =>
    request !== undefined && request.agency === answer.agency && request.awaiting === expected;
  const open = book.open.get(requestId);
  if (fits(open)) return { kind: 'open', request: open };
  const closed = book.closed.get(requestId);
  if (fits(closed)) return { kind: 'late', request: closed };
  return { kind: 'unmatched', reason: `correlation.requestId "${requestId}" matches no request to ${answer.agency} awaiting ${answer.name}` };
}
