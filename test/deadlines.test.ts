import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS, connectAgency, type SimulatedAgency } from '../agencies/index.js';
import { SUBJECTS, type AgencyId } from '../domain/index.js';
import { assessUpdate, closeUpdate, scheduleUpdate, searchAttributes, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { eventually, receivedFor, sampleTip, startTestEngine, type TestEngine, untilState } from './engine.js';

/**
 * Deadlines that pass, with agencies that stay silent, and an operation that outgrows its history.
 * Tullverket never answers mandate requests here; Ekobrottsmyndigheten never reports findings.
 */
let engine: TestEngine;
let agencies: Map<AgencyId, SimulatedAgency>;

beforeAll(async () => {
  engine = await startTestEngine('deadlines');
  agencies = await engine.startAgencies({
    ...DEMO_BEHAVIOURS,
    tullverket: { mandate: { accept: true, contactFunction: 'tullkontroll' }, ignore: ['mandate_requested'] },
    ekobrottsmyndigheten: { mandate: { accept: true, contactFunction: 'EBM, Umeå' }, ignore: ['findings_requested'] },
  });
});
afterAll(async () => {
  await engine?.stop();
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('deadlines', () => {
  it('records a mandate answer that arrives after the deadline, without reopening the phase', async () => {
    // smuggling → Polisen (accepts at once) and Tullverket (silent); quorum 1 lets the operation go on.
    const { handle, operationId } = await engine.register(sampleTip({ categories: ['smuggling'] }), { config: { mandateDeadline: '3s', quorum: 1 } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
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

  it('reminds a participant that has not reported findings, escalates at the deadline, and moves on to follow-up', async () => {
    const steering = engine.nc.subscribe('los.v1.to.steering_group.>');
    // tax_fraud → Skatteverket (reports) and Ekobrottsmyndigheten (silent on findings).
    const { handle, operationId } = await engine.register(sampleTip({ categories: ['tax_fraud'] }), {
      config: { findingsDeadline: '3s', followUpAfter: '60s' },
    });
    await untilState(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
    await untilState(handle, (s) => s.stage === 'schedule_decision', 15_000);
    await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(1), place: 'Storgatan 12', lead: 'skatteverket' }] });
    const state = await untilState(handle, (s) => s.phase === 'follow_up', 20_000);
    expect(Object.fromEntries(state.agencies.map((a) => [a.agency, a.findings]))).toEqual({ skatteverket: 'reported', ekobrottsmyndigheten: 'missing' });
    expect(state.overdue).toBe(false);
    expect(receivedFor(agencies, operationId).ekobrottsmyndigheten).toEqual([
      'mandate_requested',
      'briefing',
      'action_started',
      'findings_requested',
      'reminder',
    ]);
    expect(receivedFor(agencies, operationId).skatteverket).not.toContain('reminder');
    for await (const msg of steering) {
      const event = msg.json<{ subject: string; data: { deadline: string; waitingFor: string[] } }>();
      if (event.subject !== operationId) continue;
      expect(event.data).toMatchObject({ deadline: 'findings', waitingFor: ['ekobrottsmyndigheten'] });
      break;
    }
    steering.unsubscribe();
    const kinds = (await handle.query(timelineQuery)).map((e) => e.kind);
    expect(kinds.indexOf('escalated')).toBeGreaterThan(kinds.indexOf('reminder'));
    await handle.terminate('test done');
  });
});

describe('long operations', () => {
  it('continues as new when the history grows, and loses nothing: state, timeline and deliveries carry over', async () => {
    const { handle, operationId, entityRef } = await engine.register(sampleTip(), {
      config: { mandateDeadline: '8s', findingsDeadline: '8s', followUpAfter: '1s', outcomeDeadline: '8s', historyEventLimit: 60 },
    });
    const firstRun = (await handle.describe()).runId;
    await untilState(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
    await untilState(handle, (s) => s.stage === 'schedule_decision', 20_000);
    await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(2), place: 'Storgatan 12', lead: 'polisen' }] });
    await untilState(handle, (s) => s.stage === 'closing_decision', 30_000);
    await handle.executeUpdate(closeUpdate, { args: [{ summary: 'Closed after a long run.' }] });
    const result = await handle.result();
    expect(result.phase).toBe('closed');

    const runs = [];
    for await (const run of engine.client.workflow.list({ query: `WorkflowId = '${operationId}'` })) runs.push(run);
    expect(runs.length).toBeGreaterThan(1);
    expect((await handle.describe()).runId).not.toBe(firstRun);
    // The entity reference the client set at start is kept by every run, through the workflow's own upserts.
    expect(runs.map((run) => run.typedSearchAttributes.get(searchAttributes.entityRef))).toEqual(runs.map(() => entityRef));

    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'continued').length).toBe(runs.length - 1);
    // The record from the first run is still there.
    expect(timeline[0]?.text).toMatch(/^tip registered/);
    expect(timeline.filter((e) => e.kind === 'phase_changed').map((e) => e.text)).toEqual([
      'tip → assessment',
      'assessment → mandate_matching',
      'mandate_matching → joint_action',
      'joint_action → follow_up',
      'follow_up → closed',
    ]);
    // No event was sent twice across the runs.
    const received = [...agencies.values()].flatMap((a) => a.received.filter((e) => e.operationId === operationId));
    expect(new Set(received.map((e) => e.id)).size).toBe(received.length);
    expect(received.filter((e) => e.name === 'operation_closed').length).toBe(result.outcome!.participants.length);
    const info = await (await jetstreamManager(engine.nc)).streams.info(SUBJECTS.streamOut);
    expect(info.state.messages).toBeGreaterThan(0);
  });
});
