import { z } from 'zod';
import { Text } from './text.js';
import { ActivityCategory, AgencyId } from './agencies.js';
import { Outcome } from './outcomes.js';
import { IsoTime } from './localTime.js';
import { Urgency } from './tip.js';
import { describeIssues } from './validation.js';
import { Sealable, type MaySeal, type SealFields, type Sealed } from './sealed.js';
import { shared } from './shared.js';
import { ESCALATED_DEADLINES } from './stages.js';

/**
 * The agency event contract. Every event is a CloudEvents 1.0 structured-mode JSON event; `data` is one of
 * the schemas below, chosen by the event name. Outbound events go to `los.v1.to.<agency>.<event>`, answers
 * come back on `los.v1.from.<agency>.<event>`. Subjects never carry personal data.
 */

export const Correlation = shared('events.Correlation', () =>
  z.object({
    operationId: z.string().min(1).max(200),
    requestId: z.string().min(1).max(200),
  }),
);
export type Correlation = z.infer<typeof Correlation>;

/**
 * Why an answer was not applied. `invalid`: it breaks the contract (subject, envelope, source, data);
 * `unknown_operation`: no operation has that id; `operation_closed`: the operation has ended;
 * `no_matching_request`: nothing asked this agency for this answer; `conflicting`: the request already has a
 * different first answer, which stands; `late`: the request's deadline had passed.
 */
export const NotAppliedReason = shared('events.NotAppliedReason', () =>
  z.enum(['invalid', 'unknown_operation', 'operation_closed', 'no_matching_request', 'conflicting', 'late']),
);
export type NotAppliedReason = z.infer<typeof NotAppliedReason>;

/**
 * The refusals that are also dead-lettered for an operator: the answer never reached its operation. The others
 * (`conflicting`, `late`) were taken by the operation and put on its record, and are only told back.
 */
export const DEAD_LETTERED_REASONS = ['invalid', 'unknown_operation', 'operation_closed', 'no_matching_request'] as const satisfies readonly NotAppliedReason[];
export type DeadLetteredReason = (typeof DEAD_LETTERED_REASONS)[number];

/** Need to know: the minimum an agency that has not accepted a mandate may see. */
export const EntityNotice = shared('events.EntityNotice', () =>
  z.object({
    orgNumber: z.string(),
    name: z.string(),
    address: z.string(),
  }),
);

const MinimumCase = shared('events.MinimumCase', () => ({
  correlation: Correlation,
  entity: EntityNotice,
  categories: z.array(ActivityCategory),
  municipality: z.string(),
}));

export const ActionPlan = shared('events.ActionPlan', () => z.object({ at: IsoTime, place: z.string(), lead: AgencyId }));
export type ActionPlan = z.infer<typeof ActionPlan>;
/** The plan as the workflow holds it: the place is the coordinator's free text, sealed. */
export type HeldActionPlan = Omit<ActionPlan, 'place'> & { place: string | Sealed };
/** What the workflow hands the notify activity: the contract's data, with personal fields still sealed. */
export type HeldOutboundData<E extends OutboundEventName> = MaySeal<OutboundDataOf<E>>;

export const OutboundData = shared(
  'events.OutboundData',
  () =>
    ({
      mandate_requested: z.object({ ...MinimumCase, tools: z.array(z.string()), answerBy: IsoTime }),
      information_requested: z.object({ ...MinimumCase, question: z.string(), answerBy: IsoTime }),
      /** Only participants get a briefing, and only a briefing carries the description. */
      briefing: z.object({
        ...MinimumCase,
        description: z.string(),
        urgency: Urgency,
        action: ActionPlan,
        /** The action's start as Stockholm wall time with its offset, e.g. 2026-03-12T19:00:00+01:00 (same instant as action.at). */
        actionLocalTime: z
          .string()
          .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/)
          .meta({ description: 'action.at as Europe/Stockholm wall time with its offset' }),
        participants: z.array(AgencyId),
      }),
      /**
       * The tip was corrected after this agency received it. Need to know: each agency hears only of the fields
       * it already holds (name and address: every agency told of the operation; urgency: briefed agencies).
       */
      tip_corrected: z.object({
        correlation: Correlation,
        corrected: z.object({ name: z.string().optional(), address: z.string().optional(), urgency: Urgency.optional() }),
      }),
      action_started: z.object({ correlation: Correlation, action: ActionPlan }),
      action_rescheduled: z.object({ correlation: Correlation, action: ActionPlan, reason: z.string() }),
      action_called_off: z.object({ correlation: Correlation, reason: z.string() }),
      /** A nudge for an open request whose deadline is near; answering the original request is enough. */
      reminder: z.object({ correlation: Correlation, awaiting: z.string(), answerBy: IsoTime }),
      /** The "second wave": agencies that were not on site hear of the operation, with the minimum data only. */
      second_wave_notice: z.object({ ...MinimumCase, actionDate: IsoTime }),
      findings_requested: z.object({ correlation: Correlation, reportBy: IsoTime }),
      outcome_requested: z.object({ correlation: Correlation, reportBy: IsoTime }),
      operation_closed: z.object({ correlation: Correlation, summary: z.string() }),
      operation_cancelled: z.object({ correlation: Correlation, reason: z.string() }),
      /** One of the agency's own answers was not applied; nothing about it changed the operation. */
      answer_not_applied: z.object({
        /** The answer's CloudEvent id; absent when the body could not be read as a CloudEvent. */
        answerId: z.string().optional(),
        /** The subject the answer was published on. */
        answerSubject: z.string(),
        /** Its sequence in the agency's intake (the `seq` of its publish acknowledgement): identifies even an unreadable answer. */
        streamSequence: z.number().int().positive(),
        reason: NotAppliedReason,
        /** For people: what exactly was wrong, e.g. the field and why, or the date the operation closed. */
        detail: z.string(),
        /** The answer's correlation, when it could be read. */
        correlation: Correlation.optional(),
        /**
         * Present on a summary: within one flood window this agency sent `count` more answers refused for the same
         * reason (each dead-lettered), told here at once instead of one by one. `streamSequence` is the last of them.
         */
        repeated: z
          .object({
            count: z.number().int().positive(),
            firstSequence: z.number().int().positive(),
            lastSequence: z.number().int().positive(),
          })
          .optional(),
      }),
    }) as const,
);
export type OutboundEventName = keyof typeof OutboundData;
export type OutboundDataOf<E extends OutboundEventName> = z.infer<(typeof OutboundData)[E]>;

/** Events for the LOS steering group (styrgruppen), which is told when a deadline the engine escalates is missed. */
export const SteeringData = shared(
  'events.SteeringData',
  () =>
    ({
      deadline_missed: z.object({
        operationId: z.string(),
        deadline: z.enum(ESCALATED_DEADLINES),
        dueAt: IsoTime,
        waitingFor: z.array(z.string()),
      }),
    }) as const,
);

const ContactFunction = shared('events.ContactFunction', () => Text(2, 200, 'must name a function such as "tillsynsenheten", not a person'));

export const InboundData = shared(
  'events.InboundData',
  () =>
    ({
      mandate_accepted: z.object({
        correlation: Correlation,
        tools: z.array(z.string().min(1)).min(1, 'must name at least one legal tool the agency brings'),
        contactFunction: ContactFunction,
      }),
      mandate_declined: z.object({ correlation: Correlation, reason: Text(3, 2_000, 'must give a reason') }),
      information_provided: z.object({ correlation: Correlation, answer: Text(1, 20_000) }),
      readiness_confirmed: z.object({ correlation: Correlation, staff: z.number().int().positive().max(500).optional() }),
      findings_reported: z.object({
        correlation: Correlation,
        findings: Text(1, 20_000),
        sanctions: z.array(Outcome).default([]),
      }),
      outcome_reported: z.object({ correlation: Correlation, outcomes: z.array(Outcome).min(1, 'must report at least one outcome (use kind "none")') }),
    }) as const,
);
export type InboundEventName = keyof typeof InboundData;
export const InboundEventName = shared('events.InboundEventName', () => z.enum(Object.keys(InboundData) as [InboundEventName, ...InboundEventName[]]));

/**
 * The answer's free text (personal data: a contact, a reason, findings) as the bridge forwards it to the
 * workflow: sealed. The same schemas as on NATS, with those fields allowed to be Sealed.
 */
export const ANSWER_FREE_TEXT = {
  mandate_accepted: ['contactFunction'],
  mandate_declined: ['reason'],
  information_provided: ['answer'],
  readiness_confirmed: [],
  findings_reported: ['findings'],
  outcome_reported: [],
} as const satisfies Record<InboundEventName, readonly string[]>;

function sealableFields<S extends z.ZodObject>(schema: S, fields: readonly string[]) {
  const shape = schema.shape as Record<string, z.ZodType>;
  return schema.extend(Object.fromEntries(fields.map((field) => [field, Sealable(shape[field]!)])));
}

export const ForwardedData = shared(
  'events.ForwardedData',
  () =>
    Object.fromEntries(
      Object.entries(InboundData).map(([name, schema]) => [name, sealableFields(schema, ANSWER_FREE_TEXT[name as InboundEventName])]),
    ) as unknown as { [E in InboundEventName]: z.ZodType<ForwardedDataOf<E>> },
);
export type InboundDataOf<E extends InboundEventName> = z.infer<(typeof InboundData)[E]>;
export type ForwardedDataOf<E extends InboundEventName> = SealFields<InboundDataOf<E>, (typeof ANSWER_FREE_TEXT)[E][number]>;

/** An inbound answer after validation, as the bridge hands it to the workflow (free text sealed; the batch signed). */
export type AgencyAnswer = {
  [E in InboundEventName]: { eventId: string; agency: AgencyId; name: E; receivedAt: string; data: ForwardedDataOf<E> };
}[InboundEventName];

/** The answer as the bridge hands it to the workflow; the workflow's update validator parses it again. */
export const AgencyAnswerEnvelope = shared('events.AgencyAnswerEnvelope', () =>
  z.object({
    eventId: z.string().min(1).max(300),
    agency: AgencyId,
    name: InboundEventName,
    receivedAt: IsoTime,
    data: z.unknown(),
  }),
);

export function parseAgencyAnswer(input: unknown): { ok: true; value: AgencyAnswer } | { ok: false; error: string } {
  const envelope = AgencyAnswerEnvelope.safeParse(input);
  // The fields, not their values: the workflow's refusal is a failure message operators read in Temporal.
  if (!envelope.success) return { ok: false, error: `answer rejected: ${describeIssues(envelope.error)}` };
  const data = ForwardedData[envelope.data.name].safeParse(envelope.data.data);
  if (!data.success) return { ok: false, error: `answer rejected: data: ${describeIssues(data.error)}` };
  return { ok: true, value: { ...envelope.data, data: data.data } as AgencyAnswer };
}

/** Events for the municipality's LOS coordinator, who owes the operation's decisions. */
export const CoordinatorData = shared(
  'events.CoordinatorData',
  () =>
    ({
      decision_due: z.object({
        operationId: z.string(),
        decision: z.enum(['assessment']),
        dueAt: IsoTime,
      }),
    }) as const,
);
/** The decisions the coordinator is reminded of. */
export type DueDecision = z.infer<typeof CoordinatorData.decision_due>['decision'];
