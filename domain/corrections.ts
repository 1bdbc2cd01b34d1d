import type { AgencyId } from './agencies.js';
import type { HeldOutboundData } from './events.js';
import { CORRECTABLE_TIP_FIELDS, TIP_IDENTITY_FIELDS, tipIdentity, type CorrectableTipField, type PlainTip, type Tip } from './tip.js';

/**
 * Corrections of a registered tip (the `amendTip` decision). A correction is applied, never dropped: a
 * briefing must not go out with the old address. Only the correctable fields may change; a tip that differs
 * in an identity field is another tip, with an operation of its own.
 */

export type CorrectionCheck = { ok: true; changed: CorrectableTipField[] } | { ok: false; reason: string; fields: string[] };

function fieldOf(tip: Tip, field: CorrectableTipField): unknown {
  switch (field) {
    case 'entity.name':
      return tip.entity.name;
    case 'entity.address':
      return tip.entity.address;
    case 'urgency':
      return tip.urgency;
    case 'source.protected':
      return tip.source.protected;
  }
}

/** The registered tip's correctable fields by name (name and address sealed as the workflow holds them): what a correction would replace. */
export type CorrectableFields = Record<CorrectableTipField, unknown>;
export function correctableFields(tip: Tip): CorrectableFields {
  return Object.fromEntries(CORRECTABLE_TIP_FIELDS.map((field) => [field, fieldOf(tip, field)])) as CorrectableFields;
}

/** What a correction changes, field by field (old value → new value); a field it leaves as it is is not listed. */
export function correctionChanges(registered: CorrectableFields, corrected: Tip): { field: CorrectableTipField; before: unknown; after: unknown }[] {
  const after = correctableFields(corrected);
  return CORRECTABLE_TIP_FIELDS.filter((field) => JSON.stringify(registered[field]) !== JSON.stringify(after[field])).map((field) => ({
    field,
    before: registered[field],
    after: after[field],
  }));
}

/** Which correctable fields differ, or why the corrected tip is not the same tip at all. */
export function tipCorrections(registered: Tip, corrected: Tip): CorrectionCheck {
  const before = identityOf(registered);
  const after = identityOf(corrected);
  const differs = TIP_IDENTITY_FIELDS.filter((_, i) => JSON.stringify(before[i]) !== JSON.stringify(after[i]));
  if (differs.length > 0) {
    return {
      ok: false,
      reason: `${differs.join(', ')} ${differs.length === 1 ? 'differs' : 'differ'} from the registered tip: that is another tip, to be registered on its own`,
      fields: [...differs],
    };
  }
  return {
    ok: true,
    changed: CORRECTABLE_TIP_FIELDS.filter((field) => JSON.stringify(fieldOf(registered, field)) !== JSON.stringify(fieldOf(corrected, field))),
  };
}

/**
 * The identity fields as the workflow can compare them: sealed fields are sealed with a synthetic IV, so the
 * same plaintext seals to the same value within one operation; plaintext fields are compared as tipIdentity
 * compares them.
 */
function identityOf(tip: Tip): unknown[] {
  const { entity, description, source } = tip;
  if (typeof entity.orgNumber === 'string' && typeof description === 'string' && (source.reference === undefined || typeof source.reference === 'string')) {
    return tipIdentity(tip as PlainTip);
  }
  return [
    entity.orgNumber,
    entity.municipality.toLowerCase(),
    [...tip.categories].sort(),
    description,
    source.kind,
    source.reference ?? '',
    Date.parse(tip.receivedAt),
  ];
}

/**
 * Who already holds each correctable field, under need to know: the business's name and address went to
 * every agency told of the operation (mandate and information requests, the second wave); the urgency only
 * to briefed agencies; the source's protection never left the engine, so nobody is told it changed.
 */
export const HELD_BY = {
  'entity.name': 'told',
  'entity.address': 'told',
  urgency: 'briefed',
  'source.protected': 'nobody',
} as const satisfies Record<CorrectableTipField, 'told' | 'briefed' | 'nobody'>;

export interface DataHolders {
  /** Agencies that received any event carrying the entity (the minimum case). */
  told: AgencyId[];
  /** Agencies that received a briefing. */
  briefed: AgencyId[];
}

export interface CorrectionNotice {
  agency: AgencyId;
  /** Sealed where the tip holds them sealed; the notify activity unseals them for the agency. */
  corrected: HeldOutboundData<'tip_corrected'>['corrected'];
}

/** One notice per agency that holds at least one changed field, carrying only the fields it holds. */
export function correctionNotices(corrected: Tip, changed: CorrectableTipField[], holders: DataHolders): CorrectionNotice[] {
  const byAgency = new Map<AgencyId, CorrectionNotice['corrected']>();
  const add = (agency: AgencyId, values: CorrectionNotice['corrected']) => byAgency.set(agency, { ...byAgency.get(agency), ...values });
  for (const field of changed) {
    const holding = HELD_BY[field];
    if (holding === 'nobody') continue;
    const values: CorrectionNotice['corrected'] =
      field === 'entity.name'
        ? { name: corrected.entity.name }
        : field === 'entity.address'
          ? { address: corrected.entity.address }
          : { urgency: corrected.urgency };
    for (const agency of holders[holding]) add(agency, values);
  }
  return [...byAgency.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([agency, values]) => ({ agency, corrected: values }));
}
