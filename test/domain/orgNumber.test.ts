import { describe, expect, it } from 'vitest';
import { checkOrgNumber, luhnCheckDigit } from '../../domain/index.js';

describe('organisationsnummer', () => {
  it('accepts a number whose last digit is the Luhn check digit, with or without the hyphen', () => {
    expect(checkOrgNumber('556703-7485')).toEqual({ ok: true, normalized: '5567037485' });
    expect(checkOrgNumber('5567037485')).toEqual({ ok: true, normalized: '5567037485' });
    // Skatteverket's own organisationsnummer
    expect(checkOrgNumber('202100-5448').ok).toBe(true);
  });

  it('rejects a wrong check digit and says which digit it should be', () => {
    expect(checkOrgNumber('556703-7484')).toEqual({ ok: false, reason: 'Luhn check digit should be 5' });
  });

  it('rejects anything that is not ten digits', () => {
    for (const bad of ['55670374', '556703-74850', '55670A-7485', '', '556703--7485']) {
      expect(checkOrgNumber(bad).ok, bad).toBe(false);
    }
  });

  it('computes the Luhn digit with weights 2,1,2,… from the left', () => {
    expect(luhnCheckDigit('556703748')).toBe(5);
    expect(luhnCheckDigit('202100544')).toBe(8);
  });
});
