import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort } from '../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';

function demo(args: string[], dataDir?: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...(dataDir ? { LOS_DEMO_DATA_DIR: dataDir } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  return { child, exited, output: () => output };
}

/** Whether nothing listens on a loopback port any more. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });

describe('demo options and signals', () => {
  it('documents its options with --help and starts nothing', async () => {
    const run = demo(['--help']);
    expect(await run.exited).toBe(0);
    for (const option of ['--keep', '--temporal-port', '--ui-port', '--nats-port', 'SIGTERM']) expect(run.output()).toContain(option);
    const bad = demo(['--temporal-port', 'seventy']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('demo: --temporal-port "seventy": must be a port number from 1 to 65535');
  }, 30_000);

  // The README's main job: one run carries an operation through all five phases, then (--keep) leaves the stack up
  // for a person to look around in, on the ports it was given, until SIGTERM stops everything it started.
  it('runs all five phases end to end on the ports it is given, prints an outcome summary and logs no personal data; with --keep prints the console’s address and the demo people, and SIGTERM stops everything it started', async () => {
    const [temporalPort, uiPort, natsPort] = [await freePort(), await freePort(), await freePort()];
    const run = demo(
      ['--keep', '--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--nats-port', String(natsPort)],
      mkdtempSync(join(inject('scratchDir'), 'demo-term-')),
    );
    const deadline = Date.now() + 150_000;
    while (!run.output().includes('Press Ctrl-C') && Date.now() < deadline) {
      if (run.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run.output()).toContain(`Temporal at 127.0.0.1:${temporalPort}, UI at http://localhost:${uiPort}; NATS at nats://127.0.0.1:${natsPort}`);
    const output = run.output();
    const phases = [...output.matchAll(/PHASE → (\w[\w -]*)/g)].map((m) => m[1]!.split(' (')[0]!.trim());
    expect(phases).toEqual(['tip', 'assessment', 'mandate matching', 'joint action', 'follow-up', 'closed']);
    expect(output).toMatch(new RegExp(`Temporal UI: http://localhost:${uiPort}/namespaces/default/workflows/los-umea-[0-9a-f]{20}`));
    expect(output).toContain('recognised (unchanged), still los-umea-');
    // The coordinator signs in at the identity provider and works through the API: the timeline names her.
    expect(output).toMatch(/signed in as Anna Lindqvist \(coordinator, Umeå\)/);
    expect(output).toMatch(/refused \(HTTP 409\): schedule rejected: lead "lansstyrelsen"/);
    const decided = output.slice(output.indexOf('Who decided'));
    for (const decision of ['tip registered by Anna Lindqvist', 'assessment: proceed', 'scheduled for', 'operation closed by the coordinator']) {
      expect(decided).toMatch(new RegExp(`Anna Lindqvist \\(coordinator\\)\\s+.*${decision}`));
    }
    expect(output).toMatch(/← lansstyrelsen\s+mandate_declined: /);
    expect(output).toContain('Outcome summary for los-umea-');
    // The console's address, which answers (a browser not signed in is sent to sign in), and whom to sign in as.
    const consoleUrl = /The console \(Swedish; \?lang=en for English\): (http:\/\/127\.0\.0\.1:\d+\/konsol) /.exec(run.output())?.[1];
    expect(consoleUrl, run.output()).toBeDefined();
    const start = await fetch(consoleUrl!, { redirect: 'manual' });
    expect(start.status).toBe(303);
    expect(start.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/);
    expect(run.output()).toContain('Sign in there with password demo-password as one of the demo people');
    for (const person of [
      'anna     Anna Lindqvist, coordinator of Umeå',
      'bertil   Bertil Nyström, coordinator of Malmö',
      'cecilia  Cecilia Berg, steering group',
      'david    David Holm, auditor',
      'erik     Erik Sandberg, operator',
    ])
      expect(run.output()).toContain(person);
    expect(run.output()).not.toContain('frida');
    run.child.kill('SIGTERM');
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toContain('SIGTERM: stopping everything the demo started');
    expect(run.output()).toContain('Stopped cleanly.');
    for (const port of [temporalPort, uiPort, natsPort]) expect(await portIsFree(port), `port ${port}: ${run.output()}`).toBe(true);
    // The tip's org number, business name, address and description appear nowhere in what the demo printed.
    for (const secret of ['5567037485', '556703-7485', 'Restaurang Norrsken', 'Storgatan 12', 'Serves alcohol after licence hours']) {
      expect(run.output().includes(secret), secret).toBe(false);
    }
  }, 240_000);
});
