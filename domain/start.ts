import { z } from 'zod';
import { CatalogueSnapshot, type MandateCatalogue } from './catalogue.js';
import { Author } from './authorship.js';
import { OperationConfig } from './config.js';
import { Tip } from './tip.js';
import nationalCatalogue from './mandate-catalogue.json' with { type: 'json' };
import { shared } from './shared.js';

/**
 * What starts an operation, however it is started (the typed client, `los`, the Temporal CLI, the UI's
 * "Start Workflow", another SDK): the workflow parses it with this schema and applies the same defaults the
 * typed client does, so a start that skips the client is neither trusted nor stuck.
 */
export const OperationStart = shared('start.OperationStart', () =>
  z.object({
    tip: Tip,
    config: OperationConfig.default(OperationConfig.parse({})),
    /**
     * The mandate catalogue the operation runs on, whole or as its snapshot (domain/catalogue.ts); the national one
     * when none is given. The workflow keeps only the snapshot for the tip's categories.
     */
    catalogue: CatalogueSnapshot.default(nationalCatalogue as MandateCatalogue),
    /**
     * Who registered the tip, as the API read them from their token: the timeline's first entry names them.
     * A claim of the starter, not a signed decision (a registration decides nothing the workflow could refuse).
     */
    author: Author.optional(),
  }),
);
export type OperationStart = z.infer<typeof OperationStart>;
export type OperationStartInput = z.input<typeof OperationStart>;
