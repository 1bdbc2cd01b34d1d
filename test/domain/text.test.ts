import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Text, nonBlankPattern } from '../../domain/index.js';

describe('free text', () => {
  it('trims, then counts the characters left', () => {
    const reason = Text(3, 10, 'must give a reason');
    expect(reason.parse('  ok!  ')).toBe('ok!');
    expect(reason.safeParse('  ok  ').error?.issues[0]?.message).toBe('must give a reason');
    expect(reason.safeParse('x'.repeat(11)).success).toBe(false);
  });

  it('gives the JSON Schema a pattern that accepts exactly what zod accepts once trimmed', () => {
    const blanky = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u2003', 'a', 'ö', '.'), maxLength: 12 });
    fc.assert(
      fc.property(blanky, fc.integer({ min: 1, max: 6 }), (text, min) => {
        expect(new RegExp(nonBlankPattern(min)).test(text)).toBe(text.trim().length >= min);
      }),
      { numRuns: 2_000 },
    );
  });
});
