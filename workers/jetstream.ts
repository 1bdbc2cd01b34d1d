import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { SUBJECTS } from '../domain/index.js';

/**
 * The JetStream topology, created idempotently by whichever engine process starts first.
 * - LOS_OUT: every event to agencies, the steering group and the coordinator; each reader has its own durable consumer.
 * - LOS_IN: every answer from agencies; the bridge is its only reader.
 * - LOS_DEAD_LETTER: what could not be applied, with the reason; nothing is dropped silently.
 */
const DAY = 24 * 60 * 60 * 1000;

export const ADVISORY_STREAM = 'LOS_ADVISORIES';
export const DEAD_LETTER_WATCHER = 'dead_letter_watcher';

const streams: (Partial<StreamConfig> & { name: string })[] = [
  { name: SUBJECTS.streamOut, subjects: [SUBJECTS.allOut], max_age: nanos(365 * DAY) },
  { name: SUBJECTS.streamIn, subjects: [SUBJECTS.allIn], max_age: nanos(365 * DAY) },
  { name: SUBJECTS.streamDeadLetter, subjects: [SUBJECTS.allDeadLetter], max_age: nanos(365 * DAY) },
  // Advisories are plain NATS messages: kept in a stream, none is missed while the watcher restarts.
  {
    name: ADVISORY_STREAM,
    subjects: [
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${SUBJECTS.streamOut}.>`,
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${SUBJECTS.streamIn}.>`,
      `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${SUBJECTS.streamOut}.>`,
    ],
    max_age: nanos(30 * DAY),
  },
];

export interface TopologyOptions {
  agencies: readonly string[];
  /** How long a reader may hold a message before it is redelivered. */
  ackWaitMs?: number;
  maxDeliver?: number;
}

export async function ensureTopology(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  for (const stream of streams) {
    const config = {
      ...stream,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // Retried notifications carry the same Nats-Msg-Id; a day is far longer than any retry backoff.
      duplicate_window: nanos(DAY),
    };
    try {
      await jsm.streams.info(stream.name);
      await jsm.streams.update(stream.name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(config);
    }
  }
  const consumer = (stream: string, durable: string, filter: string, maxDeliver: number) =>
    ensureConsumer(jsm, stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      max_deliver: maxDeliver,
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
  await consumer(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer, SUBJECTS.allIn, -1);
  await consumer(ADVISORY_STREAM, DEAD_LETTER_WATCHER, '>', -1);
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    if (!(err instanceof Error && /already exists|already in use/i.test(err.message))) throw err;
    await jsm.consumers.update(stream, config.durable_name, { ack_wait: config.ack_wait, max_deliver: config.max_deliver });
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && /not found/i.test(err.message);
}
