import { ApplicationFailure } from '@temporalio/activity';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  cloudEvent,
  CLOUDEVENT_CONTENT_TYPE,
  CoordinatorData,
  describeIssues,
  encodeCloudEvent,
  HEADERS,
  OutboundData,
  SOURCES,
  SteeringData,
  SUBJECTS,
  type AgencyId,
  type OutboundEventName,
} from '../domain/index.js';

/** One outbound event, fully decided by the workflow: the activity only delivers it. */
export interface AgencyNotice {
  operationId: string;
  municipality: string;
  agency: AgencyId;
  event: OutboundEventName;
  /** Deterministic: the CloudEvent id and the Nats-Msg-Id, so a retried delivery is deduplicated. */
  eventId: string;
  time: string;
  data: unknown;
}

export interface SteeringNotice {
  operationId: string;
  municipality: string;
  event: keyof typeof SteeringData;
  eventId: string;
  time: string;
  data: unknown;
}

export interface CoordinatorNotice {
  operationId: string;
  municipality: string;
  event: keyof typeof CoordinatorData;
  eventId: string;
  time: string;
  data: unknown;
}

export interface DeliveryReceipt {
  stream: string;
  seq: number;
  /** True when JetStream had already stored this event id: a retry, not a second event. */
  duplicate: boolean;
}

/** One event of a fan-out, fully decided by the workflow. */
export interface Delivery {
  /** An agency, or the steering group, or the municipality's coordinator. */
  to: AgencyId | 'steering_group' | 'coordinator';
  event: string;
  /** Deterministic: the CloudEvent id and the Nats-Msg-Id, so a retried batch stores each event once. */
  eventId: string;
  data: unknown;
}

/** One fan-out: the events one step of an operation sends, delivered by one activity. */
export interface DeliveryBatch {
  operationId: string;
  municipality: string;
  time: string;
  events: Delivery[];
}

export function createNotifyActivities(js: JetStreamClient) {
  const publish = async (subject: string, name: string, notice: Omit<AgencyNotice, 'agency' | 'event' | 'data'>, data: unknown): Promise<DeliveryReceipt> => {
    const event = cloudEvent({
      id: notice.eventId,
      source: SOURCES.municipality(notice.municipality),
      name,
      subject: notice.operationId,
      time: notice.time,
      data,
    });
    const h = natsHeaders();
    h.set(HEADERS.contentType, CLOUDEVENT_CONTENT_TYPE);
    const ack = await js.publish(subject, encodeCloudEvent(event), { msgID: notice.eventId, headers: h });
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  };

  // A payload that breaks the contract is a bug in the engine: retrying cannot fix it.
  const checked = (event: string, schema: z.ZodType, data: unknown): unknown => {
    const parsed = schema.safeParse(data);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`${event} payload breaks the contract: ${describeIssues(parsed.error)}`, 'ContractViolation');
    return parsed.data;
  };

  const route = (delivery: Delivery): { subject: string; name: string; schema: z.ZodType } => {
    if (delivery.to === 'steering_group') {
      const event = delivery.event as keyof typeof SteeringData;
      return { subject: SUBJECTS.toSteeringGroup(event), name: `steering_${event}`, schema: SteeringData[event] };
    }
    if (delivery.to === 'coordinator') {
      const event = delivery.event as keyof typeof CoordinatorData;
      return { subject: SUBJECTS.toCoordinator(event), name: `coordinator_${event}`, schema: CoordinatorData[event] };
    }
    const event = delivery.event as OutboundEventName;
    return { subject: SUBJECTS.toAgency(delivery.to, event), name: event, schema: OutboundData[event] };
  };

  return {
    /**
     * Publishes one fan-out. Every payload is checked before anything is sent, so a contract breach sends
     * nothing; the publishes then go out together. A retry after a partial failure republishes the batch,
     * and JetStream stores only the events it has not stored yet (same Nats-Msg-Id), so nobody gets one twice.
     */
    async deliver(batch: DeliveryBatch): Promise<Array<{ duplicate: boolean }>> {
      const routed = batch.events.map((delivery) => {
        const { subject, name, schema } = route(delivery);
        if (!schema) throw ApplicationFailure.nonRetryable(`${delivery.event} is not an event for ${delivery.to}`, 'ContractViolation');
        return { subject, name, delivery, data: checked(delivery.event, schema, delivery.data) };
      });
      const receipts = await Promise.all(
        routed.map(({ subject, name, delivery, data }) =>
          publish(subject, name, { operationId: batch.operationId, municipality: batch.municipality, eventId: delivery.eventId, time: batch.time }, data),
        ),
      );
      return receipts.map((r) => ({ duplicate: r.duplicate }));
    },

    /** Publishes one event to one agency's own subject. (v1 operations; v2 delivers whole fan-outs.) */
    async notifyAgency(notice: AgencyNotice): Promise<DeliveryReceipt> {
      const data = checked(notice.event, OutboundData[notice.event], notice.data);
      return publish(SUBJECTS.toAgency(notice.agency, notice.event), notice.event, notice, data);
    },

    /** Tells the LOS steering group about a missed deadline. */
    async notifySteeringGroup(notice: SteeringNotice): Promise<DeliveryReceipt> {
      const data = checked(notice.event, SteeringData[notice.event], notice.data);
      return publish(SUBJECTS.toSteeringGroup(notice.event), `steering_${notice.event}`, notice, data);
    },

    /** Reminds the municipality's coordinator of a decision that is nearly due. */
    async notifyCoordinator(notice: CoordinatorNotice): Promise<DeliveryReceipt> {
      const data = checked(notice.event, CoordinatorData[notice.event], notice.data);
      return publish(SUBJECTS.toCoordinator(notice.event), `coordinator_${notice.event}`, notice, data);
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
