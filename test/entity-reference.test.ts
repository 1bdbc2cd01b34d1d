import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SetupError, entityKeyFromEnvironment, entityReference, requireEntityKey } from '../vault/index.js';
import { Tip, checkOrgNumber, type PlainTip, type TipInput } from '../domain/index.js';

const key = 'k'.repeat(32);
const normalized = (written: string) => (checkOrgNumber(written) as { normalized: string }).normalized;

describe('pseudonymous entity reference', () => {
  it('is the same for every written form of one org number and differs for another business', () => {
    const forms = ['556703-7485', '5567037485', '16556703-7485', '165567037485'].map((form) => entityReference(normalized(form), key));
    expect(new Set(forms).size).toBe(1);
    expect(entityReference(normalized('202100-5448'), key)).not.toBe(forms[0]);
    expect(forms[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('tells two sole traders a century apart from each other: 19121212-1212 is not 20121212-1212', () => {
    expect(entityReference(normalized('19121212-1212'), key)).not.toBe(entityReference(normalized('20121212-1212'), key));
    expect(entityReference(normalized('191212121212'), key)).toBe(entityReference(normalized('19121212-1212'), key));
  });

  it('depends only on the business, not on the municipality or anything else in the tip', () => {
    const tip = (municipality: string): TipInput => ({
      entity: { orgNumber: '556703-7485', name: 'Norrsken AB', address: 'Storgatan 12', municipality },
      categories: ['tax_fraud'],
      description: `Seen in ${municipality}.`,
      urgency: 'low',
      source: { kind: 'public' },
      receivedAt: '2026-11-01T08:00:00Z',
    });
    const ref = (municipality: string) => entityReference((Tip.parse(tip(municipality)) as PlainTip).entity.orgNumber, key);
    expect(ref('Umeå')).toBe(ref('Robertsfors'));
  });

  it('cannot be recomputed without the key: another key gives another reference', () => {
    expect(entityReference('5567037485', key)).not.toBe(entityReference('5567037485', 'x'.repeat(32)));
  });

  it('takes the key from LOS_ENTITY_KEY or LOS_ENTITY_KEY_FILE, and refuses none or a short one with advice', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'los-key-')), 'entity.key');
    writeFileSync(file, `${key}\n`);
    expect(entityKeyFromEnvironment({ LOS_ENTITY_KEY_FILE: file })).toBe(key);
    expect(entityKeyFromEnvironment({ LOS_ENTITY_KEY: key })).toBe(key);
    expect(entityKeyFromEnvironment({})).toBeUndefined();
    expect(() => requireEntityKey({})).toThrow(SetupError);
    expect(() => requireEntityKey({})).toThrow(/^no entity key: set LOS_ENTITY_KEY .* `openssl rand -hex 32`/);
    expect(() => entityKeyFromEnvironment({ LOS_ENTITY_KEY: 'short' })).toThrow('the entity key is too short (5 characters, at least 32)');
    expect(() => entityKeyFromEnvironment({ LOS_ENTITY_KEY_FILE: join(tmpdir(), 'no-such-los-key') })).toThrow(/could not be read \(ENOENT\)/);
  });
});
