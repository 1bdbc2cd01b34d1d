import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startTemporalDevServer } from '../scripts/dev-stack.js';
import { ensureTemporalCli } from '../scripts/temporal-cli.js';

/**
 * The dev server panics at start when a port it picked for itself is taken before it binds (temporalio/cli#543;
 * CI saw it once). A stand-in CLI panics the way it does for its first `failures` starts, then runs the real one.
 */
function panickingCli(failures: number): { path: string; starts: () => number } {
  const dir = mkdtempSync(join(tmpdir(), 'los-dev-server-start-'));
  const counter = join(dir, 'starts');
  writeFileSync(counter, '');
  const path = join(dir, 'temporal');
  writeFileSync(
    path,
    [
      '#!/usr/bin/env bash',
      `echo started >> '${counter}'`,
      `if [ "$(wc -l < '${counter}')" -le ${failures} ]; then`,
      "  echo 'panic: runtime error: invalid memory address or nil pointer dereference' >&2",
      '  exit 2',
      'fi',
      `exec '${ensureTemporalCli()}' "$@"`,
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return { path, starts: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length };
}

describe('starting the Temporal dev server', () => {
  const realCli = process.env.TEMPORAL_CLI;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    if (realCli === undefined) delete process.env.TEMPORAL_CLI;
    else process.env.TEMPORAL_CLI = realCli;
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('starts it again when it panicked at start, and the server that comes up answers', async () => {
    const cli = panickingCli(2);
    process.env.TEMPORAL_CLI = cli.path;
    const scratch = mkdtempSync(join(tmpdir(), 'los-dev-server-start-'));
    const server = await startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), headless: true, logFile: join(scratch, 'temporal.log') });
    stops.push(server.stop);
    expect(cli.starts()).toBe(3);
    const connection = await Connection.connect({ address: server.address });
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
  });

  it('gives up after three starts and says why', async () => {
    const cli = panickingCli(3);
    process.env.TEMPORAL_CLI = cli.path;
    const scratch = mkdtempSync(join(tmpdir(), 'los-dev-server-start-'));
    const log = join(scratch, 'temporal.log');
    await expect(startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), headless: true, logFile: log })).rejects.toThrow(
      `the Temporal dev server exited with code 2; see ${log}; it logged: panic: runtime error: invalid memory address or nil pointer dereference`,
    );
    expect(cli.starts()).toBe(3);
  });
});
