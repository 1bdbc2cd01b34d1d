/**
 * Swedish organisationsnummer: ten digits, the last one a Luhn (mod 10) check digit over the first nine.
 * Written "NNNNNN-NNNN" or as ten plain digits, or with the century in front as twelve digits: "16" for a
 * legal person (165567037485), or "19"/"20" for a sole trader, whose number is the personnummer
 * (198001011234, 19800101-1234). All forms are normalised to the ten plain digits, which is what the
 * operation ID and the entity reference hash, so the same business is the same business however written.
 */

export type OrgNumberCheck =
  { ok: true; normalized: string } | { ok: false; reason: string; code: 'org-number-format' | 'org-number-century' | 'org-number-check-digit' };

/** The century prefixes of the 12-digit form: 16 for legal persons, 18–20 for personnummer. */
const CENTURY_PREFIXES = ['16', '18', '19', '20'];

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
      reason: 'must be 10 digits (NNNNNN-NNNN) or 12 with the century (16NNNNNN-NNNN, 19YYMMDD-NNNN), hyphen optional',
    };
  }
  const [, century, head, tail] = match;
  if (century !== undefined && !CENTURY_PREFIXES.includes(century)) {
    return {
      ok: false,
      code: 'org-number-century',
      reason: `a 12-digit number starts with 16 (a legal person) or 18, 19, 20 (a personnummer), not ${century}`,
    };
  }
  const digits = `${head}${tail}`;
  const expected = luhnCheckDigit(digits.slice(0, 9));
  if (Number(digits[9]) !== expected) {
    return { ok: false, code: 'org-number-check-digit', reason: `Luhn check digit should be ${expected}` };
  }
  return { ok: true, normalized: digits };
}
