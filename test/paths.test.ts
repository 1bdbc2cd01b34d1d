import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS, type SimulatedAgency } from '../agencies/index.js';
import type { AgencyId, OperationState } from '../domain/index.js';
import { assessUpdate, decideQuorumUpdate, scheduleUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
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
  await engine.decide(handle, assessUpdate, { decision: 'proceed' });
  return until(handle, (s) => s.phase === 'joint_action' && s.stage === 'schedule_decision', 20_000);
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
    await engine.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'Already handled by the Police.' });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed', endReason: 'Already handled by the Police.' });
    expect(receivedFor(agencies, operationId)).toEqual({});
    const timeline = await handle.query(timelineQuery);
    expect(timeline.map((e) => e.text)).toContain('assessment: dismiss (Already handled by the Police.)');
  });

  it('asks named agencies for information, records their answers, and still owes the decision', async () => {
    const { handle, operationId } = await engine.register(smallTip(), { config: FAST });
    await until(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'request_info', agencies: ['polisen', 'kronofogden'], question: 'Any open case against the owner?' });
    const state = await until(handle, (s) => s.pending.length === 0);
    expect(state).toMatchObject({ phase: 'assessment', stage: 'assessment' });
    const answers = (await handle.query(timelineQuery)).filter((e) => e.kind === 'answer');
    expect(answers.map((e) => e.agency).sort()).toEqual(['kronofogden', 'polisen']);
    expect(receivedFor(agencies, operationId)).toEqual({ polisen: ['information_requested'], kronofogden: ['information_requested'] });
    await engine.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'Nothing to act on.' });
    expect((await handle.result()).phase).toBe('dismissed');
  });
});

describe('mandate matching', () => {
  it('asks again from named agencies when quorum is not met, and goes ahead when they accept', async () => {
    // Both candidates for smuggling accept; a quorum of three makes that fall short.
    const { handle, operationId } = await engine.register(smallTip(), { config: { ...FAST, quorum: 3 } });
    await until(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    await until(handle, (s) => s.stage === 'quorum_decision', 20_000);
    await engine.decide(handle, decideQuorumUpdate, { decision: 'request_again', agencies: ['kronofogden'] });
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
    expect(await rejection(engine.decide(handle, scheduleUpdate, { at: inSeconds(-60), place: 'Storgatan 12', lead: 'polisen' }))).toMatch(
      /^schedule rejected: at ".*" is not in the future$/,
    );
    expect(await rejection(engine.decide(handle, scheduleUpdate, { at: inSeconds(60), place: 'Storgatan 12', lead: 'lansstyrelsen' }))).toMatch(
      /^schedule rejected: lead "lansstyrelsen" has not accepted a mandate/,
    );
    expect(await rejection(engine.decide(handle, scheduleUpdate, { at: inSeconds(60), place: '', lead: 'polisen' }))).toMatch(/^schedule rejected: place/);
    // Each refusal carries its code, field and facts as the failure's details, for a client to word it in its language.
    const details = async (promise: Promise<unknown>) => {
      const cause = ((await promise.catch((e: unknown) => e)) as WorkflowUpdateFailedError).cause;
      return cause instanceof ApplicationFailure ? cause.details : undefined;
    };
    expect(await details(engine.decide(handle, scheduleUpdate, { at: inSeconds(60), place: 'Storgatan 12', lead: 'lansstyrelsen' }))).toEqual([
      { code: 'lead-not-participant', field: 'lead', params: { lead: 'lansstyrelsen', participants: expect.any(String) } },
    ]);
    expect(await details(engine.decide(handle, scheduleUpdate, { at: inSeconds(60), place: '', lead: 'polisen' }))).toEqual([
      { field: 'place', code: 'too_small', params: { minimum: '1', origin: 'string' } },
      // The value quoted, for the entitled (the API answers with it); the message operators read names the field only.
      { quoted: expect.stringMatching(/^schedule rejected: place "": /) },
    ]);
    expect((await stateOf(handle)).stage).toBe('schedule_decision');
    await handle.terminate('test done');
  });
});
