import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBJECTS, type AgencyId } from '../domain/index.js';
import { MAX_MSG_SIZE } from '../messaging/index.js';
import { assessUpdate, stateQuery } from '../workflows/definitions.js';
import { accept, bridgeSettledEverything, decline, everyAgency, operationAskingEveryone, publishInOrder, type AnswerMessage } from './answers.js';
import { eventually, readStream, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/**
 * No agency can starve another: one agency floods the bridge, in every way it can with its own subjects, while
 * another answers its own operations. Everything the other agency sent is applied, everything the flooder sent
 * is settled (dead-lettered, told or applied), and nothing accepted is lost. How long the other agency waits is
 * the bench's to measure (the flood phase of `npm run bench`), not a test's.
 */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine('flood');
});
afterAll(async () => {
  await engine?.stop();
});

const encoder = new TextEncoder();
const flooder = everyAgency[0]!;
const other = everyAgency[1]!;

async function deadLettersOf(agency: AgencyId) {
  return (await readStream(engine.nc, SUBJECTS.streamDeadLetter)).filter((m) => m.subject === SUBJECTS.inboundDeadLetter(agency));
}

describe('one agency flooding the bridge', () => {
  it('applies every answer of another agency while it floods in each way, and loses nothing it accepted from either', async () => {
    const [shared, otherOperations, ended] = await Promise.all([
      operationAskingEveryone(engine),
      Promise.all(Array.from({ length: 4 }, () => operationAskingEveryone(engine))),
      engine.register(sampleTip()),
    ]);
    await eventually(
      () => ended.handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    await engine.decide(ended.handle, assessUpdate, { decision: 'dismiss', reason: 'Handled elsewhere.' });
    await ended.handle.result();

    const floods: Record<string, AnswerMessage[]> = {
      'unknown operations': Array.from({ length: 200 }, (_, i) => decline(flooder, `los-flood-nowhere-${i}`)),
      'a closed operation': Array.from({ length: 100 }, (_, i) => decline(flooder, ended.operationId, i)),
      // Its own request in an operation the other agency answers too: the first accept stands, the rest conflict.
      'one operation': [accept(flooder, shared.operationId), ...Array.from({ length: 200 }, (_, i) => decline(flooder, shared.operationId, i + 1))],
      junk: Array.from({ length: 150 }, (_, i) => ({
        subject: SUBJECTS.fromAgency(flooder, 'mandate_accepted'),
        body: encoder.encode(i % 2 === 0 ? `not json ${i}` : JSON.stringify({ id: `junk-${i}`, filler: 'x'.repeat(60_000) })),
      })),
    };
    const otherAnswers = [accept(other, shared.operationId), ...otherOperations.map(({ operationId }) => accept(other, operationId))];
    for (const [i, flood] of Object.values(floods).entries()) await Promise.all([publishInOrder(engine, flood), publishInOrder(engine, [otherAnswers[i]!])]);
    // Oversize is refused by nats-server itself (LOS_IN's max_msg_size), before anything is stored.
    await expect(jetstream(engine.nc).publish(SUBJECTS.fromAgency(flooder, 'mandate_accepted'), new Uint8Array(MAX_MSG_SIZE.in + 1024))).rejects.toThrow();
    await publishInOrder(engine, [otherAnswers[4]!]);

    await bridgeSettledEverything(engine, 120_000);
    for (const { handle } of [shared, ...otherOperations]) {
      const state = await handle.query(stateQuery);
      expect(state.agencies.find((a) => a.agency === other)?.mandate, handle.workflowId).toBe('accepted');
    }
    expect((await shared.handle.query(stateQuery)).agencies.find((a) => a.agency === flooder)?.mandate).toBe('accepted');
    // Every refused flood message is a dead letter of the flooder's own; the other agency has none.
    expect(await deadLettersOf(flooder)).toHaveLength(200 + 100 + 150);
    expect(await deadLettersOf(other)).toEqual([]);
    // The flooder is told of each kind of refusal, its repeats summarised: far fewer events than it sent.
    const countOf = (told: { data: { repeated?: { count: number } } }[]) => told.reduce((sum, e) => sum + (e.data.repeated?.count ?? 1), 0);
    const told = await eventually(
      async () =>
        (await readStream(engine.nc, SUBJECTS.streamOut))
          .filter((m) => m.subject === SUBJECTS.toAgency(flooder, 'answer_not_applied'))
          .map((m) => JSON.parse(m.text) as { data: { reason: string; repeated?: { count: number } } }),
      (t) => countOf(t) >= 200 + 100 + 200 + 150,
    );
    expect(countOf(told)).toBe(200 + 100 + 200 + 150);
    expect(told.length).toBeLessThan(650 / 4);
    expect(new Set(told.map((e) => e.data.reason))).toEqual(new Set(['unknown_operation', 'operation_closed', 'conflicting', 'invalid']));
    expect((await readStream(engine.nc, SUBJECTS.streamOut)).filter((m) => m.subject === SUBJECTS.toAgency(other, 'answer_not_applied'))).toEqual([]);
  });
});
