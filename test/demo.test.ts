import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';

/** The README's main job: `npm run demo` carries one operation through all five phases and stops cleanly. */
describe('demo', () => {
  it('runs all five phases end to end, prints an outcome summary, and logs no personal data', async () => {
    const dataDir = mkdtempSync(join(inject('scratchDir'), 'demo-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LOS_DEMO_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
    expect(code, output).toBe(0);

    const phases = [...output.matchAll(/PHASE → (\w[\w -]*)/g)].map((m) => m[1]!.split(' (')[0]!.trim());
    expect(phases).toEqual(['tip', 'assessment', 'mandate matching', 'joint action', 'follow-up', 'closed']);
    expect(output).toMatch(/Temporal UI: http:\/\/localhost:\d+\/namespaces\/default\/workflows\/los-umea-[0-9a-f]{20}/);
    expect(output).toContain('recognised, still los-umea-');
    expect(output).toMatch(/← lansstyrelsen\s+mandate_declined: /);
    expect(output).toContain('Outcome summary for los-umea-');
    expect(output).toContain('Stopped cleanly.');
    // The tip's org number, business name, address and description appear nowhere in what the demo prints.
    for (const secret of ['5567037485', '556703-7485', 'Restaurang Norrsken', 'Storgatan 12', 'Serves alcohol after licence hours']) {
      expect(output.includes(secret), secret).toBe(false);
    }
  }, 180_000);
});
