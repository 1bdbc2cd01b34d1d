import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Entity, Line, Text, nonBlankPattern, parseWith, quoteValue, textPattern } from '../../domain/index.js';

const FORBIDDEN = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).filter((c) => !'\t\n\r'.includes(c)),
  ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];
const ALLOWED = [' ', '\t', '\n', '\r', '\u00a0', 'a', 'ö', 'å', 'Z', '.', '-', '1', '\u2003', '\u200e'];

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

  it('refuses any control character or bidirectional override, naming it; keeps line breaks and tabs in free text', () => {
    const text = Text(1, 200);
    const line = Line(1, 200);
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 20 }),
        fc.constantFrom(...FORBIDDEN),
        fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 20 }),
        (before, bad, after) => {
          const result = text.safeParse(`x${before}${bad}${after}x`);
          expect(result.success).toBe(false);
          const code = `U+${bad.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
          expect(result.error?.issues.map((i) => i.message).join()).toContain(code);
          expect(line.safeParse(`x${bad}x`).success).toBe(false);
        },
      ),
      { numRuns: 1_000 },
    );
    expect(text.parse('first line\n\tsecond line')).toBe('first line\n\tsecond line');
    expect(line.safeParse('Storgatan 12\nUmeå').error?.issues[0]?.message).toBe('must be one line, but has a line break (U+000A at character 13)');
    expect(text.safeParse('ok \u001b[31mred').error?.issues[0]?.message).toBe(
      'contains a control character (U+001B at character 4); only line breaks and tabs are allowed',
    );
  });

  it('has a JSON Schema pattern that accepts exactly what zod accepts', () => {
    const unit = fc.constantFrom(...ALLOWED, ...FORBIDDEN.slice(0, 4), '\u202e', '\u0085', '\u2028', '\u200b', '\u00ad', '\ufeff', '\u200c');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 12 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (raw, min, oneLine) => {
        const schema = oneLine ? Line(min, 100) : Text(min, 100);
        expect(new RegExp(textPattern(min, oneLine ? 'one' : 'many')).test(raw), JSON.stringify(raw)).toBe(schema.safeParse(raw).success);
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuses an invisible format character in a one-line field, naming the field and the character; keeps ZWNJ and ZWJ', () => {
    const entity = { orgNumber: '5567037485', name: 'Norrsken AB', address: 'Storgatan 12', municipality: 'Umeå' };
    const named = parseWith(Entity, { ...entity, name: 'Norrsken\u200e AB' }, 'tip');
    expect(named).toEqual({
      ok: false,
      error:
        'tip rejected: name "Norrsken\\u200e AB": contains an invisible format character (U+200E at character 9), which makes it differ from what it shows; only U+200C and U+200D are allowed',
    });
    const line = Line(1, 100);
    for (const bad of ['\u00ad', '\u061c', '\u200b', '\u200e', '\u200f', '\u2060', '\u2064', '\ufeff', '\u{e0041}'])
      expect((line.safeParse(`a${bad}b`).error?.issues[0] as { params?: unknown } | undefined)?.params, JSON.stringify(bad)).toEqual({
        code: 'text-format-character',
      });
    // Part of correct spelling: Persian "می‌خواهم" and an Indic conjunct need them.
    expect(line.parse('می\u200cخواهم')).toBe('می\u200cخواهم');
    expect(line.parse('क्\u200dष')).toBe('क्\u200dष');
    // Free text keeps them: it is read, not compared.
    expect(Text(1, 100).parse('pasted\u00adtext \u200e here')).toBe('pasted\u00adtext \u200e here');
  });

  it('normalises to NFC, so a municipality typed with a combining ring is the same municipality', () => {
    const decomposed = 'Ume\u0061\u030a';
    const parsed = Entity.parse({ orgNumber: '5567037485', name: 'Norrsken AB', address: 'Storgatan 12', municipality: decomposed });
    expect(parsed.municipality).toBe('Umeå');
    expect(parsed.municipality).toBe('Umeå'.normalize('NFC'));
  });

  it('quotes a rejected value to at most about 100 characters, with control and bidi characters escaped', () => {
    const huge = 'x'.repeat(2_000_000);
    const result = parseWith(Entity, { orgNumber: huge, name: 'a', address: 'b', municipality: 'c' }, 'tip');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.length).toBeLessThan(300);
    expect(quoteValue('a\u202eb\u001b')).toBe('"a\\u202eb\\u001b"');
    expect(quoteValue('y'.repeat(150))).toBe(`"${'y'.repeat(100)}…" (150 characters)`);
  });
});
