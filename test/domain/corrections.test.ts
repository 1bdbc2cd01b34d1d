import { describe, expect, it } from 'vitest';
import { CORRECTABLE_TIP_FIELDS, TIP_IDENTITY_FIELDS, Tip, correctionNotices, tipCorrections, type PlainTip, type TipInput } from '../../domain/index.js';
import { operationIdFor } from '../../api/engine.js';

const input: TipInput = {
  entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå', municipality: 'Umeå' },
  categories: ['money_laundering', 'unlicensed_alcohol'],
  description: 'Serves alcohol after licence hours.',
  urgency: 'normal',
  source: { kind: 'public', protected: true },
  receivedAt: '2026-11-01T08:00:00Z',
};
const registered = Tip.parse(input);

describe('corrections of a tip', () => {
  it('keeps identity and correctable fields apart: correcting never changes the operation', () => {
    expect(TIP_IDENTITY_FIELDS.filter((f) => (CORRECTABLE_TIP_FIELDS as readonly string[]).includes(f))).toEqual([]);
    const corrected = Tip.parse({
      ...input,
      entity: { ...input.entity, name: 'Norrsken Krog AB', address: 'Storgatan 14, 903 26 Umeå' },
      urgency: 'critical',
      source: { kind: 'public', protected: false },
    });
    expect(operationIdFor(corrected as PlainTip, 'c3'.repeat(32))).toBe(operationIdFor(registered as PlainTip, 'c3'.repeat(32)));
    expect(tipCorrections(registered, corrected)).toEqual({ ok: true, changed: ['entity.name', 'entity.address', 'urgency', 'source.protected'] });
    expect(tipCorrections(registered, registered)).toEqual({ ok: true, changed: [] });
  });

  it('refuses a "correction" of an identity field, naming it: that is another tip', () => {
    const other = Tip.parse({ ...input, description: 'Something else entirely.' });
    expect(tipCorrections(registered, other)).toEqual({
      ok: false,
      reason: 'description differs from the registered tip: that is another tip, to be registered on its own',
      fields: ['description'],
    });
    // The same instant written with another offset is the same tip.
    expect(tipCorrections(registered, Tip.parse({ ...input, receivedAt: '2026-11-01T09:00:00+01:00' }))).toEqual({ ok: true, changed: [] });
  });

  it('agrees with the operation ID: a tip that maps to the registered operation is the same tip, sealed as the workflow holds it', () => {
    // Sealing is deterministic per operation (a synthetic IV), so equal plaintext seals equal: stood in for here by the plaintext itself.
    const seal = (value: string) => ({ sealed: 'los.v1', op: 'los-umea-x', iv: 'iv', ct: value });
    const asHeld = (tip: Tip) =>
      ({
        ...tip,
        entity: { ...tip.entity, orgNumber: seal(tip.entity.orgNumber as string), name: seal(tip.entity.name as string) },
        description: seal(tip.description as string),
      }) as unknown as Tip;
    const key = 'c3'.repeat(32);
    const variants: TipInput[] = [
      { ...input, description: 'Serves  alcohol after licence hours.' },
      { ...input, description: 'serves alcohol after licence hours.' },
      { ...input, description: 'Serves alcohol\nafter licence hours.' },
      { ...input, entity: { ...input.entity, municipality: 'UMEÅ' } },
      { ...input, categories: ['unlicensed_alcohol', 'money_laundering'] },
      { ...input, receivedAt: '2026-11-01T09:00:00+01:00' },
      { ...input, entity: { ...input.entity, orgNumber: '16556703-7485' } },
      { ...input, urgency: 'high' },
    ];
    for (const variant of variants) {
      const parsed = Tip.parse(variant);
      const sameOperation = operationIdFor(parsed as PlainTip, key) === operationIdFor(registered as PlainTip, key);
      expect(tipCorrections(asHeld(registered), asHeld(parsed)).ok, JSON.stringify(variant)).toBe(sameOperation);
      expect(tipCorrections(registered, parsed).ok, JSON.stringify(variant)).toBe(sameOperation);
    }
  });

  it('tells each agency only the corrected fields it already holds', () => {
    const corrected = Tip.parse({
      ...input,
      entity: { ...input.entity, address: 'Storgatan 14, 903 26 Umeå' },
      urgency: 'critical',
      source: { kind: 'public', protected: false },
    });
    const notices = correctionNotices(corrected, ['entity.address', 'urgency', 'source.protected'], {
      told: ['polisen', 'skatteverket', 'tullverket'],
      briefed: ['polisen', 'skatteverket'],
    });
    expect(notices).toEqual([
      { agency: 'polisen', corrected: { address: 'Storgatan 14, 903 26 Umeå', urgency: 'critical' } },
      { agency: 'skatteverket', corrected: { address: 'Storgatan 14, 903 26 Umeå', urgency: 'critical' } },
      { agency: 'tullverket', corrected: { address: 'Storgatan 14, 903 26 Umeå' } },
    ]);
    // The protection flag never left the engine, and an urgency nobody was briefed on goes to nobody.
    expect(correctionNotices(corrected, ['source.protected', 'urgency'], { told: ['polisen'], briefed: [] })).toEqual([]);
  });
});
