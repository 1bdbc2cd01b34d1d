import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';

const json = (file: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')) as Record<string, unknown>;

/** The README's quick start must leave a fresh clone clean: `npm install` rewrites a lock that disagrees. */
describe('package-lock.json', () => {
  it('records what package.json declares for the project itself, bin included, so npm install has nothing to rewrite', () => {
    const pkg = json('package.json');
    const root = (json('package-lock.json').packages as Record<string, Record<string, unknown>>)['']!;
    for (const field of ['name', 'version', 'bin', 'dependencies', 'devDependencies', 'engines']) {
      expect(root[field], field).toEqual(pkg[field]);
    }
  });
});
