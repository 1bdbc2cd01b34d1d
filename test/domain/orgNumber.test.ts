import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOrgNumber, luhnCheckDigit } from '../../domain/index.js';

/** Nine digits and their Luhn check digit: a valid ten-digit number. */
const validTen = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 9, maxLength: 9 }).map((nine) => `${nine}${luhnCheckDigit(nine)}`);
const hyphenated = (ten: string) => `${ten.slice(0, 6)}-${ten.slice(6)}`;

describe('organisationsnummer', () => {
  it('accepts a number whose last digit is the Luhn check digit, with or without the hyphen', () => {
    expect(checkOrgNumber('556703-7485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('5567037485')).toEqual({ ok: true, normalized: '5567037485' });
    // Skatteverket's own organisationsnummer
    expect(checkOrgNumber('202100-5448').ok).toBe(true);
  });

  it('accepts the 12-digit forms with the century (16 for a legal person, 19/20 for a sole trader) and normalises them to the same ten digits', () => {
    expect(checkOrgNumber('165567037485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('16556703-7485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('19811218-9876')).toEqual({ ok: true, normalized: '8112189876' });
    expect(checkOrgNumber('17556703-7485')).toEqual({
      ok: false,
      code: 'org-number-century',
      reason: 'a 12-digit number starts with 16 (a legal person) or 18, 19, 20 (a personnummer), not 17',
    });
  });

  it('normalises every written form of a valid number to one form (property)', () => {
    fc.assert(
      fc.property(validTen, fc.constantFrom('', '16', '19', '20'), fc.boolean(), fc.constantFrom('', ' '), (ten, century, hyphen, pad) => {
        const written = `${pad}${century}${hyphen ? hyphenated(ten) : ten}${pad}`;
        expect(checkOrgNumber(written)).toEqual({ ok: true, normalized: ten });
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses every wrong check digit in every form, naming the right one (property)', () => {
    fc.assert(
      fc.property(validTen, fc.integer({ min: 1, max: 9 }), fc.constantFrom('', '16'), fc.boolean(), (ten, shift, century, hyphen) => {
        const wrong = `${ten.slice(0, 9)}${(Number(ten[9]) + shift) % 10}`;
        expect(checkOrgNumber(`${century}${hyphen ? hyphenated(wrong) : wrong}`)).toEqual({
          ok: false,
          code: 'org-number-check-digit',
          reason: `Luhn check digit should be ${ten[9]}`,
        });
      }),
      { numRuns: 1_000 },
    );
  });

  it('rejects anything that is not ten or twelve digits', () => {
    for (const bad of ['55670374', '556703-74850', '55670A-7485', '', '556703--7485', '5567037485-', '1655670374851']) {
      expect(checkOrgNumber(bad).ok, bad).toBe(false);
    }
  });

  it('computes the Luhn digit with weights 2,1,2,… from the left', () => {
    expect(luhnCheckDigit('556703748')).toBe(5);
    expect(luhnCheckDigit('202100544')).toBe(8);
  });
});
