import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../scripts/dev-stack.js';

/** A server that dies at start says why in the error, even after its scratch directory (and log) is gone. */
describe('waiting for a server', () => {
  const exited = async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(1)']);
    await new Promise((resolve) => child.on('exit', resolve));
    return child;
  };

  it('names the fatal line of the log of a server that exited, over earlier errors', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'los-dev-stack-')), 'server.log');
    writeFileSync(
      log,
      [
        JSON.stringify({ level: 'error', msg: 'error fetching user data from parent' }),
        JSON.stringify({ level: 'fatal', msg: 'Unable to start server', error: 'listen tcp 127.0.0.1:7233: bind: address already in use' }),
        JSON.stringify({ level: 'info', msg: 'All services are stopped.' }),
      ].join('\n'),
    );
    await expect(waitFor('the Temporal server', await exited(), () => Promise.reject(new Error('not yet')), 5_000, log)).rejects.toThrow(
      `the Temporal server exited with code 1; see ${log}; it logged: Unable to start server: listen tcp 127.0.0.1:7233: bind: address already in use`,
    );
  });

  it('says only where the log was when it cannot be read', async () => {
    await expect(waitFor('nats-server', await exited(), () => Promise.reject(new Error('not yet')), 5_000, '/nonexistent/server.log')).rejects.toThrow(
      /^nats-server exited with code 1; see \/nonexistent\/server.log$/,
    );
  });
});
