import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { loadCatalogueFile } from '../config/index.js';
import { ACTIVITY_CATEGORIES, SUBJECTS, candidateAgencies, eventType, type AgencyId, type InboundEventName } from '../domain/index.js';
import { assessUpdate, stateQuery } from '../workflows/definitions.js';
import { eventually, sampleTip, type TestEngine } from './engine.js';

/**
 * Agency answers as a test publishes them, straight onto the agencies' subjects (the bridge's input), and the
 * operations that await them: what the tests of the bridge's order and fairness share.
 */

const encoder = new TextEncoder();

/** Every agency of the catalogue: a tip of every activity category asks each of them. */
export const everyAgency = candidateAgencies(ACTIVITY_CATEGORIES, loadCatalogueFile());

/** An operation waiting for mandate answers from every agency in the catalogue. */
export async function operationAskingEveryone(engine: TestEngine) {
  const registered = await engine.register(sampleTip({ categories: [...ACTIVITY_CATEGORIES] }), { config: { mandateDeadline: '1 hour', quorum: 2 } });
  await eventually(
    () => registered.handle.query(stateQuery),
    (s) => s.phase === 'assessment',
  );
  await engine.decide(registered.handle, assessUpdate, { decision: 'proceed' });
  await eventually(
    () => registered.handle.query(stateQuery),
    (s) => s.pending.filter((p) => p.awaiting === 'mandate_answers').length === everyAgency.length,
  );
  return registered;
}

export interface AnswerMessage {
  subject: string;
  body: Uint8Array;
  headers?: ReturnType<typeof natsHeaders>;
  id?: string;
}

/** An answer to the agency's mandate request in the operation, as an agency system would publish it. */
export function answer(agency: AgencyId, operationId: string, name: InboundEventName, id: string, extra: Record<string, unknown>) {
  const h = natsHeaders();
  h.set('Content-Type', 'application/cloudevents+json');
  const body = {
    specversion: '1.0',
    id,
    source: `/los/agency/${agency}`,
    type: eventType(name),
    subject: operationId,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { correlation: { operationId, requestId: `mandate-1-${agency}` }, ...extra },
  };
  return { subject: SUBJECTS.fromAgency(agency, name), body: encoder.encode(JSON.stringify(body)), headers: h, id };
}

export const accept = (agency: AgencyId, operationId: string, n = 0) =>
  answer(agency, operationId, 'mandate_accepted', `${agency}.${operationId}.accept.${n}`, {
    tools: ['criminal_investigation'],
    contactFunction: 'LOS-samordnare',
  });
export const decline = (agency: AgencyId, operationId: string, n = 0) =>
  answer(agency, operationId, 'mandate_declined', `${agency}.${operationId}.decline.${n}`, { reason: `Changed our mind (${n}).` });

/** Publishes in this order on one connection, so LOS_IN stores them in this order. */
export async function publishInOrder(engine: TestEngine, messages: AnswerMessage[]) {
  const js = jetstream(engine.nc);
  await Promise.all(messages.map((m) => js.publish(m.subject, m.body, { ...(m.headers ? { headers: m.headers } : {}), ...(m.id ? { msgID: m.id } : {}) })));
}

/** Until the bridge has settled everything LOS_IN holds. */
export async function bridgeSettledEverything(engine: TestEngine, timeoutMs = 90_000) {
  const jsm = await jetstreamManager(engine.nc);
  await eventually(
    () => jsm.consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer),
    (i) => i.num_pending + i.num_ack_pending === 0,
    timeoutMs,
  );
}
