import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOrgNumber, luhnCheckDigit } from '../../domain/index.js';

/** Nine digits and their Luhn check digit: a valid ten-digit number. */
const validTen = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 9, maxLength: 9 }).map((nine) => `${nine}${luhnCheckDigit(nine)}`);
const hyphenated = (ten: string) => `${ten.slice(0, 6)}-${ten.slice(6)}`;
/** A personnummer has a month (01–12) as its third and fourth digits; a legal person's number 20 or more. */
const isPersonnummer = (ten: string) => Number(ten.slice(2, 4)) >= 1 && Number(ten.slice(2, 4)) <= 12;

describe('organisationsnummer', () => {
  it('accepts a number whose last digit is the Luhn check digit, with or without the hyphen', () => {
    expect(checkOrgNumber('556703-7485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('5567037485')).toEqual({ ok: true, normalized: '5567037485' });
    // Skatteverket's own organisationsnummer
    expect(checkOrgNumber('202100-5448').ok).toBe(true);
  });

  it('accepts the 12-digit forms (16 for a legal person, normalised to its ten digits; 19/20 for a sole trader, kept with the century)', () => {
    expect(checkOrgNumber('165567037485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('16556703-7485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('19811218-9876')).toEqual({ ok: true, normalized: '198112189876' });
  });

  it('keeps the century that tells two people apart: 19121212-1212 and 20121212-1212 are two identities', () => {
    const older = checkOrgNumber('19121212-1212');
    const younger = checkOrgNumber('20121212-1212');
    expect(older).toEqual({ ok: true, normalized: '191212121212' });
    expect(younger).toEqual({ ok: true, normalized: '201212121212' });
  });

  it('refuses a century other than 16, 19 and 20, and a century that does not fit the number', () => {
    expect(checkOrgNumber('18556703-7485')).toEqual({
      ok: false,
      code: 'org-number-century',
      reason: 'a 12-digit number starts with 16 (a legal person) or 19, 20 (a personnummer), not 18',
    });
    expect(checkOrgNumber('17556703-7485')).toMatchObject({ ok: false, code: 'org-number-century' });
    expect(checkOrgNumber('19556703-7485')).toEqual({
      ok: false,
      code: 'org-number-century',
      reason: '19 goes before a personnummer, but 67 is no month (01–12)',
    });
    expect(checkOrgNumber('16121212-1212')).toMatchObject({ ok: false, code: 'org-number-century' });
    // Ten digits of a personnummer could be either century: refused rather than merged.
    expect(checkOrgNumber('121212-1212')).toEqual({
      ok: false,
      code: 'org-number-century',
      reason: "a sole trader's number is a personnummer: give it with its century (19YYMMDD-NNNN or 20YYMMDD-NNNN)",
    });
  });

  it('normalises every written form of a valid number to one form (property)', () => {
    fc.assert(
      fc.property(validTen, fc.boolean(), fc.boolean(), fc.constantFrom('', ' '), (ten, withCentury, hyphen, pad) => {
        const personnummer = isPersonnummer(ten);
        const century = personnummer ? (ten < '5' ? '20' : '19') : withCentury ? '16' : '';
        const written = `${pad}${century}${hyphen ? hyphenated(ten) : ten}${pad}`;
        expect(checkOrgNumber(written)).toEqual({ ok: true, normalized: personnummer ? `${century}${ten}` : ten });
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses every wrong check digit in every form, naming the right one (property)', () => {
    fc.assert(
      fc.property(validTen, fc.integer({ min: 1, max: 9 }), fc.boolean(), fc.boolean(), (ten, shift, withCentury, hyphen) => {
        const century = isPersonnummer(ten) ? '19' : withCentury ? '16' : '';
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
