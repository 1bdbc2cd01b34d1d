import { headers as natsHeaders } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyActivities, PLAINTEXT_ONLY } from '../activities/index.js';
import { connectAgency } from '../agencies/index.js';
import { SUBJECTS, Tip, mandateRequest } from '../domain/index.js';
import { assessUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { deadLetters, eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';

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
const notice = (eventId: string, requestId: string) => ({
  operationId: 'los-test-op',
  municipality: 'Umeå',
  agency: 'tullverket' as const,
  event: 'mandate_requested' as const,
  eventId,
  time: new Date().toISOString(),
  data: mandateRequest(Tip.parse(sampleTip()), { operationId: 'los-test-op', requestId }, ['customs_control'], new Date(Date.now() + 60_000).toISOString()),
});

describe('delivery', () => {
  it('stores a retried notification once: same event id, same Nats-Msg-Id, JetStream reports the duplicate', async () => {
    const { notifyAgency } = createNotifyActivities(engine.nc.jetstream(), PLAINTEXT_ONLY);
    const first = await notifyAgency(notice('los-test-op.dedupe.mandate_requested', 'dedupe'));
    const retry = await notifyAgency(notice('los-test-op.dedupe.mandate_requested', 'dedupe'));
    expect(first.duplicate).toBe(false);
    expect(retry).toEqual({ ...first, duplicate: true });
  });

  it('redelivers an event whose handler crashed, and acknowledges it once the handler succeeds', async () => {
    const { notifyAgency } = createNotifyActivities(engine.nc.jetstream(), PLAINTEXT_ONLY);
    const attempts: number[] = [];
    const agency = await connectAgency({ agency: 'migrationsverket', servers: engine.nats.url, retryDelayMs: 200 });
    agency.on('mandate_requested', (event) => {
      attempts.push(event.deliveryCount);
      if (attempts.length === 1) throw new Error('agency system crashed mid-way');
    });
    await agency.start();
    await notifyAgency({ ...notice('los-test-op.crash.mandate_requested', 'crash'), agency: 'migrationsverket' });
    await eventually(async () => attempts, (a) => a.length >= 2);
    expect(attempts).toEqual([1, 2]);
    const info = await eventually(
      async () => (await engine.nc.jetstreamManager()).consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('migrationsverket')),
      (i) => i.num_ack_pending === 0,
    );
    expect(info.num_redelivered).toBe(0);
    await agency.close();
  });

  it('dead-letters an event an agency system fails on max_deliver times, with the reason', async () => {
    const { notifyAgency } = createNotifyActivities(engine.nc.jetstream(), PLAINTEXT_ONLY);
    const agency = await connectAgency({ agency: 'tullverket', servers: engine.nats.url, retryDelayMs: 100 });
    agency.on('mandate_requested', () => {
      throw new Error('always fails');
    });
    await agency.start();
    await notifyAgency(notice('los-test-op.poison.mandate_requested', 'poison'));
    const letters = await eventually(() => deadLetters(engine.nc, 1), (l) => l.some((e) => e.subject === 'los.v1.dead_letter.agency_tullverket'));
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

  it('dead-letters answers whose correlation key matches no request, and answers to a closed operation', async () => {
    const { handle, operationId } = await engine.register(sampleTip());
    await eventually(() => handle.query(stateQuery), (s) => s.phase === 'assessment');
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
    const js = engine.nc.jetstream();
    // Nothing was asked of Polisen yet: the assessment is still open.
    await js.publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), answer(operationId, 'mandate-1-polisen', 'unmatched-1'), { headers: h });
    // The operation must still be open when the bridge judges that answer.
    await eventually(() => deadLetters(engine.nc, 1), (l) => l.some((e) => e.subject === 'los.v1.dead_letter.inbound'));
    await handle.executeUpdate(assessUpdate, { args: [{ decision: 'dismiss', reason: 'Handled elsewhere.' }] });
    await handle.result();
    await js.publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), answer(operationId, 'mandate-1-polisen', 'closed-1'), { headers: h });

    const letters = await eventually(() => deadLetters(engine.nc, 2), (l) => l.filter((e) => e.subject === 'los.v1.dead_letter.inbound').length >= 2);
    const inbound = letters.filter((e) => e.subject === 'los.v1.dead_letter.inbound').map((e) => e.reason);
    expect(inbound).toEqual([
      'answer rejected: correlation.requestId "mandate-1-polisen" matches no request to polisen awaiting mandate_declined',
      `operation "${operationId}" is unknown or already closed`,
    ]);
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.agency === 'polisen')).toEqual([]);
  });
});
