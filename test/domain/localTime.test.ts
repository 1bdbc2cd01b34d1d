import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScheduleAction, Tip, actionTimeProblem, formatStockholm, readInstant, stockholmIso, stockholmWallTime } from '../../domain/index.js';

/** Node's own time-zone database, as the reference the pure formatter must agree with. */
const reference = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Stockholm',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

describe('Stockholm local time', () => {
  it('shows winter times as CET and summer times as CEST', () => {
    expect(formatStockholm('2026-03-12T18:00:00Z')).toBe('2026-03-12 19:00:00 CET');
    expect(formatStockholm('2026-07-01T08:30:00Z')).toBe('2026-07-01 10:30:00 CEST');
    expect(stockholmIso('2026-11-20T17:00:00.000Z')).toBe('2026-11-20T18:00:00+01:00');
    // The switches: 01:00 UTC on the last Sunday of March and of October.
    expect(formatStockholm('2026-03-29T00:59:59Z')).toBe('2026-03-29 01:59:59 CET');
    expect(formatStockholm('2026-03-29T01:00:00Z')).toBe('2026-03-29 03:00:00 CEST');
    expect(formatStockholm('2026-10-25T00:59:59Z')).toBe('2026-10-25 02:59:59 CEST');
    expect(formatStockholm('2026-10-25T01:00:00Z')).toBe('2026-10-25 02:00:00 CET');
  });

  it('agrees with the time-zone database for every instant from 2000 to 2099 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) }), (ms) => {
        const wall = stockholmWallTime(ms);
        expect(`${wall.date} ${wall.time}`).toBe(reference.format(new Date(ms)));
      }),
      { numRuns: 3_000 },
    );
  });

  it('reads a time without an offset as Stockholm time and gives it back with its offset', () => {
    expect(readInstant('2026-03-12T19:00')).toEqual({ ok: true, iso: '2026-03-12T19:00:00+01:00', ms: Date.parse('2026-03-12T18:00:00Z'), readAsLocal: true });
    expect(readInstant('2026-07-01T10:30:15')).toMatchObject({ ok: true, iso: '2026-07-01T10:30:15+02:00', readAsLocal: true });
    // The repeated October hour is its first occurrence (still summer time); the skipped March hour does not exist.
    expect(readInstant('2026-10-25T02:30')).toMatchObject({ ok: true, iso: '2026-10-25T02:30:00+02:00' });
    expect(readInstant('2026-03-29T02:30')).toEqual({
      ok: false,
      code: 'time-not-in-stockholm',
      reason: 'does not exist in Stockholm: the clocks jump from 02:00 to 03:00 that night',
    });
    expect(readInstant('2026-03-12T19:00:00Z')).toMatchObject({ ok: true, iso: '2026-03-12T19:00:00Z', readAsLocal: false });
  });

  it('round-trips: a Stockholm wall time read back is the instant it came from (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 2), max: Date.UTC(2099, 11, 30) }).map((ms) => ms - (ms % 1000)),
        (ms) => {
          const wall = stockholmWallTime(ms);
          const reading = readInstant(`${wall.date}T${wall.time}`);
          expect(reading.ok).toBe(true);
          // In the repeated October hour the wall time names two instants; the first is the one read.
          if (reading.ok) expect([ms, ms - 3_600_000]).toContain(reading.ms);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('bounds times: a year such as 9999 or an impossible date is refused in a tip and a schedule', () => {
    expect(readInstant('9999-01-01T10:00:00Z')).toEqual({ ok: false, code: 'time-out-of-range', reason: 'must lie between the years 2000 and 2099' });
    expect(readInstant('2026-02-30T10:00')).toEqual({ ok: false, code: 'time-not-real', reason: 'is not a real date and time' });
    expect(ScheduleAction.safeParse({ at: '9999-06-01T10:00:00+02:00', place: 'Storgatan 12', lead: 'polisen' }).success).toBe(false);
    const tip = {
      entity: { orgNumber: '5567037485', name: 'A', address: 'B', municipality: 'Umeå' },
      categories: ['tax_fraud'],
      description: 'd',
      urgency: 'low',
      source: { kind: 'public' },
    };
    expect(Tip.safeParse({ ...tip, receivedAt: '1899-06-01T10:00:00Z' }).success).toBe(false);
    expect(Tip.parse({ ...tip, receivedAt: '2026-06-01T10:00' }).receivedAt).toBe('2026-06-01T10:00:00+02:00');
  });

  it('lets an action be scheduled only in the future and within two years', () => {
    const now = Date.UTC(2026, 10, 26);
    expect(actionTimeProblem(now - 1, now)).toBe('not-in-future');
    expect(actionTimeProblem(now + 86_400_000, now)).toBeUndefined();
    expect(actionTimeProblem(now + 800 * 86_400_000, now)).toBe('too-far-ahead');
  });
});
