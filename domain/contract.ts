import { z } from 'zod';
import { IsoTime } from './localTime.js';
import { slug } from './tip.js';
import { shared } from './shared.js';

/**
 * The wire contract's every fact, once: subjects, stream and consumer names, headers, CloudEvent sources and
 * construction. The notify activity, the bridge and the agency client all build and read events with these;
 * the payload schemas (one per event) are in events.ts, the id scheme in ids.ts.
 */

export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json';
export const EVENT_TYPE_PREFIX = 'se.los.';

export function eventType(name: string): string {
  return `${EVENT_TYPE_PREFIX}${name.replace(/_/g, '.')}.v1`;
}

/** CloudEvents 1.0 attributes, structured mode. */
export const CloudEvent = shared('contract.CloudEvent', () =>
  z.object({
    specversion: z.literal('1.0'),
    id: z.string().min(1).max(300),
    source: z.string().min(1).max(300),
    type: z.string().regex(/^se\.los\.[a-z.]+\.v\d+$/, 'must be a versioned LOS event type such as se.los.mandate.accepted.v1'),
    subject: z.string().min(1).max(200),
    time: IsoTime,
    datacontenttype: z.literal('application/json').default('application/json'),
    dataschema: z.string().optional(),
    data: z.unknown(),
  }),
);
export type CloudEvent = z.infer<typeof CloudEvent>;

/** The NATS headers of the contract. Body carries data; headers carry metadata. */
export const HEADERS = {
  contentType: 'Content-Type',
  /** JetStream's dedupe key: always the CloudEvent id. */
  msgId: 'Nats-Msg-Id',
  deadLetterReason: 'Los-Dead-Letter-Reason',
  originalSubject: 'Los-Original-Subject',
  originalSize: 'Los-Original-Size',
  /**
   * The operation a stored message is about (events, dead letters): an erasure finds what to overwrite by it.
   * An identifier only, never personal data, like the subject.
   */
  operationId: 'Los-Operation-Id',
} as const;

/** Who speaks: a CloudEvent's `source`. The bridge checks an answer's against the agency of its subject. */
export const SOURCES = {
  engine: '/los/engine',
  municipality: (municipality: string) => `/los/${slug(municipality)}`,
  agency: (agency: string) => `/los/agency/${agency}`,
} as const;

/** A structured-mode CloudEvent of the contract, with its versioned type and schema. */
export function cloudEvent(event: { id: string; source: string; name: string; subject: string; time: string; data: unknown }): CloudEvent {
  const type = eventType(event.name);
  return {
    specversion: '1.0',
    id: event.id,
    source: event.source,
    type,
    subject: event.subject,
    time: event.time,
    datacontenttype: 'application/json',
    dataschema: `/schemas/${type}.json`,
    data: event.data,
  };
}

export function encodeCloudEvent(event: CloudEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

export const SUBJECTS = {
  streamOut: 'LOS_OUT',
  streamIn: 'LOS_IN',
  streamDeadLetter: 'LOS_DEAD_LETTER',
  /**
   * Where one agency's answers land first: its own stream, holding its inbound quota, which LOS_IN sources from.
   * Whatever an agency's publish does to a stream it does to its own intake only (README, "One agency's intake").
   */
  agencyIntake: (agency: string) => `LOS_IN_${agency.toUpperCase()}`,
  toAgency: (agency: string, event: string) => `los.v1.to.${agency}.${event}`,
  toSteeringGroup: (event: string) => `los.v1.to.steering_group.${event}`,
  toCoordinator: (event: string) => `los.v1.to.coordinator.${event}`,
  fromAgency: (agency: string, event: string) => `los.v1.from.${agency}.${event}`,
  deadLetter: (origin: string) => `los.v1.dead_letter.${origin}`,
  /**
   * An answer the bridge could not apply, on its agency's own subject, so that each agency's dead letters are
   * bounded on their own (LOS_DEAD_LETTER keeps at most so many per subject) and no flood pushes out another's.
   */
  inboundDeadLetter: (agency: string | undefined) => `los.v1.dead_letter.inbound.${agency ?? 'no_agency'}`,
  /** Each agency reads only through its own durable consumer. */
  agencyConsumer: (agency: string) => `agency_${agency}`,
  steeringConsumer: 'steering_group',
  coordinatorConsumer: 'coordinator',
  bridgeConsumer: 'bridge',
  /**
   * The JetStream API prefix an agency uses: its account imports exactly its own consumer's calls under it
   * (an account's own `$JS.API` is answered locally, and agency accounts have no JetStream of their own).
   */
  agencyApiPrefix: 'LOS.API',
  /** The only inbox an agency (or the steering group's, the coordinator's reader) may subscribe under. */
  inboxPrefix: (reader: string) => `_INBOX_${reader}`,
  allOut: 'los.v1.to.>',
  allIn: 'los.v1.from.>',
  allDeadLetter: 'los.v1.dead_letter.>',
} as const;

/** Parses `los.v1.from.<agency>.<event>`: the subject, not the payload, says who is speaking. */
export function parseInboundSubject(subject: string): { agency: string; event: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'los' || parts[1] !== 'v1' || parts[2] !== 'from') return undefined;
  return { agency: parts[3]!, event: parts[4]! };
}
