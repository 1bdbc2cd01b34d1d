import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workflowBundleStaleness, writeWorkflowBundle } from '../workers/workflowBundle.js';

describe('the prebuilt workflow bundle', () => {
  let dir: string;
  let bundle: string;
  let operation: string;
  let rules: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'los-bundle-'));
    bundle = join(dir, 'dist', 'workflow-bundle.js');
    operation = join(dir, 'operation.ts');
    rules = join(dir, 'rules.ts');
    writeFileSync(operation, 'export const stage = 1;\n');
    writeFileSync(rules, 'export const rule = 1;\n');
    writeWorkflowBundle(bundle, '/* bundled */', [operation, rules, dir]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is current while every file it was built from is unchanged', () => {
    expect(workflowBundleStaleness(bundle)).toBeUndefined();
  });

  it('is stale once a file it was built from changes, and says which', () => {
    writeFileSync(rules, 'export const rule = 2;\n');
    expect(workflowBundleStaleness(bundle)).toBe(`${rules} changed since the workflow bundle was built`);
  });

  it('is stale once a file it was built from is gone', () => {
    rmSync(operation);
    expect(workflowBundleStaleness(bundle)).toBe(`${operation}, which the workflow bundle was built from, is gone`);
  });

  it('is not taken with a manifest from another build', () => {
    writeFileSync(bundle, '/* bundled by someone else */');
    expect(workflowBundleStaleness(bundle)).toMatch(/does not match its manifest/);
  });

  it('is missing until built', () => {
    expect(workflowBundleStaleness(join(dir, 'elsewhere.js'))).toMatch(/^there is no workflow bundle at/);
  });
});
