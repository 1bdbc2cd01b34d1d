import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../api/engine.js';
import { DECISION_KINDS, SUBJECTS, type AgencyId, type DecisionReceipt, type SignedDecision } from '../domain/index.js';
import type { UpdateDefinition } from '@temporalio/common';
import { assessUpdate, decideQuorumUpdate, decisionUpdates, scheduleUpdate, searchAttributes, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { FailureType } from '../workflows/failures.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/** Operation workflow against the real Temporal dev server and a real nats-server. */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine('workflow');
});
afterAll(async () => {
  await engine?.stop();
});

async function nextMessage(
  subscription: Subscription,
): Promise<{ type: string; source: string; subject: string; time: string; data: { operationId: string; decision: string; dueAt: string } }> {
  for await (const msg of subscription) {
    subscription.unsubscribe();
    return msg.json();
  }
  throw new Error('the subscription ended without a message');
}

/** The message of a rejected update, whose failure type must be `type`. */
async function rejection(promise: Promise<unknown>, type: FailureType): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(type);
    return cause?.message ?? '';
  }
  throw new Error('the update was accepted, but should have been rejected');
}

describe('operation workflow', () => {
  it('recognises a tip registered twice and starts no second operation', async () => {
    const tip = sampleTip();
    const first = await engine.register(tip);
    const second = await engine.register({ ...tip, entity: { ...tip.entity, orgNumber: '5567037485' } });
    expect(first.outcome).toBe('started');
    expect(second.outcome).not.toBe('started');
    expect(second.operationId).toBe(first.operationId);
    const runs = [];
    for await (const run of engine.client.workflow.list({ query: `WorkflowId = '${first.operationId}'` })) runs.push(run);
    expect(runs).toHaveLength(1);
    // Operators see a summary in domain words, with no org number or name in it.
    const described = await first.handle.describe();
    const summary = await described.staticSummary();
    expect(summary).toBe('LOS operation in Umeå: money_laundering, unlicensed_alcohol, labour_exploitation (urgency high)');
    expect(JSON.stringify(described.typedSearchAttributes)).not.toMatch(/5567037485|Norrsken/);
  });

  it('rejects a malformed tip before anything starts, naming the field', async () => {
    const tip = sampleTip();
    await expect(engine.register({ ...tip, entity: { ...tip.entity, orgNumber: '556703-7484' } })).rejects.toThrow(
      new InvalidInputError('tip rejected: entity.orgNumber "556703-7484": Luhn check digit should be 5'),
    );
    await expect(engine.register({ ...tip, categories: [] })).rejects.toThrow(/categories: must name at least one suspected activity/);
  });

  it('rejects an invalid decision in the validator, naming the field, and keeps the operation waiting', async () => {
    const { handle } = await engine.register(sampleTip());
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    expect(await rejection(engine.decide(handle, assessUpdate, { decision: 'dismiss' } as never), FailureType.InvalidInput)).toMatch(
      /^assessment rejected: reason: /,
    );
    expect(
      await rejection(
        engine.decide(handle, assessUpdate, { decision: 'request_info', agencies: ['interpol' as AgencyId], question: 'Anything known?' }),
        FailureType.InvalidInput,
      ),
    ).toMatch(/agencies\.0: Invalid option/); // the field, not the value: operators read this message in Temporal
    expect(
      await rejection(
        engine.decide(handle, scheduleUpdate, { at: new Date(Date.now() + 60_000).toISOString(), place: 'x', lead: 'polisen' }),
        FailureType.NotAllowedNow,
      ),
    ).toBe('schedule rejected: the operation is in phase assessment, not joint_action');
    // Every decision in the table has its handler, whose validator parses with the row's schema.
    for (const kind of DECISION_KINDS) {
      expect(
        await rejection(
          engine.decide(handle, decisionUpdates[kind] as UpdateDefinition<DecisionReceipt, [SignedDecision<object>]>, {}),
          FailureType.InvalidInput,
        ),
      ).toMatch(new RegExp(`^${kind} rejected: [a-z]+: `));
    }
    // Rejected updates never reach the history: the operation is unharmed and still waits for its decision.
    const state = await handle.query(stateQuery);
    expect(state).toMatchObject({ phase: 'assessment', stage: 'assessment' });
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
    await handle.terminate('test done');
  });

  it('reminds the coordinator, then escalates to the steering group when the assessment deadline passes, and stays in assessment', async () => {
    const coordinator = engine.nc.subscribe(SUBJECTS.toCoordinator('>'));
    const steering = engine.nc.subscribe('los.v1.to.steering_group.>');
    const { handle, operationId } = await engine.register(sampleTip(), { config: { assessmentDeadline: '4s', reminderFraction: 0.25 } });
    const state = await eventually(
      () => handle.query(stateQuery),
      (s) => s.overdue,
      15_000,
    );
    expect(state.phase).toBe('assessment');
    const timeline = await handle.query(timelineQuery);
    const kinds = timeline.map((e) => e.kind);
    expect(kinds.indexOf('reminder')).toBeGreaterThan(-1);
    expect(kinds.indexOf('escalated')).toBeGreaterThan(kinds.indexOf('reminder'));
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.overdue)).toBe(true);
    expect(described.typedSearchAttributes.get(searchAttributes.phase)).toBe('assessment');
    for await (const msg of steering) {
      const event = msg.json<{ type: string; subject: string; data: { deadline: string } }>();
      expect(event).toMatchObject({ type: 'se.los.steering.deadline.missed.v1', subject: operationId, data: { deadline: 'assessment' } });
      break;
    }
    steering.unsubscribe();
    // The reminder went out to the coordinator's subject, before the deadline, naming the decision owed.
    const reminder = await nextMessage(coordinator);
    expect(reminder).toMatchObject({
      type: 'se.los.coordinator.decision.due.v1',
      source: '/los/umea',
      subject: operationId,
      data: { operationId, decision: 'assessment' },
    });
    expect(Date.parse(reminder.time)).toBeLessThan(Date.parse(reminder.data.dueAt));
    expect(timeline.find((e) => e.kind === 'reminder')).toMatchObject({ agency: 'coordinator', text: 'assessment decision still owed; coordinator reminded' });
    // The decision is still owed and still accepted after escalation.
    await engine.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'No indication of organised crime after all.' });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed', endReason: 'No indication of organised crime after all.' });
  });

  it('lets the coordinator decide when fewer agencies accept than the quorum needs', async () => {
    await engine.startAgencies({
      polisen: { mandate: { accept: true, contactFunction: 'LOS-samordnare' } },
      tullverket: { mandate: { accept: false, reason: 'No customs angle.' } },
    });
    const silentTip = sampleTip({ categories: ['smuggling'] }); // candidates: polisen, tullverket
    const { handle } = await engine.register(silentTip, { config: { mandateDeadline: '3s' } });
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    const state = await eventually(
      () => handle.query(stateQuery),
      (s) => s.stage === 'quorum_decision',
      15_000,
    );
    expect(Object.fromEntries(state.agencies.map((a) => [a.agency, a.mandate]))).toEqual({ polisen: 'accepted', tullverket: 'declined' });
    expect(await rejection(engine.decide(handle, decideQuorumUpdate, { decision: 'request_again', agencies: [] }), FailureType.InvalidInput)).toMatch(
      /agencies: must name at least one agency/,
    );
    // A decision answers with a small receipt, not the whole state: every update result is kept in history.
    const receipt = await engine.decide(handle, decideQuorumUpdate, { decision: 'dismiss', reason: 'Only one agency can act.' });
    expect(receipt).toEqual({ phase: 'mandate_matching', stage: 'quorum_decision', waitingFor: expect.any(String) });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed' });
  });
});
