import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assessUpdate,
  callOffUpdate,
  cancelUpdate,
  closeUpdate,
  decideQuorumUpdate,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
  searchAttributes,
  stateQuery,
  timelineQuery,
} from '../../workflows/definitions.js';
import type { losOperation } from '../../workflows/index.js';
import { DEMO_BEHAVIOURS } from '../../agencies/index.js';
import { startWorkflowTier, type WorkflowTier } from './harness.js';

/**
 * The stages of an operation and their fan-outs: quorum, the action's start timer, rescheduling and calling
 * off, re-inspection, closing, cancelling in every phase, and continue-as-new carrying everything over.
 */
let tier: WorkflowTier;

beforeAll(async () => {
  tier = await startWorkflowTier('stages');
});
afterAll(async () => {
  await tier?.stop();
});

type Handle = WorkflowHandle<typeof losOperation>;
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
// smuggling → Polisen and Tullverket: a small, quick operation.
const SMUGGLING = { categories: ['smuggling' as const] };

async function toScheduleDecision(handle: Handle) {
  await tier.untilStage(handle, 'assessment');
  await tier.decide(handle, assessUpdate, { decision: 'proceed' });
  return tier.untilStage(handle, 'schedule_decision');
}

describe.concurrent('mandate matching', () => {
  it('lets the coordinator decide when quorum is not met, asks again from named agencies, and goes ahead when they accept', async () => {
    // Both candidates for smuggling accept; a quorum of three makes that fall short.
    const handle = await tier.start({ tip: SMUGGLING, config: { quorum: 3 } });
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, assessUpdate, { decision: 'proceed' });
    const short = await tier.untilStage(handle, 'quorum_decision');
    expect(short.phase).toBe('mandate_matching');
    expect((await handle.query(timelineQuery)).map((e) => e.text)).toContain('quorum not met: 2 of 3 agencies accepted');
    const receipt = await tier.decide(handle, decideQuorumUpdate, { decision: 'request_again', agencies: ['kronofogden'] });
    // A decision answers with a small receipt, not the whole state: every update result is kept in history.
    expect(Object.keys(receipt).sort()).toEqual(['phase', 'stage', 'waitingFor']);
    const state = await tier.untilStage(handle, 'schedule_decision');
    expect(state.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency)).toEqual(['polisen', 'tullverket', 'kronofogden']);
    expect(tier.receivedBy(handle.workflowId).kronofogden).toEqual(['mandate_requested']);
  });

  it('dismisses at the quorum decision with a reason, and the agencies asked are told it is off', async () => {
    const handle = await tier.start({ tip: SMUGGLING, config: { quorum: 3 } });
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, assessUpdate, { decision: 'proceed' });
    await tier.untilStage(handle, 'quorum_decision');
    await tier.decide(handle, decideQuorumUpdate, { decision: 'dismiss', reason: 'Only two agencies can act.' });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed', endReason: 'Only two agencies can act.' });
  });
});

describe.concurrent('joint action', () => {
  it('starts the action on a durable timer at the scheduled time, never before, and asks participants for findings', async () => {
    const handle = await tier.start({ tip: SMUGGLING });
    await toScheduleDecision(handle);
    const at = inMs(2_000);
    await tier.decide(handle, scheduleUpdate, { at, place: 'Storgatan 12', lead: 'polisen' });
    const started = (await tier.untilSent(handle.workflowId, (sent) => sent.some((e) => e.event === 'findings_requested'))).filter(
      (e) => e.event === 'action_started',
    );
    expect(started.map((e) => e.to).sort()).toEqual(['polisen', 'tullverket']);
    expect(Date.parse(started[0]!.time)).toBeGreaterThanOrEqual(Date.parse(at));
    const timer = (await tier.timers(handle)).find((t) => t.summary === 'joint action: start');
    expect(timer?.ms).toBeGreaterThan(0);
    expect(timer?.ms).toBeLessThanOrEqual(2_000);
    await handle.terminate('test done');
  });

  it('reschedules: every participant is told, and the action starts at the new time, not the old one', async () => {
    const handle = await tier.start({ tip: SMUGGLING });
    await toScheduleDecision(handle);
    const oldTime = inMs(60_000);
    await tier.decide(handle, scheduleUpdate, { at: oldTime, place: 'Storgatan 12', lead: 'polisen' });
    const newTime = inMs(600);
    await tier.decide(handle, rescheduleUpdate, { at: newTime, reason: 'Skatteverket needs the evening shift.' });
    await tier.untilSent(handle.workflowId, (sent) => sent.some((e) => e.event === 'findings_requested'));
    const state = await handle.query(stateQuery);
    expect(state.action?.at).toBe(new Date(newTime).toISOString());
    const received = tier.receivedBy(handle.workflowId);
    for (const agency of ['polisen', 'tullverket']) {
      expect(received[agency]).toEqual(['mandate_requested', 'briefing', 'action_rescheduled', 'action_started', 'findings_requested']);
    }
    const started = tier.sent(handle.workflowId).find((e) => e.event === 'action_started')!;
    expect(Date.parse(started.time)).toBeGreaterThanOrEqual(Date.parse(newTime));
    expect(Date.parse(started.time)).toBeLessThan(Date.parse(oldTime));
    expect(tier.sent(handle.workflowId).find((e) => e.event === 'action_rescheduled')?.data).toMatchObject({
      action: { at: new Date(newTime).toISOString() },
      reason: 'Skatteverket needs the evening shift.',
    });
    await handle.terminate('test done');
  });

  it('calls off an action: participants are told, nothing starts at the old time, and a new schedule is accepted', async () => {
    const handle = await tier.start({ tip: SMUGGLING });
    await toScheduleDecision(handle);
    const at = inMs(1_500);
    await tier.decide(handle, scheduleUpdate, { at, place: 'Storgatan 12', lead: 'polisen' });
    await tier.decide(handle, callOffUpdate, { reason: 'Police hold: ongoing investigation.' });
    expect(await tier.untilStage(handle, 'schedule_decision')).toMatchObject({ phase: 'joint_action', actionNumber: 2 });
    await tier.untilSent(handle.workflowId, (sent) => sent.filter((e) => e.event === 'action_called_off').length === 2);
    // Past the original start time, nothing has started.
    await tier.env.sleep(Date.parse(at) - Date.now() + 300);
    expect(tier.receivedBy(handle.workflowId).polisen).toEqual(['mandate_requested', 'briefing', 'action_called_off']);
    expect((await handle.query(stateQuery)).stage).toBe('schedule_decision');
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'tullverket' });
    await tier.untilStage(handle, 'follow_up');
    expect(tier.receivedBy(handle.workflowId).tullverket).toEqual([
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

describe.concurrent('follow-up and the end', () => {
  it('loops back to a new joint action on re-inspection, and the summary keeps both actions', async () => {
    const handle = await tier.start({ tip: SMUGGLING, config: { followUpAfter: '200ms' }, agencies: DEMO_BEHAVIOURS });
    const operationId = handle.workflowId;
    await toScheduleDecision(handle);
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
    await tier.untilStage(handle, 'closing_decision');
    await expect(tier.decide(handle, reinspectUpdate, { reason: '' })).rejects.toMatchObject({
      // Operators read the message: the field, not its value; the value is quoted in the encrypted details.
      cause: {
        message: expect.stringMatching(/^reinspection rejected: reason: must give a reason/),
        details: expect.arrayContaining([{ quoted: expect.stringMatching(/^reinspection rejected: reason "": must give a reason/) }]),
      },
    });
    await tier.decide(handle, reinspectUpdate, { reason: 'Activity resumed under a new name.' });
    const again = await tier.untilStage(handle, 'schedule_decision');
    expect(again).toMatchObject({ phase: 'joint_action', actionNumber: 2 });
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
    await tier.untilStage(handle, 'closing_decision');
    await tier.decide(handle, closeUpdate, { summary: 'Two inspections; criminal reports filed.' });
    const result = await handle.result();
    // Polisen reports one criminal report per action in DEMO_BEHAVIOURS: two actions, two reports.
    expect(result.outcome?.criminalReports).toBe(2);
    expect((await handle.query(timelineQuery)).filter((e) => e.kind === 'phase_changed').map((e) => e.text)).toEqual([
      'tip → assessment',
      'assessment → mandate_matching',
      'mandate_matching → joint_action',
      'joint_action → follow_up',
      'follow_up → joint_action',
      'joint_action → follow_up',
      'follow_up → closed',
    ]);
    expect(tier.receivedBy(operationId).polisen?.filter((n) => n === 'briefing')).toHaveLength(2);
    // The second wave reaches each agency once, however many actions there were.
    const wave = tier.sent(operationId).filter((e) => e.event === 'second_wave_notice');
    expect(new Set(wave.map((e) => e.to)).size).toBe(wave.length);
  });

  it('closes with a summary: participants are told, and the last fan-out arranges the erasure after the retention', async () => {
    const handle = await tier.start({ tip: SMUGGLING, config: { followUpAfter: '200ms', retention: '30 days' }, agencies: DEMO_BEHAVIOURS });
    const operationId = handle.workflowId;
    await toScheduleDecision(handle);
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
    await tier.untilStage(handle, 'closing_decision');
    await tier.decide(handle, closeUpdate, { summary: 'Goods seized; criminal report filed.' });
    const result = await handle.result();
    expect(result).toMatchObject({
      phase: 'closed',
      outcome: { participants: ['polisen', 'tullverket'], coordinatorSummary: 'Goods seized; criminal report filed.' },
    });
    const sent = tier.sent(operationId);
    const closed = sent.filter((e) => e.event === 'operation_closed');
    expect(closed.map((e) => e.to).sort()).toEqual(['polisen', 'tullverket']);
    expect(closed[0]!.data).toMatchObject({ summary: 'Goods seized; criminal report filed.' });
    expect(sent.at(-1)!.fanout).toBe(closed[0]!.fanout);
    // Kept no longer than needed: the final fan-out, and only it, arranges the erasure.
    const erasures = tier.erasures(operationId);
    expect(erasures).toEqual([{ retention: '30 days', eraseAt: expect.any(String) }]);
    expect(Date.parse(erasures[0]!.eraseAt) - Date.parse(closed[0]!.time)).toBe(30 * 86_400_000);
  });

  const phasesToCancelIn = {
    assessment: async (_handle: Handle) => undefined,
    mandate_matching: async (handle: Handle) => {
      await tier.untilStage(handle, 'assessment');
      await tier.decide(handle, assessUpdate, { decision: 'proceed' });
      await tier.untilStage(handle, 'quorum_decision');
    },
    joint_action: async (handle: Handle) => {
      await toScheduleDecision(handle);
      await tier.decide(handle, scheduleUpdate, { at: inMs(60_000), place: 'Storgatan 12', lead: 'polisen' });
    },
    follow_up: async (handle: Handle) => {
      await toScheduleDecision(handle);
      await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
      await tier.untilStage(handle, 'closing_decision');
    },
  } as const;

  for (const [phase, reach] of Object.entries(phasesToCancelIn)) {
    it(`cancels in ${phase}, and every agency already involved is told, and no other`, async () => {
      // To hold the operation in mandate matching, ask for a quorum that two candidates cannot meet.
      const handle = await tier.start({ tip: SMUGGLING, config: { followUpAfter: '200ms', ...(phase === 'mandate_matching' ? { quorum: 5 } : {}) } });
      await reach(handle);
      await tier.untilStage(handle, (s) => s.phase === phase);
      await tier.decide(handle, cancelUpdate, { reason: 'The business was closed by its owner.' });
      expect(await handle.result()).toMatchObject({ phase: 'cancelled', endReason: 'The business was closed by its owner.' });
      const state = await handle.query(stateQuery);
      const involved = new Set([...state.agencies.map((a) => a.agency), ...state.secondWave]);
      const received = tier.receivedBy(handle.workflowId);
      const told = Object.entries(received).filter(([, names]) => names?.includes('operation_cancelled'));
      expect(told.map(([agency]) => agency).sort()).toEqual([...involved].sort());
      for (const [agency, names] of told) expect(names?.at(-1), agency).toBe('operation_cancelled');
      if (phase === 'assessment') expect(received).toEqual({});
      if (phase === 'follow_up') expect(state.secondWave.length).toBeGreaterThan(0);
    });
  }
});

describe('long operations', () => {
  it('continues as new when the history grows, and loses nothing: state, timeline, deadlines and deliveries carry over', async () => {
    // Tullverket answers findings only after its reminder's deadline has passed, so a deadline spans runs.
    const handle = await tier.start({
      tip: SMUGGLING,
      config: { mandateDeadline: '1 hour', findingsDeadline: '3s', followUpAfter: '200ms', outcomeDeadline: '1 hour', historyEventLimit: 50 },
      agencies: { ...DEMO_BEHAVIOURS, tullverket: { mandate: { accept: true, contactFunction: 'tullkontroll' }, ignore: ['findings_requested'] } },
      entityRef: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
    });
    const operationId = handle.workflowId;
    const firstRun = (await handle.describe()).runId;
    await toScheduleDecision(handle);
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
    await tier.untilStage(handle, 'closing_decision');
    await tier.decide(handle, closeUpdate, { summary: 'Closed after a long run.' });
    const result = await handle.result();
    expect(result.phase).toBe('closed');

    const runs = [];
    for await (const run of tier.env.client.workflow.list({ query: `WorkflowId = '${operationId}'` })) runs.push(run);
    expect(runs.length).toBeGreaterThan(1);
    expect((await handle.describe()).runId).not.toBe(firstRun);
    // The entity reference the client set at start is kept by every run, through the workflow's own upserts.
    expect(runs.map((run) => run.typedSearchAttributes.get(searchAttributes.entityRef))).toEqual(
      runs.map(() => 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90'),
    );
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'continued').length).toBe(runs.length - 1);
    expect(timeline[0]?.text).toMatch(/^tip registered/);
    expect(timeline.filter((e) => e.kind === 'phase_changed').map((e) => e.text)).toEqual([
      'tip → assessment',
      'assessment → mandate_matching',
      'mandate_matching → joint_action',
      'joint_action → follow_up',
      'follow_up → closed',
    ]);
    // No event went out twice across the runs (not even as a retry), and no reminder or escalation was repeated.
    const received = tier.receivedBy(operationId);
    expect(received.tullverket).toEqual([
      'mandate_requested',
      'briefing',
      'action_started',
      'findings_requested',
      'reminder',
      'outcome_requested',
      'operation_closed',
    ]);
    expect(received.steering_group).toEqual(['deadline_missed']);
    expect(result.outcome).toMatchObject({ participants: ['polisen', 'tullverket'] });
    expect(tier.repeated(operationId)).toEqual([]);
    expect(tier.erasures(operationId)).toHaveLength(1);
  });
});
