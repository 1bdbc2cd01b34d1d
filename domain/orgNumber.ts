/**
 * Swedish organisationsnummer: ten digits, the last one a Luhn (mod 10) check digit over the first nine.
 * A legal person's number is written "NNNNNN-NNNN" or as ten plain digits, or with "16" in front (twelve digits);
 * its third digit is 2 or more. A sole trader's number is their personnummer, written with its century as
 * twelve digits, "19" or "20" (19800101-1234); its third and fourth digits of the ten are a month (01–12, as in
 * a samordningsnummer). Legal persons normalise to their ten digits ("16" adds nothing), sole traders to their
 * twelve: 19121212-1212 and 20121212-1212 are two people a century apart, and the ten digits alone cannot tell
 * them apart, so a personnummer without its century is refused. The normalised form is what the operation ID
 * and the entity reference hash: the same business is the same business however written, and two are never one.
 */

export type OrgNumberCheck =
  { ok: true; normalized: string } | { ok: false; reason: string; code: 'org-number-format' | 'org-number-century' | 'org-number-check-digit' };

/** The century prefixes of the 12-digit form: 16 for legal persons, 19 and 20 for a personnummer. */
const LEGAL_PERSON_PREFIX = '16';
const PERSONNUMMER_CENTURIES = ['19', '20'];

/** A personnummer's (or samordningsnummer's) month, digits 3–4 of the ten; a legal person's number has 20 or more there. */
const isPersonnummer = (ten: string) => {
  const month = Number(ten.slice(2, 4));
  return month >= 1 && month <= 12;
};

/** The Luhn check digit for a string of digits (weights 2,1,2,1… from the left over nine digits). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let product = Number(digits[i]) * (i % 2 === 0 ? 2 : 1);
    if (product > 9) product -= 9;
    sum += product;
  }
  return (10 - (sum % 10)) % 10;
}

export function checkOrgNumber(input: string): OrgNumberCheck {
  const compact = input.trim();
  const match = /^(\d{2})?(\d{6})-?(\d{4})$/.exec(compact);
  if (!match) {
    return {
      ok: false,
      code: 'org-number-format',
      reason: 'must be 10 digits (NNNNNN-NNNN) or 12 with the century (16NNNNNN-NNNN, 19YYMMDD-NNNN, 20YYMMDD-NNNN), hyphen optional',
    };
  }
  const [, century, head, tail] = match;
  const digits = `${head}${tail}`;
  const personnummer = isPersonnummer(digits);
  if (century !== undefined && century !== LEGAL_PERSON_PREFIX && !PERSONNUMMER_CENTURIES.includes(century)) {
    return { ok: false, code: 'org-number-century', reason: `a 12-digit number starts with 16 (a legal person) or 19, 20 (a personnummer), not ${century}` };
  }
  if (century === LEGAL_PERSON_PREFIX && personnummer) {
    return {
      ok: false,
      code: 'org-number-century',
      reason: `16 goes before a legal person's number, but ${digits.slice(2, 4)} in its place is a personnummer's month`,
    };
  }
  if (century !== undefined && century !== LEGAL_PERSON_PREFIX && !personnummer) {
    return { ok: false, code: 'org-number-century', reason: `${century} goes before a personnummer, but ${digits.slice(2, 4)} is no month (01–12)` };
  }
  if (century === undefined && personnummer) {
    return {
      ok: false,
      code: 'org-number-century',
      reason: "a sole trader's number is a personnummer: give it with its century (19YYMMDD-NNNN or 20YYMMDD-NNNN)",
    };
  }
  const expected = luhnCheckDigit(digits.slice(0, 9));
  if (Number(digits[9]) !== expected) {
    return { ok: false, code: 'org-number-check-digit', reason: `Luhn check digit should be ${expected}` };
  }
  return { ok: true, normalized: personnummer ? `${century}${digits}` : digits };
}
