import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startNatsServer, stopProcess, type NatsServer } from '../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { TEMPORAL_TOKEN_REFUSED } from '../scripts/temporal-refusals.js';
import { AuditLog } from '../vault/index.js';

/**
 * docker-compose.yml's `temporal-refusals` service: `temporal-setup.ts refusals` as its own process, carrying the
 * Temporal server's log lines of rejected tokens to the security log, and keeping how far it has read so that a
 * restart neither repeats nor misses one.
 */
const serverLine = (error: string) =>
  JSON.stringify({ level: 'error', ts: new Date().toISOString(), msg: 'Authorization error', error, 'logging-call-at': 'interceptor.go:149' });

let scratch: string;
let nats: NatsServer;
let nc: NatsConnection;
let audit: AuditLog;

beforeAll(async () => {
  scratch = mkdtempSync(join(inject('scratchDir'), 'refusals-service-'));
  nats = await startNatsServer({ storeDir: join(scratch, 'nats'), logFile: join(scratch, 'nats.log') });
  nc = await connect({ servers: nats.url });
  audit = await AuditLog.open(nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('the compose service carrying the Temporal server’s refusals to the security log', () => {
  const logFile = () => join(scratch, 'temporal.log');
  const stateFile = () => join(scratch, 'position.json');
  let output = '';
  const start = (): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/temporal-setup.ts', 'refusals', '--log-file', logFile(), '--state-file', stateFile()], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NATS_URL: nats.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  };
  /** The position it writes after each round, once it has read to `offset`. */
  const untilRead = async (offset: number) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const position = existsSync(stateFile()) ? (JSON.parse(readFileSync(stateFile(), 'utf8')) as { offset: number; at: string }) : undefined;
      if (position && position.offset >= offset) return position;
      if (Date.now() > deadline) throw new Error(`not read to ${offset}: ${JSON.stringify(position)}\n${output}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  };
  const forwarded = async () => (await audit.unattributed()).filter((r) => r.action === 'temporal').map((r) => r.detail);

  it('writes each rejected token once, with its reason, across a restart', { timeout: 90_000 }, async () => {
    writeFileSync(logFile(), `${serverLine('signing method none is invalid')}\n`);
    let child = start();
    const first = await untilRead(readFileSync(logFile()).length);
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(await forwarded()).toEqual([`${TEMPORAL_TOKEN_REFUSED} (signing method none is invalid)`]);
    await stopProcess(child);
    expect(child.exitCode, output).toBe(0);

    // Written while it was down, and after it is back: each once, the first not again.
    appendFileSync(logFile(), `${serverLine('token has invalid claims: token is expired')}\n`);
    child = start();
    appendFileSync(logFile(), `${serverLine('token is unverifiable: error while executing keyfunc')}\n`);
    await untilRead(readFileSync(logFile()).length);
    expect(await forwarded()).toEqual([
      `${TEMPORAL_TOKEN_REFUSED} (signing method none is invalid)`,
      `${TEMPORAL_TOKEN_REFUSED} (token has invalid claims: token is expired)`,
      `${TEMPORAL_TOKEN_REFUSED} (token is unverifiable: error while executing keyfunc)`,
    ]);
    await stopProcess(child);
  });
});
