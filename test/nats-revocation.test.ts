import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectAgency, type AgencyClient, type RequestFor } from '../agencies/index.js';
import { readSeedFile, seedFileName } from '../messaging/index.js';
import { acceptedLogin, freePort, refusedLogin, reloadNats, startNatsServer, type NatsServer } from '../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { assessUpdate, timelineQuery } from '../workflows/definitions.js';
import { eventually, sampleTip, startTestEngine, untilState, type TestEngine } from './engine.js';

/**
 * An agency's credentials revoked and rotated, against the real nats-server: the config rendered again, the server
 * reloaded, and what the agency could do before and after.
 */

function cli(...args: string[]) {
  execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts', 'nats-config.ts'), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

describe('nats-config revoke and rotate, on a running nats-server', () => {
  let scratch: string;
  let keysDir: string;
  let nats: NatsServer;
  const seed = (identity: `agency:${string}` | 'worker') => readSeedFile(join(keysDir, seedFileName(identity)));
  const config = () => join(scratch, 'nats.conf');
  /** `npm run nats-config -- config` for this scratch directory's keys and store, listening on `listen`. */
  const writeConfig = (listen: string) =>
    cli('config', config(), '--public-keys', join(keysDir, 'public-keys.json'), '--listen', listen, '--store-dir', join(scratch, 'js'), '--no-tls');

  beforeAll(async () => {
    scratch = mkdtempSync(join(inject('scratchDir'), 'nats-revocation-cli-'));
    keysDir = join(scratch, 'keys');
    cli('keys', keysDir);
    const port = await freePort();
    writeConfig(`127.0.0.1:${port}`);
    nats = await startNatsServer({
      storeDir: join(scratch, 'js'),
      logFile: join(scratch, 'nats.log'),
      completeConfig: { path: config(), url: `nats://127.0.0.1:${port}` },
      nkeySeed: seed('worker'),
    });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  const reload = (applied: () => Promise<unknown>) => reloadNats(nats, applied);

  it('rotates a key with both valid during the switch-over, then refuses the old one', async () => {
    const old = seed('agency:tullverket');
    cli('rotate', 'tullverket', '--keys', keysDir, '--config', config());
    const next = readSeedFile(join(keysDir, 'agencies', 'tullverket.next.nk'));
    await reload(() => acceptedLogin(nats.url, next));
    await acceptedLogin(nats.url, old);

    cli('rotate', 'tullverket', '--keys', keysDir, '--finish', '--config', config());
    await reload(() => refusedLogin(nats.url, old));
    await acceptedLogin(nats.url, next);
    expect(seed('agency:tullverket')).toBe(next);
    // A revoked key is never rendered again, even put back by hand.
    const keys = JSON.parse(readFileSync(join(keysDir, 'public-keys.json'), 'utf8'));
    expect(keys.revoked.tullverket).toEqual([expect.stringMatching(/^U/)]);
  });

  it('revokes an agency: its seed deleted, its login refused, every other identity still let in, and a new key only when reissued', async () => {
    const revoked = seed('agency:skatteverket');
    // The --reload flag sends what `nats-server --signal reload=<pid>` sends.
    cli('revoke', 'skatteverket', '--keys', keysDir, '--config', config(), '--reload', String(nats.process.pid));
    await eventually(
      () =>
        refusedLogin(nats.url, revoked).then(
          () => 'refused',
          (err: Error) => err.message,
        ),
      (outcome) => outcome === 'refused',
      10_000,
    );
    expect(existsSync(join(keysDir, seedFileName('agency:skatteverket')))).toBe(false);
    await acceptedLogin(nats.url, seed('agency:polisen'));
    expect(readFileSync(config(), 'utf8')).toMatch(/AGENCY_SKATTEVERKET: \{\n.*\n {4}users: \[\n {4}\]/);

    // `keys` does not quietly issue a revoked agency a new key; --reissue does, and it logs in.
    cli('keys', keysDir);
    expect(existsSync(join(keysDir, seedFileName('agency:skatteverket')))).toBe(false);
    cli('keys', keysDir, '--reissue', 'skatteverket');
    writeConfig(new URL(nats.url).host);
    const reissued = seed('agency:skatteverket');
    expect(reissued).not.toBe(revoked);
    await reload(() => acceptedLogin(nats.url, reissued));
    await refusedLogin(nats.url, revoked);
  });
});

describe('a revoked agency, with the engine running', () => {
  let engine: TestEngine;
  let polisen: AgencyClient;
  let request: RequestFor<'mandate_accepted'> | undefined;

  beforeAll(async () => {
    engine = await startTestEngine('nats-revocation', { auth: true });
    polisen = await connectAgency({ agency: 'polisen', servers: engine.nats.url, credentials: engine.agencyCredentials('polisen') });
    polisen.on('mandate_requested', async (event) => {
      request = event;
      await polisen.accept(event, { tools: ['criminal_investigation'], contactFunction: 'LOS-samordnare' });
    });
    await polisen.start();
  }, 60_000);
  afterAll(async () => {
    await polisen?.close().catch(() => undefined);
    await engine?.stop();
  });

  it('keeps every answer acknowledged before the revocation, and refuses its next connect and publish', async () => {
    const { handle } = await engine.register(sampleTip({ categories: ['smuggling'] }), { config: { mandateDeadline: '60s' } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    // The answer is acknowledged by JetStream (accept() resolved) when `request` is set; the revocation follows at
    // once, before or while the bridge applies it.
    await eventually(
      async () => request,
      (r) => r !== undefined,
    );
    const credentials = engine.agencyCredentials('polisen');
    await engine.revokeAgency('polisen');

    // Its earlier answer is applied all the same, once.
    await untilState(handle, (s) => s.agencies.find((a) => a.agency === 'polisen')?.mandate === 'accepted');
    const answers = (await handle.query(timelineQuery)).filter((e) => e.kind === 'answer' && e.agency === 'polisen');
    expect(answers).toHaveLength(1);

    // Its next connect is refused; its open connection was closed by the reload, so a publish on it fails.
    await refusedLogin(engine.nats.url, credentials.nkeySeed);
    await expect(polisen.decline(request!, 'sent after the revocation')).rejects.toThrow();
    expect(() => engine.agencyCredentials('polisen')).toThrow(/revoked/);

    // Nothing it tried after the revocation reached the operation; other agencies still log in.
    expect((await handle.query(timelineQuery)).filter((e) => e.agency === 'polisen' && e.kind === 'answer')).toHaveLength(1);
    await acceptedLogin(engine.nats.url, engine.agencyCredentials('tullverket').nkeySeed);
  });
});
