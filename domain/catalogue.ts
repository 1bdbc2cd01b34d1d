import { z } from 'zod';
import { ActivityCategory, AgencyId } from './agencies.js';
import { describeIssues } from './validation.js';
import { shared } from './shared.js';

/**
 * The mandate catalogue (the shared "legal toolbox"): which agency brings which legal tool, and which
 * activity categories each tool covers. Each municipality may supply its own; the national default is
 * `domain/mandate-catalogue.json`. An operation takes a snapshot of the catalogue when it starts, so an edit
 * never changes the rules under a running operation.
 */
export const LegalTool = shared('catalogue.LegalTool', () =>
  z.object({
    id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower-case identifier'),
    name: z.string().min(1),
    categories: z.array(ActivityCategory).min(1),
  }),
);

export const CatalogueAgency = shared('catalogue.CatalogueAgency', () =>
  z.object({
    id: AgencyId,
    name: z.string().min(1),
    tools: z.array(LegalTool).min(1),
  }),
);

export const MandateCatalogue = shared('catalogue.MandateCatalogue', () =>
  z
    .object({
      version: z.literal(1),
      agencies: z.array(CatalogueAgency).min(1),
    })
    .superRefine((catalogue, ctx) => {
      const seen = new Set<string>();
      catalogue.agencies.forEach((agency, index) => {
        if (seen.has(agency.id)) {
          ctx.addIssue({ code: 'custom', path: ['agencies', index, 'id'], message: `agency "${agency.id}" is listed twice` });
        }
        seen.add(agency.id);
      });
    }),
);
export type MandateCatalogue = z.infer<typeof MandateCatalogue>;

export function loadCatalogue(data: unknown): MandateCatalogue {
  const result = MandateCatalogue.safeParse(data);
  if (!result.success) throw new Error(`mandate catalogue rejected: ${describeIssues(result.error)}`);
  return result.data;
}

/** The agencies whose legal tools cover at least one of the tip's categories, in catalogue order. */
export function candidateAgencies(categories: readonly ActivityCategory[], catalogue: MandateCatalogue): AgencyId[] {
  const wanted = new Set(categories);
  return catalogue.agencies.filter((agency) => agency.tools.some((tool) => tool.categories.some((c) => wanted.has(c)))).map((agency) => agency.id);
}

/** The tools an agency could bring to these categories: what a mandate request asks it to consider. */
export function applicableTools(agency: AgencyId, categories: readonly ActivityCategory[], catalogue: MandateCatalogue): string[] {
  const wanted = new Set(categories);
  const entry = catalogue.agencies.find((a) => a.id === agency);
  if (!entry) return [];
  return entry.tools.filter((tool) => tool.categories.some((c) => wanted.has(c))).map((tool) => tool.id);
}

export function agencyName(agency: AgencyId, catalogue: MandateCatalogue): string {
  return catalogue.agencies.find((a) => a.id === agency)?.name ?? agency;
}
