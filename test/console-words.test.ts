import { describe, expect, it } from 'vitest';
import { DECISIONS, admissible, correctableFields, correctionChanges, type DecisionContext, type Tip } from '../domain/index.js';
import { errorsOf, fieldsOf, inputFrom, parseForm, wordedIssue } from '../api/console/fields.js';
import { openEscalations } from '../api/console/record-pages.js';
import { ISSUE_CODES, TEXTS } from '../api/console/texts.js';
import { RegisterTipBody } from '../api/schemas.js';

/**
 * The console's words for what the domain refuses: by the issue's code (and field), never by its English sentence;
 * and the steering group's open escalations, read from visibility rows alone.
 */

const TIP_FIELDS = fieldsOf(RegisterTipBody);
const sv = TEXTS.sv;
const en = TEXTS.en;

const tipForm = {
  'entity.orgNumber': '556703-7486',
  'entity.name': 'Restaurang Orden AB',
  'entity.address': 'Storgatan 1, Umeå',
  'entity.municipality': 'Umeå',
  description: 'Seen at night.',
  urgency: 'normal',
  'source.kind': 'public',
  'source.protected': 'true',
  receivedAt: '2026-03-29T02:30',
};

describe('the console’s words for the domain’s errors', () => {
  it('puts each schema issue next to its field in Swedish (English when asked), keyed by its code, with no English domain text', () => {
    const parsed = parseForm(RegisterTipBody, inputFrom(TIP_FIELDS, tipForm), 'tip');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => [i.field, i.code])).toEqual(
      expect.arrayContaining([
        ['entity.orgNumber', 'org-number-check-digit'],
        ['categories', 'too_small'],
        ['receivedAt', 'time-not-in-stockholm'],
      ]),
    );
    const { byField, unplaced } = errorsOf(TIP_FIELDS, parsed.issues, sv);
    expect(unplaced).toEqual([]);
    expect(byField.get('entity.orgNumber')).toEqual(['Kontrollsiffran stämmer inte: kontrollera numret.']);
    // A code at one field has words of its own, where the general ones would say less.
    expect(byField.get('categories')).toEqual(['Välj minst en misstänkt verksamhet.']);
    expect(byField.get('receivedAt')).toEqual(['Den tiden finns inte i Sverige: klockan hoppar från 02:00 till 03:00 den natten.']);
    const english = errorsOf(TIP_FIELDS, parsed.issues, en).byField;
    expect(english.get('entity.orgNumber')).toEqual(['The check digit does not match: check the number.']);
    for (const words of [...byField.values(), ...english.values()].flat()) expect(words).not.toMatch(/Luhn|rejected|must /);
  });

  it('words a decision’s length limit by the schema’s code and minimum', () => {
    const fields = fieldsOf(DECISIONS.assessment.schema);
    const parsed = parseForm(DECISIONS.assessment.schema, inputFrom(fields, { decision: 'dismiss', reason: 'no' }), 'assessment');
    if (parsed.ok) throw new Error('a two-character reason was taken');
    expect(errorsOf(fields, parsed.issues, sv).byField.get('reason')).toEqual(['Skriv minst 3 tecken.']);
    expect(errorsOf(fields, parsed.issues, en).byField.get('reason')).toEqual(['Write at least 3 characters.']);
  });

  it('words the workflow validator’s refusals by their code, with the agencies and phases by their names', () => {
    const ctx: DecisionContext = {
      phase: 'joint_action',
      stage: 'schedule_decision',
      intended: new Set(),
      participants: ['polisen', 'skatteverket'],
      catalogue: ['polisen', 'skatteverket', 'lansstyrelsen'],
      now: Date.parse('2026-11-25T10:00:00Z'),
      waitingFor: 'schedule decision',
    };
    const lead = admissible.schedule({ at: '2026-11-26T10:00:00Z', place: 'x', lead: 'lansstyrelsen' }, ctx)!;
    expect(wordedIssue(sv, 'lead', lead)).toBe('Länsstyrelsen har inte accepterat något mandat. Deltagande myndigheter: Polismyndigheten, Skatteverket.');
    const phase = admissible.schedule({ at: '2026-11-26T10:00:00Z', place: 'x', lead: 'polisen' }, { ...ctx, phase: 'assessment', stage: 'assessment' })!;
    expect(wordedIssue(sv, undefined, phase)).toBe('Operationen är i fasen bedömning, inte gemensam insats.');
    expect(wordedIssue(en, undefined, phase)).toBe('The operation is in phase assessment, not joint action.');
  });

  it('falls back to a Swedish sentence naming the field for a code it does not know, and to a general one without a field', () => {
    expect(wordedIssue(sv, 'entity.name', { code: 'some-future-code' })).toBe(
      'Uppgiften i fältet ”Företagets namn” godtogs inte. Kontrollera den och försök igen.',
    );
    expect(wordedIssue(en, 'entity.name', {})).toBe('The value in the field “Business name” was not accepted. Check it and try again.');
    expect(wordedIssue(sv, undefined, { code: 'some-future-code' })).toBe(sv.issues.unknown);
  });

  it('has words for every code in every language, and different words in each', () => {
    for (const code of ISSUE_CODES) {
      const facts = {
        minimum: '2',
        maximum: '9',
        origin: 'string',
        phase: 'p',
        expected: 'e',
        agency: 'a',
        lead: 'l',
        participants: 'x',
        stage: 's',
        fields: 'f',
      };
      expect(sv.issues.codes[code](facts), code).not.toBe(en.issues.codes[code](facts));
    }
  });
});

describe('a correction’s changes', () => {
  const registered: Tip = {
    entity: { orgNumber: '5567037485', name: 'Restaurang Gamla AB', address: 'Storgatan 1', municipality: 'Umeå' },
    categories: ['food_safety'],
    description: 'Seen.',
    urgency: 'normal',
    source: { kind: 'public', protected: true },
    receivedAt: '2026-03-12T19:00:00+01:00',
  };

  it('lists each changed field with its old and new value, and no field left as it is', () => {
    const corrected: Tip = { ...registered, entity: { ...registered.entity, name: 'Restaurang Nya AB' }, urgency: 'high' };
    expect(correctionChanges(correctableFields(registered), corrected)).toEqual([
      { field: 'entity.name', before: 'Restaurang Gamla AB', after: 'Restaurang Nya AB' },
      { field: 'urgency', before: 'normal', after: 'high' },
    ]);
    expect(correctionChanges(correctableFields(registered), registered)).toEqual([]);
  });
});

describe('the steering group’s open escalations', () => {
  it('are the operations overdue at a stage whose deadline the engine escalates; a deadline met since is none', () => {
    const rows = [
      { operationId: 'a', municipality: 'Umeå', overdue: true, stage: 'assessment' as const, nextDeadline: '2026-12-01T10:00:00.000Z' },
      // Met since: the assessment decided, the operation moved on (and the engine cleared LosOverdue).
      { operationId: 'b', municipality: 'Umeå', overdue: false, stage: 'mandate_answers' as const, nextDeadline: '2026-12-02T10:00:00.000Z' },
      // Overdue flag not (yet) cleared, but the stage whose deadline was escalated is behind it.
      { operationId: 'c', municipality: 'Malmö', overdue: true, stage: 'follow_up' as const, nextDeadline: '2026-12-03T10:00:00.000Z' },
      { operationId: 'd', municipality: 'Malmö', overdue: true, stage: 'outcomes' as const, nextDeadline: '2026-11-30T10:00:00.000Z' },
      { operationId: 'e', overdue: false, stage: 'assessment' as const, nextDeadline: '2026-12-04T10:00:00.000Z' },
    ];
    expect(openEscalations(rows)).toEqual([
      { operationId: 'd', municipality: 'Malmö', at: '2026-11-30T10:00:00.000Z', deadline: 'outcomes' },
      { operationId: 'a', municipality: 'Umeå', at: '2026-12-01T10:00:00.000Z', deadline: 'assessment' },
    ]);
  });
});
