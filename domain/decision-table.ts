import type { z } from 'zod';
import { admissible, type DecisionContext, type Refusal } from './admissibility.js';
import {
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  CloseOperation,
  OrderReinspection,
  QuorumDecision,
  RescheduleAction,
  ScheduleAction,
} from './decisions.js';
import { inline, type Sealed } from './sealed.js';
import { formatStockholm } from './localTime.js';

/**
 * The coordinator's decisions, one row each: the update that carries it, the schema that parses it, when the
 * operation takes it, the sentence the timeline shows and the intent the handler records for its stage. The
 * workflow registers one update handler per row (workflows/decisions.ts), workflows/definitions.ts derives
 * the update definitions, and the CLI one command per row; a decision added here is missing nowhere else
 * without a compile error. A row's key is the decision's name: refusals and schema errors start with it
 * ("call off rejected: …"), and its intent has it as kind.
 *
 * A correction of the tip (`amendTip`) is not a row: it is applied at once rather than recorded for a stage,
 * it compares the whole tip with the registered one, and refuses an unchanged tip with a type of its own.
 */
export interface DecisionRow<S extends z.ZodType, I extends object> {
  /** The update's name on the wire: clients send it and recorded histories hold it. */
  update: string;
  schema: S;
  /** Why the operation refuses the decision now; undefined when it takes it. */
  admissible(decision: z.infer<S>, ctx: DecisionContext): Refusal;
  /** The timeline's entry for it; free text only as an inline sealed token. */
  timeline(decision: z.infer<S>, facts: TimelineFacts): string;
  /** What the handler records besides the decision's name (the intent's kind); the stage that owns the decision acts on it. */
  intent(decision: z.infer<S>): I;
}

/** What a timeline entry says beside the decision itself. */
export interface TimelineFacts {
  /** The joint action's number (re-inspection starts the next one). */
  actionNumber: number;
}

const row = <S extends z.ZodType, I extends object>(spec: DecisionRow<S, I>) => spec;

/** A dismissal's reason, after the decision: the timeline holds it sealed, readable only by the entitled. */
const reasonOf = (decision: { decision: string; reason?: string | Sealed }) =>
  decision.decision === 'dismiss' && decision.reason !== undefined ? ` (${inline(decision.reason)})` : '';

/** A time as the stages hold it: UTC, whatever offset the coordinator typed (the timeline, for people, says it in Stockholm time). */
const utc = (at: string) => new Date(at).toISOString();

export const DECISIONS = {
  assessment: row({
    update: 'assess',
    schema: AssessmentDecision,
    admissible: admissible.assessment,
    timeline: (decision) => `assessment: ${decision.decision}${reasonOf(decision)}`,
    intent: (decision) => ({ decision }),
  }),
  'quorum decision': row({
    update: 'decideQuorum',
    schema: QuorumDecision,
    admissible: admissible.quorum,
    timeline: (decision) => `quorum: ${decision.decision}${reasonOf(decision)}`,
    intent: (decision) => ({ decision }),
  }),
  schedule: row({
    update: 'schedule',
    schema: ScheduleAction,
    admissible: admissible.schedule,
    timeline: (plan, { actionNumber }) => `joint action #${actionNumber} scheduled for ${formatStockholm(plan.at)}, led by ${plan.lead}`,
    intent: (plan) => ({ plan: { at: utc(plan.at), place: plan.place, lead: plan.lead } }),
  }),
  reschedule: row({
    update: 'reschedule',
    schema: RescheduleAction,
    admissible: admissible.reschedule,
    timeline: (change, { actionNumber }) => `joint action #${actionNumber} rescheduled to ${formatStockholm(change.at)}: ${inline(change.reason)}`,
    intent: (change) => ({ change }),
  }),
  'call off': row({
    update: 'callOff',
    schema: CallOffAction,
    admissible: (_decision, ctx) => admissible.callOff(ctx),
    timeline: ({ reason }, { actionNumber }) => `joint action #${actionNumber} called off: ${inline(reason)}`,
    intent: ({ reason }) => ({ reason }),
  }),
  reinspection: row({
    update: 'reinspect',
    schema: OrderReinspection,
    admissible: (_decision, ctx) => admissible.closing('reinspection', ctx),
    timeline: ({ reason }) => `re-inspection ordered: ${inline(reason)}`,
    intent: ({ reason }) => ({ reason }),
  }),
  close: row({
    update: 'close',
    schema: CloseOperation,
    admissible: (_decision, ctx) => admissible.closing('close', ctx),
    timeline: () => 'operation closed by the coordinator',
    intent: ({ summary }) => ({ summary }),
  }),
  cancel: row({
    update: 'cancel',
    schema: CancelOperation,
    admissible: (_decision, ctx) => admissible.cancel(ctx),
    timeline: ({ reason }) => `cancelled: ${inline(reason)}`,
    intent: ({ reason }) => ({ reason }),
  }),
};

export type Decisions = typeof DECISIONS;
/** The name of a decision in the table: 'assessment', 'quorum decision', 'schedule', … */
export type DecisionKind = keyof Decisions;
/** What the coordinator sends for a decision of this kind, as its schema parses it. */
export type DecisionInput<K extends DecisionKind> = z.infer<Decisions[K]['schema']>;
type Flat<T> = { [P in keyof T]: T[P] };
/** A decision recorded and waiting for the stage that owns it: its name as kind, and what its row records. */
export type DecisionIntent = { [K in DecisionKind]: Flat<{ kind: K } & ReturnType<Decisions[K]['intent']>> }[DecisionKind];
/** A row as a loop over the table sees it: the input is whatever the row's own schema parsed. */
export type AnyDecisionRow = DecisionRow<z.ZodType, object>;

/** The intent a decision records, from the decision as its row's schema parsed it. */
export function decisionIntent(kind: DecisionKind, decision: unknown): DecisionIntent {
  const row: AnyDecisionRow = DECISIONS[kind];
  // The kind is the row's key, so this is DecisionIntent's member for that kind; TypeScript cannot follow a key through the union.
  return { kind, ...row.intent(decision) } as DecisionIntent;
}

/** Every decision in the table, in the lifecycle's order. */
export const DECISION_KINDS = Object.keys(DECISIONS) as DecisionKind[];
