import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { installTestRuntime } from './runtime.js';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { engineDataConverter } from '../vault/index.js';

/**
 * Determinism guard: recorded histories of representative operations must replay on the current workflow
 * code. A change that alters the commands a recorded history produced fails here (README, "Changing workflow code").
 */
const DIR = join(PROJECT_ROOT, 'test', 'histories');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Record<string, { workflowId: string; scenario: string }>;
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
  .sort();

describe('replay of the recorded histories', () => {
  it('has a recorded history for every representative path', () => {
    expect(Object.keys(manifest).sort()).toEqual(files);
    const scenarios = new Set(files.map((f) => manifest[f]!.scenario));
    expect([...scenarios].sort()).toEqual([
      'assessment-overdue',
      'called-off-and-rescheduled',
      'continue-as-new',
      'dismissed',
      'full-lifecycle',
      'quorum-not-met',
      'reinspection',
    ]);
    expect(files.filter((f) => f.startsWith('continue-as-new.run')).length).toBeGreaterThan(1);
  });

  it('replays every recorded history on the current workflow code without a determinism error', async () => {
    installTestRuntime();
    const histories = files.map((file) => ({
      workflowId: manifest[file]!.workflowId,
      history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    // With the payload codec on, as every worker runs; the histories are recorded with its layer taken off.
    const payloadKey = randomBytes(32);
    const dataConverter = engineDataConverter({ payloadKey: async () => payloadKey });
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter }, histories)) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message.slice(0, 500)}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
