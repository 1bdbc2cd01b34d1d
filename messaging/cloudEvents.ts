import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { CLOUDEVENT_CONTENT_TYPE, HEADERS, cloudEvent, encodeCloudEvent } from '../domain/index.js';

/** What the publisher decides of a CloudEvent; the helper adds the type, schema and envelope (domain/contract.ts). */
export type CloudEventFields = Parameters<typeof cloudEvent>[0];

/**
 * Publishes one contract event to JetStream, the one way the notify activity, the bridge and the agency client
 * send: structured-mode CloudEvent, its content type in the header, and its id as the Nats-Msg-Id, so a
 * retried publish is stored once.
 */
export function publishCloudEvent(js: JetStreamClient, natsSubject: string, event: CloudEventFields): Promise<PubAck> {
  const h = natsHeaders();
  h.set(HEADERS.contentType, CLOUDEVENT_CONTENT_TYPE);
  // The CloudEvent's subject is the operation: the erasure of its personal data finds the event by it.
  h.set(HEADERS.operationId, event.subject);
  return js.publish(natsSubject, encodeCloudEvent(cloudEvent(event)), { msgID: event.id, headers: h });
}
