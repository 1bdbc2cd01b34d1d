import type { AgencyId } from './agencies.js';
import type { DecidedBy } from './authorship.js';
import type { HeldActionPlan } from './events.js';
import type { Sealed } from './sealed.js';
import type { Outcome } from './outcomes.js';
import type { Phase } from './phases.js';
import type { Awaiting } from './requests.js';
import type { DeadlineName, Stage } from './stages.js';

/** What is known about one agency within one operation. */
export interface AgencyStatus {
  agency: AgencyId;
  mandate: 'not_asked' | 'requested' | 'accepted' | 'declined' | 'no_answer';
  tools: string[];
  contactFunction?: string | Sealed;
  declineReason?: string | Sealed;
  ready: boolean;
  findings: 'not_asked' | 'requested' | 'reported' | 'missing';
  sanctions: Outcome[];
  outcomes: 'not_asked' | 'requested' | 'reported' | 'missing';
  reportedOutcomes: Outcome[];
  /** Final outcomes of earlier joint actions, kept when a re-inspection starts a new one. */
  settledOutcomes: Outcome[];
}

/** One open request to an agency: the answer must echo `requestId` in its correlation key. */
export interface PendingRequest {
  requestId: string;
  agency: AgencyId;
  awaiting: Awaiting;
  dueAt: string;
}

/** The next deadline, named after the stage it ends. */
export interface Deadline {
  what: DeadlineName;
  dueAt: string;
}

/** The answer to the state query: what an operator or coordinator needs to see at a glance. */
export interface OperationState {
  operationId: string;
  phase: Phase;
  municipality: string;
  categories: string[];
  agencies: AgencyStatus[];
  pending: PendingRequest[];
  nextDeadline?: Deadline;
  overdue: boolean;
  /** Where the operation stands in the stage machine: what programs and tests wait on. */
  stage: Stage;
  /** What the operation is waiting for right now, in words, for people; programs read `stage`. */
  waitingFor: string;
  action?: HeldActionPlan;
  outcome?: OutcomeSummary;
  endReason?: string | Sealed;
  /** Which joint action this is: 2 and up after a re-inspection. */
  actionNumber: number;
  /** Agencies that got the second-wave notice at follow-up. */
  secondWave: AgencyId[];
}

/**
 * What a coordinator decision returns: where the operation stands right after it. Small on purpose, because
 * every update's result is stored in the operation's history; the caller knows the operation, and the whole
 * state (deadline, overdue flag, agencies) is one query away.
 */
export type DecisionReceipt = Pick<OperationState, 'phase' | 'stage' | 'waitingFor'>;

export type TimelineKind =
  | 'phase_changed'
  | 'decision'
  | 'notified'
  | 'answer'
  | 'late_answer'
  | 'conflicting_answer'
  | 'answer_ignored'
  | 'no_answer'
  | 'reminder'
  | 'escalated'
  | 'deadline'
  | 'continued';

/** The operation's record: every decision, answer and deadline event, in order. */
export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  /** The agency concerned, or the steering group or coordinator when an event went to them. */
  agency?: AgencyId | 'steering_group' | 'coordinator';
  text: string;
  /** Who took the decision, or registered the tip, as the API signed it. */
  by?: DecidedBy;
  /** An event sent: its CloudEvent id (the disclosure register's reference). */
  eventId?: string;
  /** The personal fields the event carried, by name (domain/disclosures.ts); absent when none. */
  fields?: readonly string[];
}

export interface OutcomeSummary {
  participants: AgencyId[];
  declined: AgencyId[];
  noAnswer: AgencyId[];
  finesSek: number;
  sanctionFeesSek: number;
  taxReassessedSek: number;
  assetsSeizedSek: number;
  licencesRevoked: number;
  closureOrders: number;
  criminalReports: number;
  agenciesWithoutOutcomeReport: AgencyId[];
  coordinatorSummary?: string | Sealed;
}

/** Totals over what the agencies reported, from the action's sanctions and the follow-up's outcomes. */
export function summariseOutcomes(agencies: readonly AgencyStatus[], coordinatorSummary?: string | Sealed): OutcomeSummary {
  const summary: OutcomeSummary = {
    participants: agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency),
    declined: agencies.filter((a) => a.mandate === 'declined').map((a) => a.agency),
    noAnswer: agencies.filter((a) => a.mandate === 'no_answer').map((a) => a.agency),
    finesSek: 0,
    sanctionFeesSek: 0,
    taxReassessedSek: 0,
    assetsSeizedSek: 0,
    licencesRevoked: 0,
    closureOrders: 0,
    criminalReports: 0,
    agenciesWithoutOutcomeReport: agencies.filter((a) => a.outcomes === 'missing' || a.outcomes === 'requested').map((a) => a.agency),
    ...(coordinatorSummary === undefined ? {} : { coordinatorSummary }),
  };
  // The follow-up's outcomes are the final word; an agency that never reported them counts with what it
  // reported on the day of the action. Counting both would count one seizure twice.
  const finalOutcomes = agencies.flatMap((a) => [...a.settledOutcomes, ...currentRoundOutcomes(a)]);
  for (const outcome of finalOutcomes) {
    switch (outcome.kind) {
      case 'fine':
        summary.finesSek += outcome.amountSek;
        break;
      case 'sanction_fee':
        summary.sanctionFeesSek += outcome.amountSek;
        break;
      case 'tax_reassessment':
        summary.taxReassessedSek += outcome.amountSek;
        break;
      case 'assets_seized':
        summary.assetsSeizedSek += outcome.valueSek;
        break;
      case 'licence_revoked':
        summary.licencesRevoked += 1;
        break;
      case 'closure_order':
        summary.closureOrders += 1;
        break;
      case 'criminal_report':
        summary.criminalReports += 1;
        break;
      case 'none':
        break;
    }
  }
  return summary;
}

/** The final outcomes of the current joint action: follow-up outcomes if reported, else the action-day sanctions. */
export function currentRoundOutcomes(agency: AgencyStatus): Outcome[] {
  return agency.outcomes === 'reported' ? agency.reportedOutcomes : agency.sanctions;
}

export function quorumMet(agencies: readonly AgencyStatus[], quorum: number): boolean {
  return agencies.filter((a) => a.mandate === 'accepted').length >= quorum;
}
