import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { sealDecision, engineDataConverter, ErasedError, generateMasterKey, readMasterKeyring, type MasterKeyring } from '../vault/index.js';
import { erasureWorkflowId, isSealed, type AgencyAnswer, type Sealed, type SignedAnswers } from '../domain/index.js';
import { forwardAnswers } from '../workers/bridge.js';
import { agencyAnswersUpdate, assessUpdate, cancelUpdate, closeUpdate, scheduleUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { sampleTip, startTestEngine, type TestEngine, untilState } from './engine.js';

/** Envelope encryption at work: signed answers only, master-key rotation mid-operation, erasure by key destruction. */
let engine: TestEngine;
const first = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });

beforeAll(async () => {
  engine = await startTestEngine('keys', { keyring: first });
  // Polisen stays silent on mandate requests, so its request is open for the forged answer below.
  await engine.startAgencies({ ...DEMO_BEHAVIOURS, polisen: { ...DEMO_BEHAVIOURS.polisen!, ignore: ['mandate_requested'] } });
});
afterAll(async () => {
  await engine?.stop();
});

const replay = async (operationId: string) => {
  const history = await engine.client.workflow.getHandle(operationId).fetchHistory();
  await Worker.runReplayHistory(
    { workflowBundle: { code: readFileSync(inject('workflowBundlePath'), 'utf8') }, dataConverter: engineDataConverter(engine.keys) },
    history,
    operationId,
  );
};

/** An operation past assessment whose mandate request to Polisen (which stays silent) is open. */
async function operationAwaitingPolisen() {
  const registered = await engine.register(sampleTip(), { config: { mandateDeadline: '60s' } });
  const { handle } = registered;
  await untilState(handle, (s) => s.phase === 'assessment');
  await engine.decide(handle, assessUpdate, { decision: 'proceed' });
  await untilState(handle, (s) => s.pending.some((p) => p.agency === 'polisen' && p.awaiting === 'mandate_answers'));
  return registered;
}

describe('agency answers through Temporal', () => {
  it('rejects an answer from a plain Temporal client, naming why, and applies the one the bridge signed', async () => {
    const { handle, operationId } = await operationAwaitingPolisen();
    const answer = {
      eventId: `forged-${operationId}`,
      agency: 'polisen',
      name: 'mandate_accepted',
      receivedAt: new Date().toISOString(),
      data: { correlation: { operationId, requestId: 'mandate-1-polisen' }, tools: ['criminal_investigation'], contactFunction: 'forged contact' },
    } as AgencyAnswer;

    const fromClient = { answers: [answer] } as SignedAnswers<AgencyAnswer>;
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [fromClient] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/answers rejected: batch carries no bridge signature: agency answers are taken only from the NATS bridge/) },
    });
    const forged = { answers: [answer], signature: 'A'.repeat(86) };
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [forged] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/signature does not verify with the bridge's key/) },
    });
    // Tampering with a signed answer breaks its signature too.
    const signed = await forwardAnswers(engine.keys, operationId, [answer]);
    const altered = { ...signed, answers: [{ ...signed.answers[0]!, agency: 'skatteverket' } as AgencyAnswer] };
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [altered] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/does not verify/) },
    });
    expect((await handle.query(stateQuery)).agencies.find((a) => a.agency === 'polisen')?.mandate).toBe('requested');

    expect(isSealed((signed.answers[0]!.data as { contactFunction: unknown }).contactFunction)).toBe(true);
    // Every answer applied: no receipts at all (the common case costs the history nothing to say).
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [signed] })).resolves.toBeUndefined();
    expect((await handle.query(stateQuery)).agencies.find((a) => a.agency === 'polisen')?.mandate).toBe('accepted');
    await engine.decide(handle, cancelUpdate, { reason: 'test over' });
    await handle.result();
  });
  it('takes a batch the bridge signed once, whole and in order with a receipt each; refuses an altered or unsigned batch, and one naming no request, whole', async () => {
    const { handle, operationId } = await operationAwaitingPolisen();
    const correlation = { operationId, requestId: 'mandate-1-polisen' };
    const accept = {
      eventId: `accept-${operationId}`,
      agency: 'polisen',
      name: 'mandate_accepted',
      receivedAt: new Date().toISOString(),
      data: { correlation, tools: ['criminal_investigation'], contactFunction: 'Polisen LOS desk' },
    } as AgencyAnswer;
    const decline = {
      eventId: `decline-${operationId}`,
      agency: 'polisen',
      name: 'mandate_declined',
      receivedAt: new Date().toISOString(),
      data: { correlation, reason: 'changed our mind' },
    } as AgencyAnswer;
    const rejectedWith = (message: RegExp) => ({ cause: { message: expect.stringMatching(message) } });

    const signed = await forwardAnswers(engine.keys, operationId, [accept, decline, accept]);
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [{ ...signed, signature: '' }] })).rejects.toMatchObject(
      rejectedWith(/^answers rejected: batch carries no bridge signature/),
    );
    const swapped = { ...signed, answers: [signed.answers[1]!, signed.answers[0]!, signed.answers[2]!] };
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [swapped] })).rejects.toMatchObject(
      rejectedWith(/^answers rejected: the batch's signature does not verify with the bridge's key/),
    );
    const nowhere = {
      ...decline,
      eventId: `nowhere-${operationId}`,
      data: { ...decline.data, correlation: { operationId, requestId: 'mandate-9-polisen' } },
    } as AgencyAnswer;
    await expect(
      handle.executeUpdate(agencyAnswersUpdate, { args: [await forwardAnswers(engine.keys, operationId, [accept, nowhere])] }),
    ).rejects.toMatchObject(rejectedWith(/^answer 2 of 2: answer rejected: /));
    // A batch of one is one agency's answer: refused, it names that answer's own reason, as the bridge passes it on.
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [await forwardAnswers(engine.keys, operationId, [nowhere])] })).rejects.toMatchObject(
      rejectedWith(/^answer rejected: (?!.*\d of \d)/),
    );
    expect((await handle.query(stateQuery)).agencies.find((a) => a.agency === 'polisen')?.mandate).toBe('requested');

    // The first answer stands; the second is kept on the record as conflicting, the third is a repeat: as one by one.
    expect(isSealed((signed.answers[0]!.data as { contactFunction: unknown }).contactFunction)).toBe(true);
    await expect(handle.executeUpdate(agencyAnswersUpdate, { args: [signed] })).resolves.toEqual(['applied', 'conflicting', 'duplicate']);
    expect((await handle.query(stateQuery)).agencies.find((a) => a.agency === 'polisen')?.mandate).toBe('accepted');
    await engine.decide(handle, cancelUpdate, { reason: 'test over' });
    await handle.result();
  });
});

describe('master-key rotation', () => {
  it('re-wraps every data key mid-operation; the operation runs to its end on the new key alone and replays', async () => {
    const { handle, operationId } = await engine.register(sampleTip(), {
      // Polisen's silence is waited out: the mandate deadline is the shortest the other agencies' answers allow.
      config: { mandateDeadline: '4s', findingsDeadline: '8s', followUpAfter: '200ms', outcomeDeadline: '8s' },
    });
    await untilState(handle, (s) => s.phase === 'assessment');
    const before = await engine.keys.masterKeysInUse();
    expect(Object.keys(before)).toEqual([first[0].id]);

    const second = readMasterKeyring({ LOS_MASTER_KEY: `${generateMasterKey()},${first[0].key.toString('base64')}` });
    engine.keys.useKeyring(second);
    const rotation = await engine.keys.rotate();
    expect(rotation.rewrapped).toBe(before[first[0].id]);
    expect(await engine.keys.masterKeysInUse()).toEqual({ [second[0].id]: rotation.entries });
    // The old master key is retired: nothing needs it any more.
    engine.keys.useKeyring([second[0]] as MasterKeyring);

    await engine.decide(handle, assessUpdate, await sealDecision(engine.keys, operationId, { decision: 'proceed' as const, note: 'after rotation' }));
    // Polisen is silent on mandates here; enough others accept.
    await untilState(handle, (s) => s.phase === 'joint_action' && s.stage === 'schedule_decision', 30_000);
    await engine.decide(
      handle,
      scheduleUpdate,
      await sealDecision(engine.keys, operationId, { at: new Date(Date.now() + 1_500).toISOString(), place: 'Storgatan 12', lead: 'skatteverket' as const }),
    );
    await untilState(handle, (s) => s.stage === 'closing_decision', 40_000);
    await engine.decide(handle, closeUpdate, await sealDecision(engine.keys, operationId, { summary: 'closed after rotation' }));
    expect((await handle.result()).phase).toBe('closed');
    // The briefing (sealed description, unsealed by the notify activity after the rotation) reached the participants.
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'notified' && e.text === 'briefing').length).toBeGreaterThan(1);
    await replay(operationId);
  });
});

describe('erasure by key destruction', () => {
  it('destroys the data key after the retention; decoding then fails with "erased on <date>", the non-personal record still reads', async () => {
    const { handle, operationId } = await engine.register(sampleTip(), { config: { retention: '2s' } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, cancelUpdate, await sealDecision(engine.keys, operationId, { reason: 'source withdrawn' }));
    const result = await handle.result();
    expect(await engine.keys.unseal(result.endReason as Sealed)).toBe('source withdrawn');

    // The operation started no child: its final fan-out started the erasure workflow, asleep until it is due.
    const events = (await handle.fetchHistory()).events!;
    expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(0);
    const erasure = engine.client.workflow.getHandle(erasureWorkflowId(operationId));
    const { erasedAt } = await erasure.result();
    const closedAt = (await handle.describe()).closeTime!.getTime();
    expect(Date.parse(erasedAt)).toBeGreaterThan(closedAt + 1_500);
    // The retention is a durable timer in the Temporal server (the erasure's start delay), not a sleep in some process.
    const started = (await erasure.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const delaySeconds = Number(started.firstWorkflowTaskBackoff?.seconds ?? 0) + (started.firstWorkflowTaskBackoff?.nanos ?? 0) / 1e9;
    expect(delaySeconds).toBeGreaterThan(1);
    expect(delaySeconds).toBeLessThanOrEqual(2);

    await expect(engine.keys.unseal(result.endReason as Sealed)).rejects.toThrow(new ErasedError(operationId, erasedAt).message);
    await expect(engine.keys.unsealDeep(await handle.query(timelineQuery))).rejects.toThrow(/^erased on \d{4}-\d\d-\d\dT/);
    // The key is gone from the store: only a tombstone with the date remains.
    expect(await engine.keys.dataKeyInfo(operationId)).toEqual({ operationId, state: 'erased', erasedAt, municipality: 'Umeå' });
    // The non-personal record still reads, without any key.
    const state = await handle.query(stateQuery);
    expect(state).toMatchObject({ phase: 'cancelled', municipality: 'Umeå', categories: ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'] });
    expect(isSealed(state.endReason)).toBe(true);
    await replay(operationId);
  });
});
