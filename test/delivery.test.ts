import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyActivities, PLAINTEXT_ONLY, type DeliveryBatch } from '../activities/index.js';
import { connectAgency } from '../agencies/index.js';
import { SUBJECTS, Tip, mandateRequest, type AgencyId } from '../domain/index.js';
import { assessUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { deadLetters, eventually, readStream, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/** JetStream delivery guarantees, end to end on a real nats-server: dedupe, redelivery, dead letters. */
let engine: TestEngine;

beforeAll(async () => {
  // A low max_deliver so that exhausting deliveries takes seconds, not minutes.
  engine = await startTestEngine('delivery', { maxDeliver: 3 });
});
afterAll(async () => {
  await engine?.stop();
});

const encoder = new TextEncoder();
/** A fan-out of one mandate request, as the workflow hands it to the notify activity. */
const fanout = (eventId: string, requestId: string, agency: AgencyId = 'tullverket'): DeliveryBatch => ({
  operationId: 'los-test-op',
  municipality: 'Umeå',
  time: new Date().toISOString(),
  events: [
    {
      to: agency,
      event: 'mandate_requested',
      eventId,
      data: mandateRequest(Tip.parse(sampleTip()), { operationId: 'los-test-op', requestId }, ['customs_control'], new Date(Date.now() + 60_000).toISOString()),
    },
  ],
});

describe('delivery', () => {
  it('stores a retried notification once: same event id, same Nats-Msg-Id, JetStream reports the duplicate', async () => {
    const { deliver } = createNotifyActivities(jetstream(engine.nc), PLAINTEXT_ONLY);
    const first = await deliver(fanout('los-test-op.dedupe.mandate_requested', 'dedupe'));
    const retry = await deliver(fanout('los-test-op.dedupe.mandate_requested', 'dedupe'));
    expect(first).toBeUndefined();
    expect(retry?.duplicates).toEqual([0]);
  });

  it('redelivers an event whose handler crashed, and acknowledges it once the handler succeeds', async () => {
    const { deliver } = createNotifyActivities(jetstream(engine.nc), PLAINTEXT_ONLY);
    const attempts: number[] = [];
    const agency = await connectAgency({ agency: 'migrationsverket', servers: engine.nats.url, retryDelayMs: 200 });
    agency.on('mandate_requested', (event) => {
      attempts.push(event.deliveryCount);
      if (attempts.length === 1) throw new Error('agency system crashed mid-way');
    });
    await agency.start();
    await deliver(fanout('los-test-op.crash.mandate_requested', 'crash', 'migrationsverket'));
    await eventually(
      async () => attempts,
      (a) => a.length >= 2,
    );
    expect(attempts).toEqual([1, 2]);
    const info = await eventually(
      async () => (await jetstreamManager(engine.nc)).consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('migrationsverket')),
      (i) => i.num_ack_pending === 0,
    );
    expect(info.num_redelivered).toBe(0);
    await agency.close();
  });

  it('dead-letters an event an agency system fails on max_deliver times, with the reason', async () => {
    const { deliver } = createNotifyActivities(jetstream(engine.nc), PLAINTEXT_ONLY);
    const agency = await connectAgency({ agency: 'tullverket', servers: engine.nats.url, retryDelayMs: 100 });
    agency.on('mandate_requested', () => {
      throw new Error('always fails');
    });
    await agency.start();
    await deliver(fanout('los-test-op.poison.mandate_requested', 'poison'));
    const letters = await eventually(
      () => deadLetters(engine.nc, 1),
      (l) => l.some((e) => e.subject === 'los.v1.dead_letter.agency_tullverket'),
    );
    const letter = letters.find((e) => e.subject === 'los.v1.dead_letter.agency_tullverket');
    expect(letter).toMatchObject({
      subject: 'los.v1.dead_letter.agency_tullverket',
      reason: 'delivery to agency_tullverket failed 3 times',
      original: 'los.v1.to.tullverket.mandate_requested',
    });
    // The dead letter carries the undeliverable event itself, for a person to act on.
    expect(JSON.parse(letter!.body)).toMatchObject({ type: 'se.los.mandate.requested.v1', subject: 'los-test-op' });
    await agency.close();
  });

  it('dead-letters an event an agency system cannot read, with the reason it gave when it terminated the message', async () => {
    const agency = await connectAgency({ agency: 'kronofogden', servers: engine.nats.url });
    agency.on('mandate_requested', () => undefined);
    await agency.start();
    const unreadable = { eventId: 'los-test-op.unreadable.mandate_requested', time: new Date().toISOString() };
    const event = {
      specversion: '1.0',
      id: unreadable.eventId,
      source: '/los/umea',
      type: 'se.los.mandate.requested.v1',
      subject: 'los-test-op',
      time: unreadable.time,
      data: { correlation: { operationId: 'los-test-op', requestId: 'unreadable' } },
    };
    await jetstream(engine.nc).publish(SUBJECTS.toAgency('kronofogden', 'mandate_requested'), encoder.encode(JSON.stringify(event)), {
      msgID: unreadable.eventId,
    });
    const letters = await eventually(
      () => deadLetters(engine.nc, 1),
      (l) => l.some((e) => e.subject === 'los.v1.dead_letter.agency_kronofogden'),
    );
    const letter = letters.find((e) => e.subject === 'los.v1.dead_letter.agency_kronofogden')!;
    expect(letter.original).toBe('los.v1.to.kronofogden.mandate_requested');
    // The reason names the fields, never their values.
    expect(letter.reason).toMatch(/^agency_kronofogden rejected the message as unreadable: unreadable: data: entity: .*answerBy: /);
    await agency.close();
  });

  it('dead-letters answers whose correlation key matches no request, and answers to a closed operation', async () => {
    const { handle, operationId } = await engine.register(sampleTip());
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    const answer = (op: string, requestId: string, id: string) =>
      encoder.encode(
        JSON.stringify({
          specversion: '1.0',
          id,
          source: '/los/agency/polisen',
          type: 'se.los.mandate.declined.v1',
          subject: op,
          time: new Date().toISOString(),
          data: { correlation: { operationId: op, requestId }, reason: 'Not for us.' },
        }),
      );
    const js = jetstream(engine.nc);
    // Nothing was asked of Polisen yet: the assessment is still open.
    await js.publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), answer(operationId, 'mandate-1-polisen', 'unmatched-1'), {
      headers: h,
      msgID: 'unmatched-1',
    });
    // The operation must still be open when the bridge judges that answer.
    await eventually(
      () => deadLetters(engine.nc, 1),
      (l) => l.some((e) => e.subject === 'los.v1.dead_letter.inbound.polisen'),
    );
    await engine.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'Handled elsewhere.' });
    await handle.result();
    await js.publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), answer(operationId, 'mandate-1-polisen', 'closed-1'), {
      headers: h,
      msgID: 'closed-1',
    });

    const letters = await eventually(
      () => deadLetters(engine.nc, 2),
      (l) => l.filter((e) => e.subject === 'los.v1.dead_letter.inbound.polisen').length >= 2,
    );
    const inbound = letters.filter((e) => e.subject === 'los.v1.dead_letter.inbound.polisen').map((e) => e.reason);
    expect(inbound).toEqual([
      'answer rejected: correlation.requestId "mandate-1-polisen" matches no request to polisen awaiting mandate_declined',
      expect.stringMatching(new RegExp(`^operation "${operationId}" closed on \\d{4}-\\d\\d-\\d\\dT`)),
    ]);
    // Polisen is told on its own subject, with each answer's id and the reason.
    const told = await eventually(
      async () =>
        (await readStream(engine.nc, SUBJECTS.streamOut))
          .filter((m) => m.subject === SUBJECTS.toAgency('polisen', 'answer_not_applied'))
          .map((m) => JSON.parse(m.text)),
      (t) => t.length >= 2,
    );
    expect(told.map((e) => [e.type, e.data.answerId, e.data.reason])).toEqual([
      ['se.los.answer.not.applied.v1', 'unmatched-1', 'no_matching_request'],
      ['se.los.answer.not.applied.v1', 'closed-1', 'operation_closed'],
    ]);
    expect(told[1].data.detail).toMatch(/closed on /);
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.agency === 'polisen')).toEqual([]);
  });
});
