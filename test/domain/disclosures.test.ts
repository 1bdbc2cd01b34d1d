import { describe, expect, it } from 'vitest';
import { NO_LEGAL_GROUND, disclosureRegister, loadCatalogue, personalFieldsIn, type CatalogueSnapshot, type TimelineEntry } from '../../domain/index.js';

const sent = (agency: TimelineEntry['agency'], eventId: string, fields?: string[], text = 'sent'): TimelineEntry => ({
  at: '2026-11-02T09:00:00.000Z',
  kind: 'notified',
  agency,
  text,
  eventId,
  ...(fields ? { fields } : {}),
});

describe('the disclosure register', () => {
  const catalogue: CatalogueSnapshot = {
    agencies: [{ id: 'polisen', legalGrounds: { '*': 'ground for all', briefing: 'ground for briefings' } }, { id: 'tullverket' }],
  };

  it('names the fields a correction carries, not every field it could carry', () => {
    expect(personalFieldsIn('tip_corrected', { corrected: { address: 'x' } })).toEqual(['corrected.address']);
    expect(personalFieldsIn('reminder', { awaiting: 'mandate', answerBy: 'x' })).toEqual([]);
  });

  it('takes the event kind’s own ground before the agency’s catch-all, and says plainly when there is none', () => {
    const { disclosures, catalogueNamesGrounds } = disclosureRegister(
      [
        sent('polisen', 'op.mandate-1-polisen.mandate_requested', ['entity.name']),
        sent('polisen', 'op.briefing-1-polisen.briefing', ['description'], 'briefing (sending)'),
        sent('tullverket', 'op.second-wave-1-tullverket.second_wave_notice', ['entity.name']),
        // Nothing personal, or not to an agency: not a disclosure.
        sent('polisen', 'op.mandate-1-polisen.reminder.reminder'),
        sent('steering_group', 'op.assessment-1.deadline_missed'),
      ],
      catalogue,
    );
    expect(catalogueNamesGrounds).toBe(true);
    expect(disclosures.map((d) => [d.event, d.eventType, d.legalGroundText, d.status])).toEqual([
      ['mandate_requested', 'se.los.mandate.requested.v1', 'ground for all', 'delivered'],
      ['briefing', 'se.los.briefing.v1', 'ground for briefings', 'sending'],
      ['second_wave_notice', 'se.los.second.wave.notice.v1', NO_LEGAL_GROUND, 'delivered'],
    ]);
    expect(disclosures[2]!.legalGround).toBeNull();
  });

  it('refuses a catalogue whose legal ground names an event kind that does not exist, naming the field', () => {
    const catalogue = {
      version: 1,
      agencies: [{ id: 'polisen', name: 'P', tools: [{ id: 't', name: 'T', categories: ['smuggling'] }], legalGrounds: { briefin: 'x y z' } }],
    };
    expect(() => loadCatalogue(catalogue)).toThrow(/agencies\.0\.legalGrounds/);
  });
});
