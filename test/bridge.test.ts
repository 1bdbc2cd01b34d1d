import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBJECTS, answerEventId } from '../domain/index.js';
import { judgeInbound } from '../workers/index.js';
import { assessUpdate, timelineQuery } from '../workflows/definitions.js';
import { deadLetters, eventually, sampleTip, startTestEngine, type TestEngine, untilState } from './engine.js';

/** The NATS → Temporal bridge: bad agency input is rejected by name and dead-lettered, never dropped. */
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine('bridge');
});
afterAll(async () => {
  await engine?.stop();
});

const encoder = new TextEncoder();

function cloudEvent(operationId: string, type: string, data: unknown, id = `test.${Math.random()}`) {
  return encoder.encode(
    JSON.stringify({
      specversion: '1.0',
      id,
      source: '/los/agency/polisen',
      type,
      subject: operationId,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data,
    }),
  );
}

describe('bridge', () => {
  it('judges inbound messages without any server: the subject names the agency, the schema names the field', () => {
    expect(judgeInbound('los.v1.from.fbi.mandate_accepted', encoder.encode('{}'))).toEqual({
      kind: 'reject',
      reason: 'subject agency "fbi" is not a known agency',
    });
    expect(judgeInbound('los.v1.from.polisen.mandate_accepted', encoder.encode('{"trunc'))).toMatchObject({
      kind: 'reject',
      reason: expect.stringMatching(/^body is not JSON/),
    });
    const missingContact = cloudEvent('op-1', 'se.los.mandate.accepted.v1', { correlation: { operationId: 'op-1', requestId: 'r' }, tools: ['x'] });
    expect(judgeInbound('los.v1.from.polisen.mandate_accepted', missingContact)).toMatchObject({
      kind: 'reject',
      reason: expect.stringMatching(/^data: contactFunction: /),
    });
    const otherOperation = cloudEvent('op-1', 'se.los.mandate.declined.v1', { correlation: { operationId: 'op-2', requestId: 'r' }, reason: 'not ours' });
    expect(judgeInbound('los.v1.from.polisen.mandate_declined', otherOperation)).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('differs from the event subject'),
    });
    // The subject says who speaks; a CloudEvent source naming another agency is refused, not believed.
    const posing = encoder.encode(
      JSON.stringify({
        specversion: '1.0',
        id: 'x',
        source: '/los/agency/skatteverket',
        type: 'se.los.mandate.declined.v1',
        subject: 'op-1',
        time: new Date().toISOString(),
        data: { correlation: { operationId: 'op-1', requestId: 'r' }, reason: 'not ours' },
      }),
    );
    expect(judgeInbound('los.v1.from.polisen.mandate_declined', posing)).toMatchObject({
      kind: 'reject',
      reason: 'source "/los/agency/skatteverket" is not /los/agency/polisen, the agency of the subject',
      agency: 'polisen',
    });
  });

  it('dead-letters an invalid agency answer with the reason, and the operation is unaffected', async () => {
    const { handle, operationId } = await engine.register(sampleTip());
    await untilState(handle, (s) => s.phase === 'assessment');
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    const js = jetstream(engine.nc);
    await js.publish(
      SUBJECTS.fromAgency('polisen', 'mandate_accepted'),
      cloudEvent(operationId, 'se.los.mandate.accepted.v1', { correlation: { operationId, requestId: 'mandate-1-polisen' }, tools: [] }),
      { headers: h },
    );
    await js.publish(SUBJECTS.fromAgency('polisen', 'information_provided'), encoder.encode('\u0000\u00ff not json'), { headers: h });
    await js.publish(
      SUBJECTS.fromAgency('polisen', 'mandate_declined'),
      cloudEvent(
        'los-nowhere-0000',
        'se.los.mandate.declined.v1',
        { correlation: { operationId: 'los-nowhere-0000', requestId: 'r' }, reason: 'No.' },
        'nowhere-1',
      ),
      { headers: h, msgID: 'nowhere-1' },
    );

    const letters = (await deadLetters(engine.nc, 3)).slice(0, 3);
    expect(letters.map((l) => l.original)).toEqual([
      'los.v1.from.polisen.mandate_accepted',
      'los.v1.from.polisen.information_provided',
      'los.v1.from.polisen.mandate_declined',
    ]);
    expect(letters[0]!.reason).toMatch(/^data: tools: must name at least one legal tool/);
    expect(letters[0]!.reason).toContain('contactFunction');
    expect(letters[1]!.reason).toMatch(/^body is not JSON/);
    expect(letters[2]!.reason).toBe('unknown operation "los-nowhere-0000"');
    expect(letters[0]!.body).toContain('"tools":[]');

    // Nothing invalid reached the workflow.
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'answer' || e.kind === 'answer_ignored')).toEqual([]);
    // Every inbound message was acknowledged: none waits for redelivery.
    const info = await (await jetstreamManager(engine.nc)).consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer);
    expect(info.num_ack_pending + info.num_pending).toBe(0);
    await engine.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'test finished' });
  });

  it('applies a valid answer once even when the agency sends it twice', async () => {
    await engine.startAgencies({ polisen: { mandate: { accept: true, contactFunction: 'LOS-samordnare' } } });
    const { handle, operationId } = await engine.register(sampleTip({ categories: ['smuggling'] }), { config: { mandateDeadline: '20s' } });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    await untilState(handle, (s) => s.agencies.find((a) => a.agency === 'polisen')?.mandate === 'accepted');
    // A replayed copy of Polisen's answer, same CloudEvent id and so the same Nats-Msg-Id: stored once.
    const id = answerEventId('polisen', { operationId, requestId: 'mandate-1-polisen' }, 'mandate_accepted');
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    const ack = await jetstream(engine.nc).publish(
      SUBJECTS.fromAgency('polisen', 'mandate_accepted'),
      cloudEvent(
        operationId,
        'se.los.mandate.accepted.v1',
        { correlation: { operationId, requestId: 'mandate-1-polisen' }, tools: ['criminal_investigation'], contactFunction: 'LOS-samordnare' },
        id,
      ),
      { headers: h, msgID: id },
    );
    expect(ack.duplicate).toBe(true);
    await eventually(
      async () => (await jetstreamManager(engine.nc)).consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer),
      (i) => i.num_ack_pending + i.num_pending === 0,
    );
    const answers = (await handle.query(timelineQuery)).filter(
      (e) => e.agency === 'polisen' && (e.kind === 'answer' || e.kind === 'late_answer' || e.kind === 'answer_ignored'),
    );
    expect(answers.map((e) => e.text)).toEqual(['mandate accepted; brings criminal_investigation']);
    await handle.terminate('test done');
  });
});
