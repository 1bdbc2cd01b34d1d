import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { OPERATOR_VIEWS, allOf, onTaskQueue } from '../domain/queries.js';
import { candidateAgencies, Tip, type OperationState } from '../domain/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { assessUpdate, cancelUpdate, closeUpdate, scheduleUpdate, searchAttributes, stateQuery } from '../workflows/definitions.js';
import { FailureType } from '../workflows/failures.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/**
 * What operators see, found by trying it: a start that skips the typed client, the current details, the
 * search attributes of ended operations, and who counts as involved.
 */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine('operator-view');
  await engine.startAgencies(DEMO_BEHAVIOURS);
}, 120_000);
afterAll(async () => {
  await engine?.stop();
});

const handleOf = (operationId: string) => engine.client.workflow.getHandle(operationId);
const until = (operationId: string, test: (s: OperationState) => boolean, timeoutMs = 30_000) =>
  eventually(() => handleOf(operationId).query(stateQuery), test, timeoutMs);
const currentDetails = async (operationId: string) =>
  (await handleOf(operationId).query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
const attributes = async (operationId: string) => (await handleOf(operationId).describe()).typedSearchAttributes;

async function listed(query: string): Promise<string[]> {
  const found: string[] = [];
  for await (const info of engine.client.workflow.list({ query: allOf(query, onTaskQueue(engine.taskQueue)) })) found.push(info.workflowId);
  return found;
}

describe('a start that skips the typed client', () => {
  it('runs with config {} and no catalogue, on the same defaults the typed client applies', async () => {
    const workflowId = `raw-start-${process.pid}-${Date.now()}`;
    await engine.client.workflow.start('losOperation', { workflowId, taskQueue: engine.taskQueue, args: [{ tip: sampleTip(), config: {} }] });
    const state = await until(workflowId, (s) => s.phase === 'assessment');
    // Ten working days never fall within nine calendar days from now.
    expect(Date.parse(state.nextDeadline!.dueAt) - Date.now()).toBeGreaterThan(9 * 24 * 3600_000);
    await engine.decide(handleOf(workflowId), assessUpdate, { decision: 'proceed' });
    const matched = await until(workflowId, (s) => s.phase === 'joint_action');
    // The national catalogue was applied: every candidate for these categories was asked.
    const candidates = candidateAgencies(Tip.parse(sampleTip()).categories, loadCatalogueFile());
    expect(matched.agencies.map((a) => a.agency).sort()).toEqual([...candidates].sort());
    await engine.decide(handleOf(workflowId), cancelUpdate, { reason: 'test over' });
  });

  it('fails at once, naming each bad field, with a non-retryable error instead of a retried workflow task', async () => {
    const workflowId = `raw-invalid-${process.pid}-${Date.now()}`;
    const tip = { ...sampleTip(), categories: ['bogus'] };
    tip.entity = { ...tip.entity, orgNumber: '123' };
    const handle = await engine.client.workflow.start('losOperation', { workflowId, taskQueue: engine.taskQueue, args: [{ tip, config: {} }] });
    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.nonRetryable).toBe(true);
    expect(cause.type).toBe(FailureType.InvalidInput);
    // Operators read the message in the UI with no key: the fields, not their values; the values are in the encrypted details.
    expect(cause.message).toMatch(/^operation input rejected: tip\.entity\.orgNumber: .+; tip\.categories\.0: /);
    expect(cause.details).toEqual([
      { quoted: expect.stringMatching(/^operation input rejected: tip\.entity\.orgNumber "123": .+; tip\.categories\.0 "bogus": /) },
    ]);
    const keyless = new Client({ connection: engine.client.connection, namespace: engine.client.options.namespace });
    const failed = (await keyless.workflow.getHandle(workflowId).fetchHistory()).events!.find((e) => e.workflowExecutionFailedEventAttributes)!;
    expect(failed.workflowExecutionFailedEventAttributes!.failure!.message).toBe(cause.message);
    let tasks = 0;
    for (const event of (await handle.fetchHistory()).events ?? []) if (event.workflowTaskCompletedEventAttributes) tasks += 1;
    expect(tasks).toBe(1);
  });
});

describe('the current details and search attributes', () => {
  it('shows one fact per line, and no joint action once the operation is cancelled', async () => {
    const { operationId, handle } = await engine.register(sampleTip(), { config: { mandateDeadline: '30s' } });
    await until(operationId, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    await until(operationId, (s) => s.stage === 'schedule_decision');
    await engine.decide(handle, scheduleUpdate, { at: new Date(Date.now() + 3600_000).toISOString(), place: 'Storgatan 12', lead: 'polisen' });
    const scheduled = await eventually(
      () => currentDetails(operationId),
      (details) => details.includes('**Joint action:**'),
    );
    // Markdown paragraphs: the UI renders each fact on its own line.
    expect(scheduled.split('\n\n').map((line) => line.split(':**')[0])).toEqual([
      '**Phase',
      '**Waiting for',
      '**Next deadline',
      '**Joint action',
      '**Municipality',
    ]);
    expect(scheduled).toMatch(/\*\*Joint action:\*\* #1 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T, lead polisen/);
    await engine.decide(handle, cancelUpdate, { reason: 'Police hold' });
    await handle.result();
    const ended = await currentDetails(operationId);
    expect(ended).toContain('**Phase:** cancelled');
    expect(ended).not.toContain('Joint action');
    expect(ended).toContain('**Next deadline:** none');
  });

  it('lets an overdue operation leave the overdue view once it is cancelled, with no next deadline left', async () => {
    const { operationId, handle } = await engine.register(sampleTip(), { config: { assessmentDeadline: '2s' } });
    await until(operationId, (s) => s.overdue);
    await eventually(
      () => listed(OPERATOR_VIEWS.overdue.query),
      (ids) => ids.includes(operationId),
    );
    await engine.decide(handle, cancelUpdate, { reason: 'Handled elsewhere' });
    await handle.result();
    const attrs = await attributes(operationId);
    expect(attrs.get(searchAttributes.overdue)).toBe(false);
    expect(attrs.get(searchAttributes.nextDeadline)).toBeUndefined();
    expect(attrs.get(searchAttributes.phase)).toBe('cancelled');
    await eventually(
      () => listed(OPERATOR_VIEWS.overdue.query),
      (ids) => !ids.includes(operationId),
    );
  });

  it('keeps LosAgencies to the agencies taking part: no decliner, no second-wave agency', async () => {
    const { operationId, handle } = await engine.register(sampleTip(), {
      config: { mandateDeadline: '30s', followUpAfter: '1s', findingsDeadline: '30s', outcomeDeadline: '30s' },
    });
    await until(operationId, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    const matched = await until(operationId, (s) => s.stage === 'schedule_decision');
    const participants = matched.agencies
      .filter((a) => a.mandate === 'accepted')
      .map((a) => a.agency)
      .sort();
    const decliners = matched.agencies.filter((a) => a.mandate === 'declined').map((a) => a.agency);
    expect(decliners.length).toBeGreaterThan(0);
    await engine.decide(handle, scheduleUpdate, { at: new Date(Date.now() + 1500).toISOString(), place: 'Storgatan 12', lead: 'polisen' });
    const followedUp = await until(operationId, (s) => s.stage === 'closing_decision', 60_000);
    expect(followedUp.secondWave.length).toBeGreaterThan(0);
    const involved = await eventually(
      async () => (await attributes(operationId)).get(searchAttributes.agencies) ?? [],
      (agencies) => JSON.stringify([...agencies].sort()) === JSON.stringify(participants),
    );
    for (const agency of [...decliners, ...followedUp.secondWave]) expect(involved).not.toContain(agency);
    await engine.decide(handle, closeUpdate, { summary: 'Done.' });
    await handle.result();
  }, 90_000);

  it('carries the operator facts into a continued run', async () => {
    const config = { historyEventLimit: 50, mandateDeadline: '30s', followUpAfter: '1s', findingsDeadline: '30s', outcomeDeadline: '30s' };
    const { operationId, handle } = await engine.register(sampleTip(), { config });
    await until(operationId, (s) => s.phase === 'assessment');
    const first = (await handle.describe()).runId;
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    await until(operationId, (s) => s.stage === 'schedule_decision');
    // The lifecycle goes on past the history limit, so a step past it continues as new.
    await engine.decide(handle, scheduleUpdate, { at: new Date(Date.now() + 1500).toISOString(), place: 'Storgatan 12', lead: 'polisen' });
    await eventually(
      async () => (await engine.client.workflow.getHandle(operationId).describe()).runId,
      (runId) => runId !== first,
      60_000,
    );
    // Read as an operator reads them: no codec, no key (a client with Temporal's plain data converter, which decodes as
    // the UI and `temporal workflow metadata` do without a codec server).
    const keyless = new Client({ connection: engine.client.connection, namespace: engine.client.options.namespace });
    const details = await eventually(
      async () => (await keyless.workflow.getHandle(operationId).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '',
      (d) => d.includes('**Municipality:**'),
    );
    expect(details).toContain('**Municipality:** Umeå · **Suspected activity:** money_laundering, unlicensed_alcohol, labour_exploitation · **Urgency:** high');
    expect(details).toMatch(/\*\*Phase:\*\* (joint_action|follow_up)/);
    // What the start once wrote as static details is part of them: the history does not carry it twice.
    expect(details).toMatch(/ · \*\*Tip source:\*\* [a-z_]+( \(protected\))?$/m);
    // The first run's static summary, set by the API at the start, is readable without a key too.
    expect(
      await keyless.workflow
        .getHandle(operationId, first)
        .describe()
        .then((d) => d.staticSummary()),
    ).toBe('LOS operation in Umeå: money_laundering, unlicensed_alcohol, labour_exploitation (urgency high)');
    await engine.client.workflow.getHandle(operationId).terminate('test over');
  }, 90_000);
});
