import { ApplicationFailure } from '@temporalio/activity';
import type { JetStreamClient } from 'nats';
import type { z } from 'zod';
import { ErasedError, type KeyStore } from '../workers/keys.js';
import { headers as natsHeaders } from 'nats';
import {
  CLOUDEVENT_CONTENT_TYPE,
  CoordinatorData,
  containsSealed,
  OutboundData,
  SUBJECTS,
  SteeringData,
  describeIssues,
  eventType,
  slug,
  type AgencyId,
  type CloudEvent,
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

export function sourceFor(municipality: string): string {
  return `/los/${slug(municipality)}`;
}

export function encodeCloudEvent(event: CloudEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/** What the notify activity needs of the key store: unsealing, just before the contract check. */
export type Unsealer = Pick<KeyStore, 'unsealDeep'>;

/** For a publisher without keys (tests of delivery): plaintext passes, a sealed value is refused. */
export const PLAINTEXT_ONLY: Unsealer = {
  async unsealDeep<T>(value: T): Promise<T> {
    if (containsSealed(value)) throw ApplicationFailure.nonRetryable('cannot notify: the event holds sealed data and this process has no key store', 'NoKeys');
    return value;
  },
};

export function createNotifyActivities(js: JetStreamClient, keys: Unsealer) {
  const publish = async (subject: string, name: string, notice: Omit<AgencyNotice, 'agency' | 'event'>, data: unknown): Promise<DeliveryReceipt> => {
    const event: CloudEvent = {
      specversion: '1.0',
      id: notice.eventId,
      source: sourceFor(notice.municipality),
      type: eventType(name),
      subject: notice.operationId,
      time: notice.time,
      datacontenttype: 'application/json',
      dataschema: `/schemas/${eventType(name)}.json`,
      data,
    };
    const h = natsHeaders();
    h.set('Content-Type', CLOUDEVENT_CONTENT_TYPE);
    const ack = await js.publish(subject, encodeCloudEvent(event), { msgID: notice.eventId, headers: h });
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  };

  // A payload that breaks the contract is a bug in the engine: retrying cannot fix it.
  const checked = async (event: string, schema: z.ZodType, data: unknown): Promise<unknown> => {
    // The workflow holds personal fields sealed; an agency receives them in plaintext on its own subject.
    const parsed = schema.safeParse(await unsealed(data));
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`${event} payload breaks the contract: ${describeIssues(parsed.error)}`, 'ContractViolation');
    return parsed.data;
  };

  const unsealed = async (data: unknown) => {
    try {
      return await keys.unsealDeep(data);
    } catch (err) {
      if (err instanceof ErasedError) throw ApplicationFailure.nonRetryable(`cannot notify: the operation's personal data was ${err.message}`, 'Erased');
      throw err;
    }
  };

  return {
    /** Publishes one event to one agency's own subject. */
    async notifyAgency(notice: AgencyNotice): Promise<DeliveryReceipt> {
      const data = await checked(notice.event, OutboundData[notice.event], notice.data);
      return publish(SUBJECTS.toAgency(notice.agency, notice.event), notice.event, notice, data);
    },

    /** Tells the LOS steering group about a missed deadline. */
    async notifySteeringGroup(notice: SteeringNotice): Promise<DeliveryReceipt> {
      const data = await checked(notice.event, SteeringData[notice.event], notice.data);
      return publish(SUBJECTS.toSteeringGroup(notice.event), `steering_${notice.event}`, notice, data);
    },

    /** Reminds the municipality's coordinator of a decision that is nearly due. */
    async notifyCoordinator(notice: CoordinatorNotice): Promise<DeliveryReceipt> {
      const data = await checked(notice.event, CoordinatorData[notice.event], notice.data);
      return publish(SUBJECTS.toCoordinator(notice.event), `coordinator_${notice.event}`, notice, data);
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
