import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { InboundEventName, SUBJECTS } from '../domain/index.js';
import { isConsumerAlreadyThere, isStreamNotFound } from './natsErrors.js';

/**
 * The JetStream topology, created idempotently by whichever engine process starts first.
 * - LOS_OUT: every event to agencies, the steering group and the coordinator; each reader has its own durable consumer.
 * - LOS_IN_<AGENCY>: one agency's answers as it published them, under its inbound quota; nothing reads it but LOS_IN.
 * - LOS_IN: every answer from agencies, sourced from their intakes; the bridge is its only reader.
 * - LOS_DEAD_LETTER: what could not be applied, with the reason; nothing is dropped silently.
 */
const DAY = 24 * 60 * 60 * 1000;
const KiB = 1024;
const MiB = 1024 * KiB;

export const ADVISORY_STREAM = 'LOS_ADVISORIES';
export const DEAD_LETTER_WATCHER = 'dead_letter_watcher';

/**
 * How long and how much each stream keeps. Events carry personal data (org number, name, address,
 * description), so they are kept only as long as an agency needs to consume them, not for the operation's life:
 * the operation's own record is in Temporal.
 */
export interface RetentionOptions {
  /**
   * How long LOS_OUT keeps an event for its reader; an agency must consume within this.
   * @default 30 days
   */
  outMaxAgeMs?: number;
  /**
   * How long LOS_IN keeps an answer after it arrived (the bridge applies it within seconds).
   * @default 30 days
   */
  inMaxAgeMs?: number;
  /**
   * How long a dead letter is kept for an operator to look at.
   * @default 30 days
   */
  deadLetterMaxAgeMs?: number;
  /**
   * The most each of LOS_OUT, LOS_IN and LOS_DEAD_LETTER may hold; the oldest messages go first beyond it.
   * @default 1 GiB
   */
  maxBytesPerStream?: number;
}

export const DEFAULT_RETENTION = {
  outMaxAgeMs: 30 * DAY,
  inMaxAgeMs: 30 * DAY,
  deadLetterMaxAgeMs: 30 * DAY,
  maxBytesPerStream: 1024 * MiB,
} as const satisfies Required<RetentionOptions>;

/** The priority group the bridge replicas pull in; one of them is pinned at a time. */
export const BRIDGE_GROUP = 'bridge';

/** No legitimate answer comes near this; a larger body is refused before it is parsed. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** A dead letter keeps at most this much of the original body, so no agency can fill the disk with them. */
export const DEAD_LETTER_BODY_BYTES = 64 * 1024;

/** Dead letters are bounded in number as well as bytes and age; each is erased with its operation too. */
export const MAX_DEAD_LETTERS = 100_000;

/**
 * The inbound quota: answers one agency may have stored in its intake (LOS_IN_<AGENCY>) on each of its answer
 * subjects (`los.v1.from.<agency>.<answer>`), until the bridge has settled them and the sweep erased them. Beyond it
 * the server refuses the agency's publish (discard new, per subject): the agency is told in its publish
 * acknowledgement, and no other agency's answers are pushed out. At the default and the largest answer, one
 * agency's quota is 6 × 1000 × 64 KiB, under half of LOS_IN's 1 GiB: no single agency can fill the stream.
 */
export const DEFAULT_INBOUND_QUOTA = 1_000;

/** The answer subjects an agency may publish on, one per answer it can send: each has its own quota. */
export const ANSWER_SUBJECTS_PER_AGENCY = InboundEventName.options.length;

/**
 * Dead letters kept per subject (one per agency for its refused answers, one per reader for events it failed on):
 * beyond it a subject's oldest goes, so a flood of refusals pushes out only its own agency's dead letters. Sized
 * so that every subject's full share, at the largest dead letter, fits in the stream at once.
 */
export function deadLettersPerSubject(agencies: number, maxBytes: number): number {
  const subjects = 2 * agencies + 3; // inbound per agency (and one for none), delivery per agency, steering group, coordinator
  return Math.max(10, Math.floor(maxBytes / (subjects * MAX_MSG_SIZE.deadLetter)));
}

/** The largest single message each stream takes; answers are refused by the server beyond MAX_ANSWER_BYTES. */
export const MAX_MSG_SIZE = {
  // A briefing carries the description (up to 20 000 characters) and the minimum case.
  out: 256 * KiB,
  in: MAX_ANSWER_BYTES,
  // At most DEAD_LETTER_BODY_BYTES of the original body, plus the reason headers.
  deadLetter: DEAD_LETTER_BODY_BYTES + 8 * KiB,
} as const;

/**
 * LOS_IN's duplicate window, the shortest JetStream allows. Each intake drops an agency's own repeats (a day, by
 * `Nats-Msg-Id`); LOS_IN sees the ids again and would drop one agency's answer as a repeat of another's with the
 * same id, so it remembers them as briefly as it can.
 */
export const SOURCED_DUPLICATE_WINDOW_MS = 100;

function streamsFor(retention: Required<RetentionOptions>, agencies: readonly string[], inboundQuota: number): (Partial<StreamConfig> & { name: string })[] {
  const limits = (maxAgeMs: number, maxMsgSize: number) => ({ max_age: nanos(maxAgeMs), max_bytes: retention.maxBytesPerStream, max_msg_size: maxMsgSize });
  return [
    { name: SUBJECTS.streamOut, subjects: [SUBJECTS.allOut], ...limits(retention.outMaxAgeMs, MAX_MSG_SIZE.out) },
    // One agency's intake. What an agency's publish can do to a stream it does here, to its own answers only: a
    // JetStream cluster fails a stream whose raft log takes a `Nats-Expected-Last-Msg-Id` that does not match
    // (nats-server 2.15; README), and sourcing leaves those headers behind, so LOS_IN never sees one.
    ...agencies.map((agency) => ({
      name: SUBJECTS.agencyIntake(agency),
      subjects: [SUBJECTS.fromAgency(agency, '*')],
      ...limits(retention.inMaxAgeMs, MAX_MSG_SIZE.in),
      // A flood is refused at the door, to its sender only: nothing stored is ever pushed out for it.
      max_bytes: Math.min(retention.maxBytesPerStream, ANSWER_SUBJECTS_PER_AGENCY * inboundQuota * MAX_MSG_SIZE.in),
      max_msgs_per_subject: inboundQuota,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
    })),
    // After the intakes: a source that does not exist yet is tried again only after a back-off of seconds.
    {
      name: SUBJECTS.streamIn,
      subjects: [],
      sources: agencies.map((agency) => ({ name: SUBJECTS.agencyIntake(agency) })),
      ...limits(retention.inMaxAgeMs, MAX_MSG_SIZE.in),
      // Full, it takes nothing more from any intake until the sweep makes room: nothing stored is pushed out.
      discard: DiscardPolicy.New,
      duplicate_window: nanos(SOURCED_DUPLICATE_WINDOW_MS),
    },
    {
      name: SUBJECTS.streamDeadLetter,
      subjects: [SUBJECTS.allDeadLetter],
      ...limits(retention.deadLetterMaxAgeMs, MAX_MSG_SIZE.deadLetter),
      max_msgs: MAX_DEAD_LETTERS,
      max_msgs_per_subject: deadLettersPerSubject(agencies.length, retention.maxBytesPerStream),
    },
    // Advisories are plain NATS messages: kept in a stream, none is missed while the watcher restarts.
    {
      name: ADVISORY_STREAM,
      subjects: [
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${SUBJECTS.streamOut}.>`,
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${SUBJECTS.streamIn}.>`,
        `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${SUBJECTS.streamOut}.>`,
      ],
      max_age: nanos(retention.deadLetterMaxAgeMs),
      max_bytes: 64 * MiB,
      max_msg_size: 16 * KiB,
    },
  ];
}

/**
 * Answers the bridge may hold unsettled. They wait in memory behind their operation's head, so a burst on one
 * operation does not stop the consumer from handing out other operations' answers.
 */
export const BRIDGE_MAX_ACK_PENDING = 10_000;

export interface TopologyOptions {
  agencies: readonly string[];
  /** How long a reader may hold a message before it is redelivered. */
  ackWaitMs?: number;
  maxDeliver?: number;
  retention?: RetentionOptions;
  /**
   * Answers an agency may have stored in its intake per answer subject before the server refuses more.
   * @default DEFAULT_INBOUND_QUOTA
   */
  inboundQuota?: number;
  /**
   * Copies of each stream (and its consumers) in a JetStream cluster: 3 survives the loss of any one node.
   * @default 1
   */
  replicas?: number;
}

export async function ensureTopology(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  const retention = { ...DEFAULT_RETENTION, ...options.retention };
  await releaseAnswerSubjects(jsm);
  for (const stream of streamsFor(retention, options.agencies, options.inboundQuota ?? DEFAULT_INBOUND_QUOTA)) {
    const config = {
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // Retried notifications and answers carry the same Nats-Msg-Id; a day is far longer than any retry backoff.
      duplicate_window: nanos(DAY),
      ...stream,
      num_replicas: options.replicas ?? 1,
    };
    try {
      await jsm.streams.info(stream.name);
      await jsm.streams.update(stream.name, config);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      await jsm.streams.add(config);
    }
  }
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const consumer = (stream: string, durable: string, filter: string, maxDeliver: number, extra: Partial<ConsumerConfig> = {}) =>
    ensureConsumer(jsm, stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
      ack_wait: nanos(ackWaitMs),
      max_deliver: maxDeliver,
      ...extra,
    });
  // An agency system that keeps failing on a message gets it a bounded number of times; then it is
  // dead-lettered (via the MAX_DELIVERIES advisory) for a person to look at.
  const agencyMaxDeliver = options.maxDeliver ?? 10;
  for (const agency of options.agencies) {
    await consumer(SUBJECTS.streamOut, SUBJECTS.agencyConsumer(agency), `los.v1.to.${agency}.>`, agencyMaxDeliver);
  }
  await consumer(SUBJECTS.streamOut, SUBJECTS.steeringConsumer, SUBJECTS.toSteeringGroup('>'), agencyMaxDeliver);
  await consumer(SUBJECTS.streamOut, SUBJECTS.coordinatorConsumer, SUBJECTS.toCoordinator('>'), agencyMaxDeliver);
  // The bridge dead-letters permanent failures itself; a passing one (Temporal down) must be retried for as
  // long as it lasts, so its deliveries are unbounded.
  // Bridge replicas pull as one pinned-client group: one is active at a time. The pin moves only after twice
  // the ack wait without a pull, by when every answer the old replica held is back in the stream, ahead of
  // newer ones, so a new replica still applies each operation's answers in stored order.
  await consumer(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer, SUBJECTS.allIn, -1, {
    max_ack_pending: BRIDGE_MAX_ACK_PENDING,
    priority_groups: [BRIDGE_GROUP],
    priority_policy: 'pinned_client',
    priority_timeout: nanos(2 * ackWaitMs),
  });
  await consumer(ADVISORY_STREAM, DEAD_LETTER_WATCHER, '>', -1);
}

/**
 * A LOS_IN made before the intakes captured the agencies' answer subjects itself; a subject belongs to one stream
 * only, so it lets them go before the intakes take them. What it holds stays, for the bridge.
 */
async function releaseAnswerSubjects(jsm: JetStreamManager): Promise<void> {
  let config: StreamConfig;
  try {
    ({ config } = await jsm.streams.info(SUBJECTS.streamIn));
  } catch (err) {
    if (isStreamNotFound(err)) return;
    throw err;
  }
  if ((config.subjects ?? []).length === 0) return;
  await jsm.streams.update(SUBJECTS.streamIn, { ...config, subjects: [], discard_new_per_subject: false, max_msgs_per_subject: -1 });
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    if (!isConsumerAlreadyThere(err)) throw err;
    const { ack_wait, max_deliver, max_ack_pending, priority_groups, priority_policy, priority_timeout } = config;
    await jsm.consumers.update(stream, config.durable_name, {
      ack_wait,
      max_deliver,
      ...(max_ack_pending ? { max_ack_pending } : {}),
      ...(priority_groups ? { priority_groups, priority_policy, priority_timeout } : {}),
    } as Partial<ConsumerConfig>);
  }
}
