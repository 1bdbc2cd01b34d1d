/**
 * Swedish organisationsnummer: ten digits, the last one a Luhn (mod 10) check digit over the first nine.
 * Written "NNNNNN-NNNN" or as ten plain digits; we store the plain form.
 */

export type OrgNumberCheck =
  | { ok: true; normalized: string }
  | { ok: false; reason: string };

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
  if (!/^\d{6}-?\d{4}$/.test(compact)) {
    return { ok: false, reason: 'must be 10 digits, written NNNNNN-NNNN or NNNNNNNNNN' };
  }
  const digits = compact.replace('-', '');
  const expected = luhnCheckDigit(digits.slice(0, 9));
  if (Number(digits[9]) !== expected) {
    return { ok: false, reason: `Luhn check digit should be ${expected}` };
  }
  return { ok: true, normalized: digits };
}
