import { z } from 'zod';
import { shared } from './shared.js';

const Sek = shared('outcomes.Sek', () => z.number().int('must be whole kronor').nonnegative('cannot be negative').max(10_000_000_000));

/** What a control led to, typed so that outcomes can be summed across agencies. */
export const Outcome = shared('outcomes.Outcome', () =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('fine'), amountSek: Sek }),
    z.object({ kind: z.literal('sanction_fee'), amountSek: Sek }),
    z.object({ kind: z.literal('licence_revoked') }),
    z.object({ kind: z.literal('closure_order') }),
    z.object({ kind: z.literal('tax_reassessment'), amountSek: Sek }),
    z.object({ kind: z.literal('assets_seized'), valueSek: Sek }),
    z.object({ kind: z.literal('criminal_report') }),
    z.object({ kind: z.literal('none') }),
  ]),
);
export type Outcome = z.infer<typeof Outcome>;
