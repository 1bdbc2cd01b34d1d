import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS, connectAgency, type SimulatedAgency } from '../agencies/index.js';
import type { AgencyId } from '../domain/index.js';
import { assessUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { eventually, receivedFor, sampleTip, startTestEngine, type TestEngine, untilState } from './engine.js';

/**
 * A deadline end to end: an answer that comes over NATS after its deadline goes through the bridge to the
 * operation, which keeps it on the record without reopening the phase. Tullverket never answers mandate requests
 * here. The rules about time themselves (reminders, escalation, continue-as-new) are tested in the workflow tier,
 * test/workflows/.
 */
let engine: TestEngine;
let agencies: Map<AgencyId, SimulatedAgency>;

beforeAll(async () => {
  engine = await startTestEngine('deadlines');
  agencies = await engine.startAgencies({
    ...DEMO_BEHAVIOURS,
    tullverket: { mandate: { accept: true, contactFunction: 'tullkontroll' }, ignore: ['mandate_requested'] },
  });
});
afterAll(async () => {
  await engine?.stop();
});

describe('deadlines', () => {
  it('records a mandate answer that arrives after the deadline, without reopening the phase', async () => {
    // smuggling → Polisen (accepts at once) and Tullverket (silent); quorum 1 lets the operation go on.
    const { handle, operationId } = await engine.register(sampleTip({ categories: ['smuggling'] }), { config: { mandateDeadline: '4s', quorum: 1 } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    const after = await untilState(handle, (s) => s.phase === 'joint_action', 15_000);
    expect(after.agencies.find((a) => a.agency === 'tullverket')?.mandate).toBe('no_answer');
    // The reminder went out before the deadline, to the silent agency only.
    expect(receivedFor(agencies, operationId).tullverket).toEqual(['mandate_requested', 'reminder']);

    // Tullverket's system wakes up late and answers the request it was sent.
    const request = agencies.get('tullverket')!.received.find((e) => e.operationId === operationId && e.name === 'mandate_requested')!;
    const late = await connectAgency({ agency: 'tullverket', servers: engine.nats.url });
    await late.answer('mandate_accepted', operationId, {
      correlation: (request.data as { correlation: { operationId: string; requestId: string } }).correlation,
      tools: ['customs_control'],
      contactFunction: 'tullkontroll',
    });
    await late.close();
    const timeline = await eventually(
      () => handle.query(timelineQuery),
      (t) => t.some((e) => e.kind === 'late_answer'),
    );
    expect(timeline.filter((e) => e.kind === 'late_answer')).toEqual([
      expect.objectContaining({ agency: 'tullverket', text: 'mandate_accepted after the deadline' }),
    ]);
    const state = await handle.query(stateQuery);
    expect(state).toMatchObject({ phase: 'joint_action' });
    expect(state.agencies.find((a) => a.agency === 'tullverket')?.mandate).toBe('no_answer');
    await handle.terminate('test done');
  });
});
