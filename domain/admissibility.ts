import type { AgencyId } from './agencies.js';
import type { DecisionKind } from './decision-table.js';
import type { AssessmentDecision, QuorumDecision, RescheduleAction, ScheduleAction } from './decisions.js';
import { ACTION_TIME_PROBLEMS, actionTimeProblem } from './localTime.js';
import { isTerminal, type Phase } from './phases.js';
import type { Stage } from './stages.js';

/**
 * When each coordinator decision is admissible. The workflow's update validators ask these rules before a
 * decision reaches the history; a refusal is a sentence the coordinator can act on.
 */
export type DecisionName = DecisionKind | 'correction';

export interface DecisionContext {
  phase: Phase;
  stage: Stage;
  /** Decisions taken and not yet acted on: a second one of the same kind waits for the first. */
  intended: ReadonlySet<DecisionName>;
  /** Agencies that accepted a mandate. */
  participants: readonly AgencyId[];
  /** Agencies in the operation's mandate catalogue. */
  catalogue: readonly AgencyId[];
  /** Temporal's clock, in ms. */
  now: number;
  /** What the operation waits for, in words, for refusals. */
  waitingFor: string;
}

/**
 * The decisions taken and still waiting for their stage to act, as admissibility sees them. A request for
 * information leaves the assessment owed, and reschedules queue up, so neither blocks another of its kind.
 */
export function pendingDecisions(intents: readonly { kind: DecisionName; decision?: { decision: string } }[]): Set<DecisionName> {
  return new Set(intents.filter((i) => !(i.kind === 'assessment' && i.decision?.decision === 'request_info') && i.kind !== 'reschedule').map((i) => i.kind));
}

/**
 * Why a decision is refused, for a machine and for a person: a stable `code` a client branches on and
 * translates (the console shows it in Swedish), the field it concerns when there is one, the facts the
 * sentence names (`params`: no personal field, only phases, stages, agencies and field names), and the
 * English sentence the API's problem `detail` carries ("schedule rejected: lead "x" has not accepted …").
 */
export interface Refused {
  code: RefusalCode;
  message: string;
  field?: string;
  params?: Record<string, string>;
}

/** Every reason a decision or correction is refused; a code once published keeps its meaning. */
export const REFUSAL_CODES = [
  'wrong-phase',
  'being-cancelled',
  'already-decided',
  'no-quorum-decision-owed',
  'already-scheduled',
  'no-action-waiting',
  'still-waiting',
  'already-ended',
  'already-being-cancelled',
  'time-not-in-future',
  'time-too-far-ahead',
  'lead-not-participant',
  'agency-not-in-catalogue',
  'identity-differs',
  'tip-unchanged',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** The reason a decision is refused now, or undefined when it is admissible. */
export type Refusal = Refused | undefined;

const refused = (code: RefusalCode, message: string, more: Omit<Refused, 'code' | 'message'> = {}): Refused => ({ code, message, ...more });

function common(what: DecisionName, ctx: DecisionContext, phase: Phase): Refusal {
  if (ctx.phase !== phase)
    return refused('wrong-phase', `${what} rejected: the operation is in phase ${ctx.phase}, not ${phase}`, { params: { phase: ctx.phase, expected: phase } });
  if (ctx.intended.has('cancel')) return refused('being-cancelled', `${what} rejected: the operation is being cancelled`);
  return undefined;
}

function unknownAgency(agencies: readonly AgencyId[], ctx: DecisionContext): Refusal {
  const index = agencies.findIndex((agency) => !ctx.catalogue.includes(agency));
  return index < 0
    ? undefined
    : refused('agency-not-in-catalogue', `agencies.${index} "${agencies[index]}": not in this municipality's mandate catalogue`, {
        field: `agencies.${index}`,
        params: { agency: agencies[index]! },
      });
}

function inFuture(what: DecisionName, at: string, ctx: DecisionContext): Refusal {
  const problem = actionTimeProblem(Date.parse(at), ctx.now);
  if (!problem) return undefined;
  return refused(problem === 'not-in-future' ? 'time-not-in-future' : 'time-too-far-ahead', `${what} rejected: at "${at}" ${ACTION_TIME_PROBLEMS[problem]}`, {
    field: 'at',
  });
}

/** A refusal of a correction, by the same codes. */
export const correctionRefusal = (code: RefusalCode, message: string, more?: Omit<Refused, 'code' | 'message'>): Refused => refused(code, message, more);

export const admissible = {
  assessment(decision: AssessmentDecision, ctx: DecisionContext): Refusal {
    const refusal = common('assessment', ctx, 'assessment');
    if (refusal) return refusal;
    if (ctx.intended.has('assessment')) return refused('already-decided', 'assessment rejected: the assessment decision has already been made');
    return decision.decision === 'request_info' ? unknownAgency(decision.agencies, ctx) : undefined;
  },
  quorum(decision: QuorumDecision, ctx: DecisionContext): Refusal {
    if (ctx.stage !== 'quorum_decision' || ctx.intended.has('quorum decision') || ctx.intended.has('cancel')) {
      return refused('no-quorum-decision-owed', 'quorum decision rejected: no quorum decision is owed now');
    }
    return decision.decision === 'request_again' ? unknownAgency(decision.agencies, ctx) : undefined;
  },
  schedule(plan: ScheduleAction, ctx: DecisionContext): Refusal {
    const refusal = common('schedule', ctx, 'joint_action');
    if (refusal) return refusal;
    if (ctx.stage !== 'schedule_decision' || ctx.intended.has('schedule'))
      return refused('already-scheduled', 'schedule rejected: the action is already scheduled; use reschedule');
    const early = inFuture('schedule', plan.at, ctx);
    if (early) return early;
    if (!ctx.participants.includes(plan.lead)) {
      return refused(
        'lead-not-participant',
        `schedule rejected: lead "${plan.lead}" has not accepted a mandate (participants: ${ctx.participants.join(', ')})`,
        {
          field: 'lead',
          params: { lead: plan.lead, participants: ctx.participants.join(',') },
        },
      );
    }
    return undefined;
  },
  reschedule(change: RescheduleAction, ctx: DecisionContext): Refusal {
    const refusal = common('reschedule', ctx, 'joint_action');
    if (refusal) return refusal;
    if (ctx.stage !== 'action_start' || ctx.intended.has('call off'))
      return refused('no-action-waiting', 'reschedule rejected: no scheduled action is waiting to start');
    return inFuture('reschedule', change.at, ctx);
  },
  callOff(ctx: DecisionContext): Refusal {
    const refusal = common('call off', ctx, 'joint_action');
    if (refusal) return refusal;
    return ctx.stage !== 'action_start' || ctx.intended.has('call off')
      ? refused('no-action-waiting', 'call off rejected: no scheduled action is waiting to start')
      : undefined;
  },
  /** Close and re-inspection answer the same question; only one of them can be owed at a time. */
  closing(what: 'reinspection' | 'close', ctx: DecisionContext): Refusal {
    const refusal = common(what, ctx, 'follow_up');
    if (refusal) return refusal;
    if (ctx.stage !== 'closing_decision' || ctx.intended.has('close') || ctx.intended.has('reinspection')) {
      return refused('still-waiting', `${what} rejected: still waiting for ${ctx.waitingFor}`, { params: { stage: ctx.stage } });
    }
    return undefined;
  },
  cancel(ctx: DecisionContext): Refusal {
    if (isTerminal(ctx.phase) || ctx.stage === 'ended')
      return refused('already-ended', `cancel rejected: the operation is already ${ctx.phase}`, { params: { phase: ctx.phase } });
    return ctx.intended.has('cancel') ? refused('already-being-cancelled', 'cancel rejected: the operation is already being cancelled') : undefined;
  },
};
