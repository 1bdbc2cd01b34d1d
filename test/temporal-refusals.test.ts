import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forwardTemporalRefusals, refusalsInLog, TEMPORAL_TOKEN_REFUSED, unauthorizedCount } from '../scripts/temporal-refusals.js';
import { AccessRecord } from '../vault/index.js';

/** Lines as the Temporal server (v1.32) writes them when its claim mapper rejects a token. */
const serverLine = (error: string, ts = '2026-12-07T04:14:34.542Z') =>
  JSON.stringify({ level: 'error', ts, msg: 'Authorization error', error, 'logging-call-at': 'interceptor.go:149', stacktrace: 'go.temporal.io/…' });

describe('the Temporal server’s refusals, as the cluster forwards them to the security log', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'los-temporal-refusals-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds the authorisation errors in the server’s log with their reason, and no token', () => {
    const lines = [
      JSON.stringify({ level: 'warn', ts: '2026-12-07T04:14:00Z', msg: 'something else', error: 'x' }),
      serverLine('signing method none is invalid'),
      'not json, but mentions Authorization error',
      serverLine('token is malformed: eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln could not be parsed'),
    ];
    const refusals = refusalsInLog(lines);
    expect(refusals).toEqual([
      { at: '2026-12-07T04:14:34.542Z', reason: 'signing method none is invalid' },
      { at: '2026-12-07T04:14:34.542Z', reason: 'token is malformed: [token] could not be parsed' },
    ]);
  });

  it('sums the denied calls over every series of the counter', () => {
    const metrics = [
      '# HELP service_errors_unauthorized service_errors_unauthorized counter',
      '# TYPE service_errors_unauthorized counter',
      'service_errors_unauthorized{namespace="default",operation="Authorization",service_name="frontend"} 3',
      'service_errors_unauthorized{namespace="_unknown_",operation="Authorization",service_name="frontend"} 2',
      'service_errors_unauthorized_total_other 7',
    ].join('\n');
    expect(unauthorizedCount(metrics)).toBe(5);
    expect(unauthorizedCount('')).toBe(0);
  });

  it('tails the log from where the server started, a line written in two parts once, each as a valid access record', async () => {
    const logFile = join(scratch, 'server.log');
    writeFileSync(logFile, `${serverLine('from an earlier run')}\n`);
    const from = Buffer.byteLength(`${serverLine('from an earlier run')}\n`);
    const recorded: AccessRecord[] = [];
    const forwarder = forwardTemporalRefusals({
      logFile,
      from,
      record: async (entry) => void recorded.push(AccessRecord.parse(entry)),
      log: () => undefined,
      intervalMs: 60_000,
    });
    const line = serverLine('token has invalid claims: token is expired');
    appendFileSync(logFile, line.slice(0, 40));
    await forwarder.poll();
    expect(recorded).toEqual([]);
    appendFileSync(logFile, `${line.slice(40)}\n`);
    await forwarder.stop();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      action: 'temporal',
      allowed: false,
      who: 'unauthenticated',
      detail: `${TEMPORAL_TOKEN_REFUSED} (token has invalid claims: token is expired)`,
    });
  });
});
