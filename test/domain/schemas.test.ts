import { describe, expect, it } from 'vitest';
import {
  AssessmentDecision,
  InboundData,
  OperationConfig,
  ScheduleAction,
  Tip,
  deadlineAfter,
  parseDuration,
  parseWith,
  type TipInput,
  type PlainTip,
} from '../../domain/index.js';
import { operationIdFor as keyedOperationId } from '../../api/engine.js';

const tip: TipInput = {
  entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, Umeå', municipality: 'Umeå' },
  categories: ['money_laundering', 'unlicensed_alcohol'],
  description: 'Cash deposits do not match turnover.',
  urgency: 'high',
  source: { kind: 'public', protected: true },
  receivedAt: '2026-11-02T09:15:00+01:00',
};

describe('tip schema', () => {
  it('accepts a realistic tip and normalises the org number', () => {
    const parsed = Tip.parse(tip);
    expect(parsed.entity.orgNumber).toBe('5567037485');
  });

  it('names the field and the reason when the org number fails the Luhn check', () => {
    const result = parseWith(Tip, { ...tip, entity: { ...tip.entity, orgNumber: '5567037484' } }, 'tip');
    expect(result).toEqual({ ok: false, error: 'tip rejected: entity.orgNumber "5567037484": Luhn check digit should be 5' });
  });

  it('names every missing or wrong field of a malformed tip', () => {
    const result = parseWith(Tip, { entity: { orgNumber: '556703-7485' }, categories: ['arson'], urgency: 'asap' }, 'tip');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const field of ['entity.name', 'entity.address', 'entity.municipality', 'categories.0', 'description', 'urgency', 'source', 'receivedAt']) {
      expect(result.error).toContain(field);
    }
  });

  it('defaults a public source to protected', () => {
    const parsed = Tip.parse({ ...tip, source: { kind: 'public' } });
    expect(parsed.source.protected).toBe(true);
  });
});

/** A coordinator's tip, parsed: plaintext, as operationIdFor takes it. */
const plainTip = (input: unknown) => Tip.parse(input) as PlainTip;
const ENTITY_KEY = 'a1'.repeat(32);
const operationIdFor = (tip: PlainTip, key = ENTITY_KEY) => keyedOperationId(tip, key);

describe('operation identity', () => {
  it('derives the same operation ID from the same tip, however it is written', () => {
    const a = operationIdFor(plainTip(tip));
    const b = operationIdFor(plainTip({ ...tip, entity: { ...tip.entity, orgNumber: '5567037485' }, categories: ['unlicensed_alcohol', 'money_laundering'] }));
    expect(a).toBe(b);
    expect(a).toMatch(/^los-umea-[0-9a-f]{20}$/);
  });

  it('derives a different ID for a different tip about the same business', () => {
    expect(operationIdFor(plainTip(tip))).not.toBe(operationIdFor(plainTip({ ...tip, receivedAt: '2026-11-03T09:15:00+01:00' })));
  });

  it('keeps the org number out of the ID', () => {
    expect(operationIdFor(plainTip(tip))).not.toContain('5567037485');
  });

  it('derives the ID with the entity key: without it, a guessed tip cannot be confirmed against an ID', () => {
    expect(operationIdFor(plainTip(tip), 'b2'.repeat(32))).not.toBe(operationIdFor(plainTip(tip)));
  });
});

describe('decision schemas', () => {
  it('requires a reason to dismiss', () => {
    const result = parseWith(AssessmentDecision, { decision: 'dismiss' }, 'assessment');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('reason') });
  });

  it('rejects an unknown agency and names its position', () => {
    const result = parseWith(AssessmentDecision, { decision: 'request_info', agencies: ['polisen', 'fbi'], question: 'Any open case?' }, 'assessment');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/agencies\.1 "fbi"/);
  });

  it('rejects a schedule without a valid time', () => {
    const result = parseWith(ScheduleAction, { at: 'tomorrow', place: 'Storgatan 12', lead: 'polisen' }, 'schedule');
    expect(result).toEqual({
      ok: false,
      error: 'schedule rejected: at "tomorrow": must be an ISO 8601 date-time such as 2026-03-12T19:00 (read as Stockholm time) or 2026-03-12T19:00:00+01:00',
    });
  });

  it('rejects an acceptance that brings no tools', () => {
    const result = InboundData.mandate_accepted.safeParse({ correlation: { operationId: 'x', requestId: 'y' }, tools: [], contactFunction: 'tillsyn' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['tools']);
  });
});

describe('durations and config', () => {
  it('reads the durations people write', () => {
    expect(parseDuration('10 days')).toBe(864_000_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 90 s ')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2 Weeks')).toBe(1_209_600_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('0s')).toBeUndefined();
    expect(parseDuration('-5s')).toBeUndefined();
  });

  it('wants a unit: a bare number is not read as milliseconds', () => {
    expect(parseDuration('10')).toBeUndefined();
    expect(() => deadlineAfter(0, '10')).toThrow('"10" is not a duration such as "10 days", "30s" or "5 working days"');
  });

  it('fills in realistic defaults and rejects a bad duration by name', () => {
    expect(OperationConfig.parse({}).quorum).toBe(2);
    const result = parseWith(OperationConfig, { mandateDeadline: 'a while' }, 'config');
    expect(result).toEqual({ ok: false, error: 'config rejected: mandateDeadline "a while": must be a duration such as "10 days", "30s" or "5 working days"' });
  });
});
