import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev-stack.js';
import { generateMasterKey } from '../../vault/index.js';
import { descendants, npmRun, stillRunning, untilOutput } from './processes.js';

/**
 * `npm run demo` as a newcomer runs it: again and again in the same checkout, and stopped by a signal to the process
 * they started (npm), from a service manager or `kill`, not only by Ctrl-C to the whole terminal.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'los-demo-runs-'));
const demo = (...args: string[]) => npmRun('demo', args, { LOS_DEMO_DATA_DIR: dataDir });

describe('npm run demo, repeated in one data directory', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs again on the data and keys of the run before, a --keep run stops with everything it started on SIGTERM to npm, the next run still works, and a replaced master key is named', async () => {
    const first = demo();
    expect(await first.exited, first.output().slice(-3_000)).toBe(0);
    expect(first.output()).toContain('Stopped cleanly.');

    // The second run keeps the stack up on the same data, and a SIGTERM to npm stops every process below it.
    const [temporalPort, uiPort, natsPort] = [await freePort(), await freePort(), await freePort()];
    const kept = demo('--keep', '--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--nats-port', String(natsPort));
    expect(await untilOutput(kept, 'Press Ctrl-C', 240_000), kept.output().slice(-3_000)).toBe(true);
    expect(kept.output()).toContain('Outcome summary for los-umea-');
    const below = descendants(kept.child.pid!);
    // The demo itself, the Temporal dev server, nats-server and the identity provider at least.
    expect(below.length, below.map((p) => p.args).join('\n')).toBeGreaterThanOrEqual(4);
    kept.child.kill('SIGTERM');
    expect(await kept.exited, kept.output().slice(-3_000)).toBe(0);
    expect(kept.output()).toContain('Stopped cleanly.');
    expect(stillRunning(below)).toEqual([]);

    const third = demo();
    expect(await third.exited, third.output().slice(-3_000)).toBe(0);
    expect(third.output()).toContain('Stopped cleanly.');
    expect(third.output()).not.toMatch(/demo failed/);

    // A data directory whose master key was replaced: one sentence saying so and what to do; the stack trace in the log.
    writeFileSync(join(dataDir, 'master.key'), `${generateMasterKey()}\n`, { mode: 0o600 });
    const replaced = demo();
    expect(await replaced.exited, replaced.output().slice(-3_000)).toBe(1);
    expect(replaced.output()).toMatch(/demo failed: \S+ is wrapped by master key mk-[0-9a-f]+, which this process does not hold/);
    expect(replaced.output()).toContain(`was made with another master key than ${join(dataDir, 'master.key')} holds`);
    expect(replaced.output()).toContain(`The details are in ${join(dataDir, 'demo.log')}.`);
    expect(replaced.output()).not.toMatch(/^\s+at /m);
    expect(readFileSync(join(dataDir, 'demo.log'), 'utf8')).toMatch(/UnknownMasterKeyError: [\s\S]*^\s+at /m);
  });
});
