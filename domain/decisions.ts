import { z } from 'zod';
import { Line, Text } from './text.js';
import { Instant } from './localTime.js';
import { Tip } from './tip.js';
import { AgencyId } from './agencies.js';
import { Sealable } from './sealed.js';
import { shared } from './shared.js';

// Free text is personal data: each field may be a Sealed value in its place (see sealed.ts).

/** Coordinator decisions. Each is one schema, parsed by the CLI, the typed client and the update validator. */

const Reason = shared('decisions.Reason', () => Sealable(Text(3, 2_000, 'must give a reason of at least 3 characters')));

const DistinctAgencies = shared('decisions.DistinctAgencies', () =>
  z
    .array(AgencyId)
    .min(1, 'must name at least one agency')
    .refine((list) => new Set(list).size === list.length, { message: 'names an agency twice', params: { code: 'duplicate' } }),
);

/** Bedömning: proceed to mandate matching, dismiss, or ask named agencies for more first. */
export const AssessmentDecision = shared('decisions.AssessmentDecision', () =>
  z.discriminatedUnion('decision', [
    z.object({ decision: z.literal('proceed'), note: Sealable(Text(1, 2_000)).optional() }),
    z.object({ decision: z.literal('dismiss'), reason: Reason }),
    z.object({
      decision: z.literal('request_info'),
      agencies: DistinctAgencies,
      question: Sealable(Text(5, 2_000, 'must ask a question of at least 5 characters')),
    }),
  ]),
);
export type AssessmentDecision = z.infer<typeof AssessmentDecision>;

/** When too few agencies accept, the coordinator decides how to go on. */
export const QuorumDecision = shared('decisions.QuorumDecision', () =>
  z.discriminatedUnion('decision', [
    z.object({ decision: z.literal('proceed') }),
    z.object({ decision: z.literal('dismiss'), reason: Reason }),
    z.object({ decision: z.literal('request_again'), agencies: DistinctAgencies }),
  ]),
);
export type QuorumDecision = z.infer<typeof QuorumDecision>;

export const ScheduleAction = shared('decisions.ScheduleAction', () =>
  z.object({
    /** With an offset, or without one and then read as Stockholm time; how far ahead is the validator's call. */
    at: Instant,
    place: Sealable(Line(1, 300, 'must say where the action takes place')),
    lead: AgencyId,
  }),
);
export type ScheduleAction = z.infer<typeof ScheduleAction>;

/** Move a scheduled action that has not started; everyone taking part is told. */
export const RescheduleAction = shared('decisions.RescheduleAction', () =>
  z.object({
    at: Instant,
    place: Sealable(Line(1, 300)).optional(),
    reason: Reason,
  }),
);
export type RescheduleAction = z.infer<typeof RescheduleAction>;

/** Call off a scheduled action, e.g. when the Police ask to hold back for an ongoing investigation. */
export const CallOffAction = shared('decisions.CallOffAction', () => z.object({ reason: Reason }));
export type CallOffAction = z.infer<typeof CallOffAction>;

/** At follow-up, order a new joint action instead of closing: the loop back in the lifecycle. */
export const OrderReinspection = shared('decisions.OrderReinspection', () => z.object({ reason: Reason }));
export type OrderReinspection = z.infer<typeof OrderReinspection>;

export const CloseOperation = shared('decisions.CloseOperation', () =>
  z.object({
    summary: Sealable(Text(3, 5_000, 'must summarise the result in at least 3 characters')),
  }),
);
export type CloseOperation = z.infer<typeof CloseOperation>;

export const CancelOperation = shared('decisions.CancelOperation', () => z.object({ reason: Reason }));
export type CancelOperation = z.infer<typeof CancelOperation>;

/**
 * A correction of the tip: the same tip (same identity fields, so the same operation) registered again with
 * a corrected business name, address, urgency or protection flag. The whole tip is sent and parsed with the
 * one tip schema, so a correction is checked exactly as a registration is.
 */
export const AmendTip = shared('decisions.AmendTip', () => z.object({ tip: Tip }));
export type AmendTip = z.infer<typeof AmendTip>;
