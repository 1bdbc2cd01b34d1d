import { z } from 'zod';
import { ActivityCategory, AgencyId } from './agencies.js';
import { OutboundData } from './events.js';
import { describeIssues } from './validation.js';
import { shared } from './shared.js';

/**
 * The mandate catalogue (the shared "legal toolbox"): which agency brings which legal tool, and which
 * activity categories each tool covers. Each municipality may supply its own; the national default is
 * `domain/mandate-catalogue.json`. An operation takes a snapshot of the catalogue when it starts, so an edit
 * never changes the rules under a running operation.
 */
const ToolId = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower-case identifier');

export const LegalTool = shared('catalogue.LegalTool', () =>
  z.object({
    id: ToolId,
    name: z.string().min(1),
    categories: z.array(ActivityCategory).min(1),
  }),
);

/** Every event kind that goes to an agency, and `*`: any event kind to that agency without an entry of its own. */
const ALL_EVENT_KINDS = '*';

/**
 * The legal ground on which personal data goes to an agency, per event kind: a reference as the municipality
 * writes it (a statute and section, a secrecy-breaking provision, a duty to provide information). Data, never
 * code: the engine does not guess it, and the disclosure register says plainly when none is named.
 */
export const LegalGrounds = shared('catalogue.LegalGrounds', () =>
  z.partialRecord(
    z.enum([ALL_EVENT_KINDS, ...Object.keys(OutboundData)] as [string, ...string[]], {
      error: `must be an event kind to an agency (${Object.keys(OutboundData).join(', ')}) or "${ALL_EVENT_KINDS}"`,
    }),
    z.string().trim().min(3, 'must name the legal ground, e.g. a statute and section').max(500),
  ),
);
export type LegalGrounds = z.infer<typeof LegalGrounds>;

export const CatalogueAgency = shared('catalogue.CatalogueAgency', () =>
  z.object({
    id: AgencyId,
    name: z.string().min(1),
    tools: z.array(LegalTool).min(1),
    legalGrounds: LegalGrounds.optional(),
  }),
);

function eachAgencyOnce(catalogue: { agencies: Array<{ id: string }> }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  catalogue.agencies.forEach((agency, index) => {
    if (seen.has(agency.id)) {
      ctx.addIssue({ code: 'custom', path: ['agencies', index, 'id'], message: `agency "${agency.id}" is listed twice` });
    }
    seen.add(agency.id);
  });
}

export const MandateCatalogue = shared('catalogue.MandateCatalogue', () =>
  z
    .object({
      version: z.literal(1),
      agencies: z.array(CatalogueAgency).min(1),
    })
    .superRefine(eachAgencyOnce),
);
export type MandateCatalogue = z.infer<typeof MandateCatalogue>;

/**
 * What an operation keeps of the catalogue it started with, in its start input and every continue-as-new: every
 * agency in catalogue order (the second wave and the decisions that name agencies need them all), and of the
 * legal tools only the ids and the categories that cover the tip's own. The tip's categories never change within
 * an operation (they are part of its identity), so the rules read the snapshot exactly as they would read the
 * whole catalogue. Names are for people and stay in the catalogue; the legal grounds go along, since the
 * disclosure register names the ground each event went out on. A whole catalogue parses as a snapshot too.
 */
export const CatalogueSnapshot = shared('catalogue.CatalogueSnapshot', () =>
  z
    .object({
      agencies: z
        .array(
          z.object({
            id: AgencyId,
            tools: z.array(z.object({ id: ToolId, categories: z.array(ActivityCategory).min(1) })).optional(),
            legalGrounds: LegalGrounds.optional(),
          }),
        )
        .min(1),
    })
    .superRefine(eachAgencyOnce),
);
export type CatalogueSnapshot = z.infer<typeof CatalogueSnapshot>;

/** The snapshot of a catalogue (or of a snapshot) for an operation about these categories. */
export function catalogueSnapshot(catalogue: CatalogueSnapshot, categories: readonly ActivityCategory[]): CatalogueSnapshot {
  const wanted = new Set(categories);
  return {
    agencies: catalogue.agencies.map(({ id, tools = [], legalGrounds }) => {
      const covering = tools.flatMap((tool) => {
        const covered = tool.categories.filter((c) => wanted.has(c));
        return covered.length > 0 ? [{ id: tool.id, categories: covered }] : [];
      });
      // The grounds travel with the operation: the register names the ground the operation started under.
      return { id, ...(covering.length > 0 ? { tools: covering } : {}), ...(legalGrounds !== undefined ? { legalGrounds } : {}) };
    }),
  };
}

export function loadCatalogue(data: unknown): MandateCatalogue {
  const result = MandateCatalogue.safeParse(data);
  if (!result.success) throw new Error(`mandate catalogue rejected: ${describeIssues(result.error)}`);
  return result.data;
}

/** The agencies whose legal tools cover at least one of the tip's categories, in catalogue order. */
export function candidateAgencies(categories: readonly ActivityCategory[], catalogue: CatalogueSnapshot): AgencyId[] {
  const wanted = new Set(categories);
  return catalogue.agencies.filter((agency) => (agency.tools ?? []).some((tool) => tool.categories.some((c) => wanted.has(c)))).map((agency) => agency.id);
}

/** The tools an agency could bring to these categories: what a mandate request asks it to consider. */
export function applicableTools(agency: AgencyId, categories: readonly ActivityCategory[], catalogue: CatalogueSnapshot): string[] {
  const wanted = new Set(categories);
  const entry = catalogue.agencies.find((a) => a.id === agency);
  if (!entry) return [];
  return (entry.tools ?? []).filter((tool) => tool.categories.some((c) => wanted.has(c))).map((tool) => tool.id);
}

export function agencyName(agency: AgencyId, catalogue: MandateCatalogue): string {
  return catalogue.agencies.find((a) => a.id === agency)?.name ?? agency;
}

/** The legal ground the catalogue names for this event kind to this agency; undefined when it names none. */
export function legalGroundFor(catalogue: CatalogueSnapshot, agency: string, event: string): string | undefined {
  const grounds = catalogue.agencies.find((a) => a.id === agency)?.legalGrounds;
  return grounds?.[event] ?? grounds?.[ALL_EVENT_KINDS];
}
