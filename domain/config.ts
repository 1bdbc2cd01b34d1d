import { z } from 'zod';
import { isDeadlineDuration } from './deadlines.js';
import { shared } from './shared.js';

const Duration = shared('config.Duration', () => z.string().refine(isDeadlineDuration, 'must be a duration such as "10 days", "30s" or "5 working days"'));

/**
 * Every deadline of an operation is an input: real operations run on days and weeks, tests and the demo on
 * seconds. The defaults are what a coordinator would expect in practice.
 */
export const OperationConfig = shared('config.OperationConfig', () =>
  z.object({
    /** How long the coordinator has for the assessment decision before the steering group is told. */
    assessmentDeadline: Duration.default('10 working days'),
    /** A reminder goes out when this fraction of a deadline has passed. */
    reminderFraction: z.number().gt(0).lt(1).default(0.5),
    /** How long candidate agencies have to accept or decline a mandate request. */
    mandateDeadline: Duration.default('5 working days'),
    /** How long an agency has to answer an information request during assessment. */
    informationDeadline: Duration.default('5 working days'),
    /** Cooperation means at least two agencies. */
    quorum: z.number().int().min(1).max(20).default(2),
    /** How long after the action each participant has to report findings. */
    findingsDeadline: Duration.default('10 working days'),
    /** How long after the action outcomes are asked for (the follow-up period). */
    followUpAfter: Duration.default('90 days'),
    /** How long each agency has to report outcomes once asked. */
    outcomeDeadline: Duration.default('20 working days'),
    /**
     * Continue-as-new once the history has this many events. Temporal also suggests it on its own as a history
     * grows large; this bound exists so that tests (and cautious operators) can force it early.
     */
    historyEventLimit: z.number().int().min(50).optional(),
    /**
     * How long the operation's personal data is kept after it ends; then its data key is destroyed, which
     * erases that data from every history, backup and archive. The non-personal record stays.
     */
    retention: Duration.default('90 days'),
  }),
);
export type OperationConfig = z.infer<typeof OperationConfig>;
export type OperationConfigInput = z.input<typeof OperationConfig>;
