import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBJECTS, type AgencyId } from '../domain/index.js';
import { startBridge } from '../workers/index.js';
import { stateQuery, timelineQuery } from '../workflows/definitions.js';
import { accept, answer, bridgeSettledEverything, decline, everyAgency, operationAskingEveryone, publishInOrder } from './answers.js';
import { eventually, readStream, startTestEngine, type TestEngine } from './engine.js';

/**
 * Order per operation, concurrency across operations: the first answer LOS_IN stored is the one that counts,
 * a burst on one operation does not hold up another, and a second bridge replica keeps the order.
 */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine('ordering');
});
afterAll(async () => {
  await engine?.stop();
});

async function notAppliedTo(agency: AgencyId) {
  return (await readStream(engine.nc, SUBJECTS.streamOut))
    .filter((m) => m.subject === SUBJECTS.toAgency(agency, 'answer_not_applied'))
    .map((m) => JSON.parse(m.text) as { data: { answerId?: string; reason: string; detail: string; repeated?: { count: number } } });
}

async function expectAcceptKept(operations: { handle: Awaited<ReturnType<typeof operationAskingEveryone>>['handle'] }[], agencies: readonly AgencyId[]) {
  for (const { handle } of operations) {
    const state = await handle.query(stateQuery);
    for (const agency of agencies) expect(state.agencies.find((a) => a.agency === agency)?.mandate, `${handle.workflowId} ${agency}`).toBe('accepted');
    // Free text is sealed in the workflow; read as an entitled coordinator would.
    const timeline = await engine.keys.unsealDeep(await handle.query(timelineQuery));
    expect(timeline.filter((e) => e.kind === 'late_answer')).toEqual([]);
    const conflicts = timeline.filter((e) => e.kind === 'conflicting_answer');
    expect(conflicts.map((e) => e.agency).sort()).toEqual([...agencies].sort());
    for (const entry of conflicts)
      expect(entry.text).toMatch(
        /^mandate_declined not applied: it conflicts with the first answer \(mandate_accepted\), which stands; it said \{"reason":"Changed our mind/,
      );
  }
}

describe('the first stored answer counts', () => {
  it('keeps the accept when an agency sends accept and then decline back to back, 50 times over, and tells it the decline was not applied', async () => {
    const operations = await Promise.all(Array.from({ length: Math.ceil(50 / everyAgency.length) }, () => operationAskingEveryone(engine)));
    const pairs = operations.flatMap(({ operationId }) => everyAgency.map((agency) => ({ agency, operationId }))).slice(0, 50);
    expect(pairs).toHaveLength(50);
    await publishInOrder(
      engine,
      pairs.flatMap(({ agency, operationId }) => [accept(agency, operationId), decline(agency, operationId)]),
    );
    await bridgeSettledEverything(engine);

    for (const { handle, operationId } of operations) {
      const asked = pairs.filter((p) => p.operationId === operationId).map((p) => p.agency);
      await expectAcceptKept([{ handle }], asked);
    }
    // Every decline came back to its agency as answer_not_applied, reason conflicting, carrying its id.
    for (const { agency, operationId } of pairs) {
      const told = await notAppliedTo(agency);
      expect(told.filter((t) => t.data.answerId === `${agency}.${operationId}.decline.0`).map((t) => t.data.reason)).toEqual(['conflicting']);
    }
  });

  it('lets a bystander operation through while 300 answers to one request are worked off', async () => {
    const [busy, bystander] = await Promise.all([operationAskingEveryone(engine), operationAskingEveryone(engine)]);
    const agency = everyAgency[0]!;
    const other = everyAgency[1]!;
    await publishInOrder(engine, [accept(agency, busy.operationId), ...Array.from({ length: 299 }, (_, i) => decline(agency, busy.operationId, i + 1))]);
    await publishInOrder(engine, [accept(other, bystander.operationId)]);
    await eventually(
      () => bystander.handle.query(stateQuery),
      (s) => s.agencies.find((a) => a.agency === other)?.mandate === 'accepted',
      60_000,
    );
    // The bystander's answer was applied while the burst was still being worked off, not after it.
    const settledOfBurst = (await notAppliedTo(agency)).filter((t) => t.data.answerId?.startsWith(`${agency}.${busy.operationId}.decline.`)).length;
    expect(settledOfBurst).toBeLessThan(299);

    await bridgeSettledEverything(engine);
    const state = await busy.handle.query(stateQuery);
    expect(state.agencies.find((a) => a.agency === agency)?.mandate).toBe('accepted');
    // Content kept for the first few conflicts, the rest counted: the timeline does not grow with the flood.
    const conflicts = (await busy.handle.query(timelineQuery)).filter((e) => e.kind === 'conflicting_answer');
    expect(conflicts.length).toBeLessThanOrEqual(4);
    expect(conflicts.at(-1)!.text).toMatch(/counted, their content not kept$/);
    // Every decline is told: the first on its own, its repeats counted into one summary per flood window, so the
    // flood does not write 299 events into LOS_OUT.
    const toldOfBurst = (told: Awaited<ReturnType<typeof notAppliedTo>>) =>
      told.filter((t) => t.data.answerId?.startsWith(`${agency}.${busy.operationId}.decline.`)).length +
      told.filter((t) => t.data.reason === 'conflicting').reduce((sum, t) => sum + (t.data.repeated?.count ?? 0), 0);
    const told = await eventually(
      () => notAppliedTo(agency),
      (t) => toldOfBurst(t) >= 299,
    );
    expect(toldOfBurst(told)).toBe(299);
    expect(told.length).toBeLessThan(299 / 4);
    // What queued up behind the answer being applied went over in batches: far fewer updates than answers.
    const updates = ((await busy.handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    expect(updates).toBeLessThan(300 / 4);
  });

  it("hands one round's answers, sent by every agency at once, to the operation as one update", async () => {
    const { handle, operationId } = await operationAskingEveryone(engine);
    const answerUpdates = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((e) =>
        e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name?.startsWith('agencyAnswer'),
      );
    expect(await answerUpdates()).toHaveLength(0);
    // Without the bridge's batch window the first answer would go alone and the rest after it: two updates.
    await publishInOrder(
      engine,
      everyAgency.map((agency) => accept(agency, operationId)),
    );
    await eventually(
      () => handle.query(stateQuery),
      (s) => everyAgency.every((agency) => s.agencies.find((a) => a.agency === agency)?.mandate === 'accepted'),
    );
    const updates = await answerUpdates();
    expect(updates.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.name)).toEqual(['agencyAnswers']);
  });

  it('hands each answer of a batch the operation refused over alone, so only the refused one is refused, with its own reason', async () => {
    const { handle, operationId } = await operationAskingEveryone(engine);
    const [stray, ...others] = everyAgency.slice(0, 4) as [AgencyId, ...AgencyId[]];
    // Sent with a round's accepts, one answer names a request that was never made: the operation refuses the batch.
    const nowhere = answer(stray, operationId, 'mandate_declined', `${stray}.${operationId}.nowhere`, {
      correlation: { operationId, requestId: `mandate-9-${stray}` },
      reason: 'Answering a request that does not exist.',
    });
    await publishInOrder(engine, [accept(others[0]!, operationId), nowhere, ...others.slice(1).map((agency) => accept(agency, operationId))]);
    await bridgeSettledEverything(engine);
    const state = await handle.query(stateQuery);
    for (const agency of others) expect(state.agencies.find((a) => a.agency === agency)?.mandate, agency).toBe('accepted');
    expect(state.agencies.find((a) => a.agency === stray)?.mandate).toBe('requested');
    const told = await eventually(
      () => notAppliedTo(stray),
      (t) => t.some((e) => e.data.answerId === nowhere.id),
    );
    // The reason is the stray answer's own, not the batch's ("answer 2 of 4: …").
    expect(told.find((e) => e.data.answerId === nowhere.id)!.data).toMatchObject({
      reason: 'no_matching_request',
      detail: `answer rejected: correlation.requestId "mandate-9-${stray}" matches no request to ${stray} awaiting mandate_declined`,
    });
    for (const agency of others) expect((await notAppliedTo(agency)).filter((e) => e.data.answerId?.includes(operationId))).toEqual([]);
  });

  it('settles repeats of an applied answer without a Temporal update each', async () => {
    const { handle, operationId } = await operationAskingEveryone(engine);
    const agency = everyAgency[2]!;
    await publishInOrder(engine, [accept(agency, operationId)]);
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.agencies.find((a) => a.agency === agency)?.mandate === 'accepted',
    );
    const updates = async () => ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    const before = await updates();
    // The same answer id 100 times over: JetStream stores it once (Nats-Msg-Id), the bridge settles any copy it still sees.
    await publishInOrder(
      engine,
      Array.from({ length: 100 }, () => accept(agency, operationId)),
    );
    await bridgeSettledEverything(engine);
    expect(await updates()).toBe(before);
  });

  it('keeps the order when a second bridge replica takes over from the first', async () => {
    const applied: string[] = [];
    const standby = await startBridge({
      nc: engine.nc,
      client: engine.client,
      keys: engine.keys,
      retryDelayMs: 500,
      onApplied: (a) => applied.push(a.eventId),
    });
    try {
      const operations = await Promise.all([operationAskingEveryone(engine), operationAskingEveryone(engine)]);
      const [first, second] = [everyAgency.slice(0, 6), everyAgency.slice(6)];
      const pairs = (agencies: readonly AgencyId[]) =>
        operations.flatMap(({ operationId }) => agencies.flatMap((agency) => [accept(agency, operationId), decline(agency, operationId)]));
      await publishInOrder(engine, pairs(first));
      // The active replica stops with answers in hand; what it has not settled goes back to the stream.
      await engine.bridge.stop();
      await publishInOrder(engine, pairs(second));
      await bridgeSettledEverything(engine);
      expect(applied.length).toBeGreaterThan(0);
      await expectAcceptKept(operations, everyAgency);
    } finally {
      await standby.stop();
    }
  });
});
