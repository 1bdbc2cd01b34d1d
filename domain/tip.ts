import { z } from 'zod';
import { Line, Text } from './text.js';
import { Instant } from './localTime.js';
import { ActivityCategory, AgencyId } from './agencies.js';
import { checkOrgNumber } from './orgNumber.js';
import { Sealable, type Plain } from './sealed.js';
import { shared } from './shared.js';

/**
 * A tip (underrättelse): the start of every operation. It names a business, what it is suspected of, and
 * where the information came from. A protected source is kept inside the workflow and nowhere else.
 */
export const OrgNumber = shared('tip.OrgNumber', () =>
  z.string().transform((value, ctx) => {
    const check = checkOrgNumber(value);
    if (!check.ok) {
      ctx.addIssue({ code: 'custom', message: check.reason, params: { code: check.code } });
      return z.NEVER;
    }
    return check.normalized;
  }),
);

export const Entity = shared('tip.Entity', () =>
  z.object({
    orgNumber: Sealable(OrgNumber),
    name: Sealable(Line(1, 200, 'must name the business')),
    address: Sealable(Line(1, 300, 'must give the premises address')),
    // Not sealed: operators see which municipality an operation belongs to, and access is decided by it.
    municipality: Line(1, 100, 'must name the municipality'),
  }),
);
export type Entity = z.infer<typeof Entity>;

export const Urgency = shared('tip.Urgency', () => z.enum(['low', 'normal', 'high', 'critical']));
export type Urgency = z.infer<typeof Urgency>;

export const TipSource = shared('tip.TipSource', () =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('agency'), agency: AgencyId, protected: z.boolean().default(false), reference: Sealable(Line(1, 200)).optional() }),
    z.object({ kind: z.literal('municipal_inspector'), protected: z.boolean().default(false), reference: Sealable(Line(1, 200)).optional() }),
    z.object({ kind: z.literal('public'), protected: z.boolean().default(true), reference: Sealable(Line(1, 200)).optional() }),
  ]),
);
export type TipSource = z.infer<typeof TipSource>;

export const Tip = shared('tip.Tip', () =>
  z.object({
    entity: Entity,
    categories: z
      .array(ActivityCategory)
      .min(1, 'must name at least one suspected activity')
      .refine((list) => new Set(list).size === list.length, { message: 'lists a category twice', params: { code: 'duplicate' } }),
    description: Sealable(Text(1, 20_000, 'must describe what was observed')),
    urgency: Urgency,
    source: TipSource,
    /** With an offset, or without one and then read as Stockholm time. */
    receivedAt: Instant,
  }),
);
/** A tip as the workflow holds it: its personal fields may be (and from the coordinator's client are) sealed. */
export type Tip = z.infer<typeof Tip>;
/** A tip as a coordinator writes it, before sealing. */
export type PlainTip = Plain<Tip>;
export type TipInput = Plain<z.input<typeof Tip>>;

/**
 * A tip's identity: the fields that make it this tip and not another. The operation ID is a hash of exactly
 * these, so registering the same tip twice finds the running operation instead of starting a second one.
 * Everything else (`CORRECTABLE_TIP_FIELDS`) can be corrected on the running operation with `amendTip`.
 */
export const TIP_IDENTITY_FIELDS = [
  'entity.orgNumber',
  'entity.municipality',
  'categories',
  'description',
  'source.kind',
  'source.reference',
  'receivedAt',
] as const;

/** What a later registration of the same tip may change: it is applied as a correction, never dropped. */
export const CORRECTABLE_TIP_FIELDS = ['entity.name', 'entity.address', 'urgency', 'source.protected'] as const;
export type CorrectableTipField = (typeof CORRECTABLE_TIP_FIELDS)[number];

/**
 * The identity fields in a canonical form: the order of the categories, the municipality's letter case and an
 * instant's offset spelling do not make a new tip. The description and the source reference count as written
 * (NFC, trimmed): the workflow holds them sealed and can compare them only exactly (domain/corrections.ts), so
 * a looser identity here would give a tip that differs in spacing or case the registered operation's ID while
 * the operation refuses it as another tip, which could then never be registered. Spelled differently, it is
 * another tip with its own operation.
 */
export function tipIdentity(tip: PlainTip): unknown[] {
  return [
    tip.entity.orgNumber,
    tip.entity.municipality.toLowerCase(),
    [...tip.categories].sort(),
    tip.description,
    tip.source.kind,
    tip.source.reference ?? '',
    Date.parse(tip.receivedAt),
  ];
}

/** A name as a lower-case ASCII token, e.g. "Umeå" → "umea": for IDs and CloudEvent sources. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The registered tip as its operation's coordinator reads it (`los show`, the console's operation page): the
 * business, what was observed, how urgent, where it came from. A protected source's reference is left out here,
 * in the workflow: a protected source never leaves it, not even to the coordinator.
 */
export type TipAsShown = Omit<Tip, 'source'> & {
  source: { kind: TipSource['kind']; protected: boolean; agency?: AgencyId; reference?: Tip['source']['reference'] };
};
export function tipAsShown(tip: Tip): TipAsShown {
  const { reference, ...source } = tip.source;
  return { ...tip, source: source.protected || reference === undefined ? source : { ...source, reference } };
}
