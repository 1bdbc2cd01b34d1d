import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erasureReconciliationScheduleId, erasureWorkflowId } from '../domain/index.js';
import { ERASURE_STREAM, ERASURE_SUBJECT, storedAt } from '../messaging/index.js';
import { accessLogPage } from '../api/console/record-pages.js';
import { TEXTS } from '../api/console/texts.js';
import { AuditLog, sealDecision, type DataKeyInfo, type ErasureRecord } from '../vault/index.js';
import { ensureErasureReconciliation } from '../workers/erasureSchedule.js';
import { createLogger } from '../workers/logger.js';
import { cancelUpdate } from '../workflows/definitions.js';
import { sampleTip, startTestEngine, untilState, type TestEngine } from './engine.js';

/** Erasure that nobody can call off: the reconciliation's schedule catches up an erasure whose workflow was terminated. */
let engine: TestEngine;
const INTERVAL_SECONDS = 1;

beforeAll(async () => {
  engine = await startTestEngine('erasure-reconciliation', { erasureReconcileSeconds: INTERVAL_SECONDS });
});
afterAll(async () => {
  await engine?.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('erasure reconciliation', () => {
  it('destroys the data key of an ended operation whose erasure workflow was terminated, on the record and the access log', async () => {
    const { handle, operationId } = await engine.register(sampleTip(), { config: { retention: '3s' } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, cancelUpdate, await sealDecision(engine.keys, operationId, { reason: 'source withdrawn' }));
    await handle.result();
    // The final fan-out noted the erasure date on the key, then started the erasure workflow, which is called off here.
    const due = await engine.keys.dataKeyInfo(operationId);
    expect(due).toMatchObject({ state: 'active', eraseAt: expect.stringMatching(/^\d{4}-/) });
    const erasure = engine.client.workflow.getHandle(erasureWorkflowId(operationId));
    await erasure.terminate('called off by someone with write access');
    expect((await erasure.describe()).status.name).toBe('TERMINATED');

    const erased = await until('the data key destroyed', async () => {
      const info = await engine.keys.dataKeyInfo(operationId);
      return info?.state === 'erased' ? info : undefined;
    });
    expect(erased).toEqual<DataKeyInfo>({ operationId, state: 'erased', erasedAt: expect.any(String), municipality: 'Umeå' });
    expect(Date.parse(erased.erasedAt!)).toBeGreaterThanOrEqual(Date.parse(due!.eraseAt!));

    // On the record of erasures, as the erasure workflow would have put it.
    const jsm = await jetstreamManager(engine.nc);
    const records: ErasureRecord[] = [];
    for (let stored = await storedAt(jsm, ERASURE_STREAM, { seq: 1, next_by_subj: ERASURE_SUBJECT }); stored;) {
      records.push(stored.json<ErasureRecord>());
      stored = await storedAt(jsm, ERASURE_STREAM, { seq: stored.seq + 1, next_by_subj: ERASURE_SUBJECT });
    }
    expect(records).toContainEqual({ operationId, erasedAt: erased.erasedAt });

    // On the access log: under the operation, and as a count in the security log an auditor reads.
    // The reconciliation destroys the key first, then writes the record and the access log: wait for the last of them.
    const audit = await AuditLog.open(engine.nc);
    const logged = await until('the erasure on the access log', async () => {
      const records = (await audit.forOperation(operationId)).filter((r) => r.action === 'erasure');
      return records.length > 0 ? records : undefined;
    });
    expect(logged).toEqual([
      expect.objectContaining({ who: 'erasure reconciliation', role: 'engine', allowed: true, detail: expect.stringContaining(due!.eraseAt!) }),
    ]);
    // The console's auditor view words it, in Swedish and in English.
    const rendered = (language: 'sv' | 'en') =>
      accessLogPage(TEXTS[language], { values: {}, errors: new Map(), page: { records: logged.map((r) => ({ ...r, seq: 1 })), scanned: 1 } }).toString();
    expect(rendered('sv')).toMatch(/<td>motorn<\/td>[\s\S]*<td>radering i efterhand<\/td>/);
    expect(rendered('en')).toMatch(/<td>the engine<\/td>[\s\S]*<td>overdue erasure<\/td>/);
    // The count goes to the security log after the run's last erasure.
    const summary = new RegExp(`caught up 1 overdue erasure\\(s\\): ${operationId}$`);
    await until('the count on the security log', async () => ((await audit.unattributed()).some((r) => summary.test(r.detail ?? '')) ? true : undefined));

    // The schedule's run reports how many it caught up.
    const schedule = engine.client.schedule.getHandle(erasureReconciliationScheduleId(engine.taskQueue));
    const runs = (await schedule.describe()).info.recentActions.map((a) => a.action.workflow.workflowId);
    const results = await Promise.all(
      runs.map((id) =>
        engine.client.workflow
          .getHandle(id)
          .result()
          .catch(() => undefined),
      ),
    );
    expect(results).toContainEqual({ caughtUp: 1, operationIds: [operationId] });
  });

  it('makes its schedule again when it was deleted, and resumes it when it was paused', async () => {
    const options = { client: engine.client, taskQueue: engine.taskQueue, intervalMs: INTERVAL_SECONDS * 1000, logger: createLogger({ level: 'silent' }) };
    expect(await ensureErasureReconciliation(options)).toBe('unchanged');
    const schedule = engine.client.schedule.getHandle(erasureReconciliationScheduleId(engine.taskQueue));
    await schedule.pause('someone tries to call erasure off');
    expect(await ensureErasureReconciliation(options)).toBe('unpaused');
    expect((await schedule.describe()).state.paused).toBe(false);
    await schedule.delete();
    expect(await ensureErasureReconciliation(options)).toBe('created');
    expect((await schedule.describe()).spec.intervals?.[0]?.every).toBe(INTERVAL_SECONDS * 1000);
  });
});
