import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS, type SimulatedAgency } from '../agencies/index.js';
import type { AgencyId, OperationState } from '../domain/index.js';
import {
  assessUpdate,
  callOffUpdate,
  cancelUpdate,
  closeUpdate,
  decideQuorumUpdate,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
  stateQuery,
  timelineQuery,
} from '../workflows/definitions.js';
import type { losOperation } from '../workflows/index.js';
import { eventually, receivedFor, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/** Every coordinator path through an operation, on the real dev server and nats-server. */
let engine: TestEngine;
let agencies: Map<AgencyId, SimulatedAgency>;

beforeAll(async () => {
  engine = await startTestEngine('paths');
  agencies = await engine.startAgencies(DEMO_BEHAVIOURS);
});
afterAll(async () => {
  await engine?.stop();
});

type Handle = WorkflowHandle<typeof losOperation>;
const FAST = { mandateDeadline: '6s', findingsDeadline: '6s', followUpAfter: '1s', outcomeDeadline: '6s', informationDeadline: '6s' };
// smuggling → Polisen and Tullverket: a small, quick operation.
const smallTip = () => sampleTip({ categories: ['smuggling'] });
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

const stateOf = (handle: Handle) => handle.query(stateQuery);
const until = (handle: Handle, test: (s: OperationState) => boolean, timeoutMs?: number) => eventually(() => stateOf(handle), test, timeoutMs);

async function toJointAction(handle: Handle) {
  await until(handle, (s) => s.phase === 'assessment');
  await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
  return until(handle, (s) => s.phase === 'joint_action' && s.stage === 'schedule_decision', 20_000);
}

async function toClosingDecision(handle: Handle, startInSeconds = 1) {
  await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(startInSeconds), place: 'Storgatan 12', lead: 'polisen' }] });
  return until(handle, (s) => s.stage === 'closing_decision', 30_000);
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause?.message ?? '';
}

describe('assessment', () => {
  it('dismisses with a reason, and no agency ever hears of the tip', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await until(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'dismiss', reason: 'Already handled by the Police.' }] });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed', endReason: 'Already handled by the Police.' });
    expect(receivedFor(agencies, operationId)).toEqual({});
    const timeline = await handle.query(timelineQuery);
    expect(timeline.map((e) => e.text)).toContain('assessment: dismiss (Already handled by the Police.)');
  });

  it('asks named agencies for information, records their answers, and still owes the decision', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await until(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, {
      args: [{ decision: 'request_info', agencies: ['polisen', 'kronofogden'], question: 'Any open case against the owner?' }],
    });
    const state = await until(handle, (s) => s.pending.length === 0);
    expect(state).toMatchObject({ phase: 'assessment', stage: 'assessment' });
    const answers = (await handle.query(timelineQuery)).filter((e) => e.kind === 'answer');
    expect(answers.map((e) => e.agency).sort()).toEqual(['kronofogden', 'polisen']);
    expect(receivedFor(agencies, operationId)).toEqual({ polisen: ['information_requested'], kronofogden: ['information_requested'] });
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'dismiss', reason: 'Nothing to act on.' }] });
    expect((await handle.result()).phase).toBe('dismissed');
  });
});

describe('mandate matching', () => {
  it('asks again from named agencies when quorum is not met, and goes ahead when they accept', async () => {
    // Both candidates for smuggling accept; a quorum of three makes that fall short.
    const { handle, operationId } = await engine.register(smallTip(), { config: { ...FAST, quorum: 3 } });
    await until(handle, (s) => s.phase === 'assessment');
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
    await until(handle, (s) => s.stage === 'quorum_decision', 20_000);
    await handle.executeUpdate(decideQuorumUpdate, { args: [{ decision: 'request_again', agencies: ['kronofogden'] }] });
    const state = await until(handle, (s) => s.phase === 'joint_action', 20_000);
    expect(
      state.agencies
        .filter((a) => a.mandate === 'accepted')
        .map((a) => a.agency)
        .sort(),
    ).toEqual(['kronofogden', 'polisen', 'tullverket']);
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'phase_changed').map((e) => e.text)).toContain('mandate_matching → joint_action');
    expect(receivedFor(agencies, operationId).kronofogden).toEqual(['mandate_requested']);
    await handle.terminate('test done');
  });
});

describe('joint action', () => {
  it('validates the schedule: a time in the future, a lead that accepted', async () => {
    const { handle } = await engine.register(sampleTip(), { config: FAST });
    await toJointAction(handle);
    expect(await rejection(handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(-60), place: 'Storgatan 12', lead: 'polisen' }] }))).toMatch(
      /^schedule rejected: at ".*" is not in the future$/,
    );
    expect(await rejection(handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(60), place: 'Storgatan 12', lead: 'lansstyrelsen' }] }))).toMatch(
      /^schedule rejected: lead "lansstyrelsen" has not accepted a mandate/,
    );
    expect(await rejection(handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(60), place: '', lead: 'polisen' }] }))).toMatch(
      /^schedule rejected: place/,
    );
    expect((await stateOf(handle)).stage).toBe('schedule_decision');
    await handle.terminate('test done');
  });

  it('reschedules: every participant is told, and the action starts at the new time', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await toJointAction(handle);
    await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(60), place: 'Storgatan 12', lead: 'polisen' }] });
    const newTime = inSeconds(2);
    await handle.executeUpdate(rescheduleUpdate, { args: [{ at: newTime, reason: 'Skatteverket needs the evening shift.' }] });
    const state = await until(handle, (s) => s.phase === 'follow_up', 20_000);
    expect(state.action?.at).toBe(new Date(newTime).toISOString());
    const received = receivedFor(agencies, operationId);
    for (const agency of ['polisen', 'tullverket'] as const) {
      expect(received[agency]?.slice(0, 4)).toEqual(['mandate_requested', 'briefing', 'action_rescheduled', 'action_started']);
    }
    await handle.terminate('test done');
  });

  it('calls off an action: participants are told, nothing starts, and a new schedule is accepted', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await toJointAction(handle);
    await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(3), place: 'Storgatan 12', lead: 'polisen' }] });
    await handle.executeUpdate(callOffUpdate, { args: [{ reason: 'Police hold: ongoing investigation.' }] });
    const held = await stateOf(handle);
    expect(held).toMatchObject({ phase: 'joint_action', stage: 'schedule_decision', actionNumber: 2 });
    // Past the original start time, nothing has started.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(receivedFor(agencies, operationId).polisen).toEqual(['mandate_requested', 'briefing', 'action_called_off']);
    await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(1), place: 'Storgatan 12', lead: 'tullverket' }] });
    await until(handle, (s) => s.phase === 'follow_up', 20_000);
    expect(receivedFor(agencies, operationId).tullverket).toEqual([
      'mandate_requested',
      'briefing',
      'action_called_off',
      'briefing',
      'action_started',
      'findings_requested',
    ]);
    await handle.terminate('test done');
  });
});

describe('follow-up', () => {
  it('loops back to a new joint action on re-inspection, and the summary keeps both actions', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await toJointAction(handle);
    await toClosingDecision(handle);
    expect(await rejection(handle.executeUpdate(reinspectUpdate, { args: [{ reason: '' }] }))).toMatch(/^reinspection rejected: reason "": must give a reason/);
    await handle.executeUpdate(reinspectUpdate, { args: [{ reason: 'Activity resumed under a new name.' }] });
    const again = await until(handle, (s) => s.phase === 'joint_action');
    expect(again.actionNumber).toBe(2);
    await toClosingDecision(handle);
    await handle.executeUpdate(closeUpdate, { args: [{ summary: 'Two inspections; criminal reports filed.' }] });
    const result = await handle.result();
    // Polisen reports one criminal report per action in DEMO_BEHAVIOURS: two actions, two reports.
    expect(result.outcome?.criminalReports).toBe(2);
    const phases = (await handle.query(timelineQuery)).filter((e) => e.kind === 'phase_changed').map((e) => e.text);
    expect(phases).toEqual([
      'tip → assessment',
      'assessment → mandate_matching',
      'mandate_matching → joint_action',
      'joint_action → follow_up',
      'follow_up → joint_action',
      'joint_action → follow_up',
      'follow_up → closed',
    ]);
    expect(receivedFor(agencies, operationId).polisen?.filter((n) => n === 'briefing')).toHaveLength(2);
  });
});

describe('cancellation', () => {
  const phasesToCancelIn = {
    assessment: async (_handle: Handle) => undefined,
    mandate_matching: async (handle: Handle) => {
      await until(handle, (s) => s.phase === 'assessment');
      await handle.executeUpdate(assessUpdate, { args: [{ decision: 'proceed' }] });
      await until(handle, (s) => s.stage === 'quorum_decision', 20_000);
    },
    joint_action: async (handle: Handle) => {
      await toJointAction(handle);
      await handle.executeUpdate(scheduleUpdate, { args: [{ at: inSeconds(60), place: 'Storgatan 12', lead: 'polisen' }] });
    },
    follow_up: async (handle: Handle) => {
      await toJointAction(handle);
      await toClosingDecision(handle);
    },
  } as const;

  for (const [phase, reach] of Object.entries(phasesToCancelIn)) {
    it(`cancels in ${phase}, and every agency already involved is told`, async () => {
      // To hold the operation in mandate matching, ask for a quorum that two candidates cannot meet.
      const { handle, operationId } = await engine.register(smallTip(), { config: phase === 'mandate_matching' ? { ...FAST, quorum: 5 } : FAST });
      await reach(handle);
      await until(handle, (s) => s.phase === phase);
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'The business was closed by its owner.' }] });
      expect(await handle.result()).toMatchObject({ phase: 'cancelled', endReason: 'The business was closed by its owner.' });
      const received = receivedFor(agencies, operationId);
      const involved = (await stateOf(handle)).agencies.map((a) => a.agency);
      const secondWave = (await stateOf(handle)).secondWave;
      for (const agency of [...involved, ...secondWave]) expect(received[agency]?.at(-1), agency).toBe('operation_cancelled');
      const told = Object.entries(received)
        .filter(([, names]) => names?.includes('operation_cancelled'))
        .map(([a]) => a);
      expect(told.sort()).toEqual([...new Set([...involved, ...secondWave])].sort());
      if (phase === 'assessment') expect(told).toEqual([]);
    });
  }
});
