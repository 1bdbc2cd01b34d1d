import { performance } from 'node:perf_hooks';
import { jetstreamManager, jetstream, AckPolicy, DeliverPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import { CLOUDEVENT_CONTENT_TYPE, Tip, encodeCloudEvent, eventType, mandateRequest } from '../domain/index.js';
import { benchTip, LIFECYCLE_CATEGORIES } from './operations.js';
import { percentiles, type Percentiles } from './stats.js';

/**
 * The floor for one notification: a nats.js publish of the same CloudEvent bytes, with the same headers
 * and Nats-Msg-Id, to a file-backed stream on the same server, read by a pull consumer as an agency reads.
 * Nothing of Temporal is involved.
 */

const STREAM = 'LOS_BENCH_RAW';
const SUBJECT = 'los.bench.raw.polisen.mandate_requested';
const CONSUMER = 'bench_raw_reader';

export interface RawJetStreamResult {
  events: number;
  bytesPerEvent: number;
  /** One at a time: publish until JetStream acknowledges it. */
  publishAckMs: Percentiles;
  /** One at a time: publish until the consumer holds the message. */
  publishToReceiveMs: Percentiles;
  /** A loop of awaited publishes, as fast as it goes (the consumer reads meanwhile). */
  publishLoopPerSecond: number;
}

/** A real mandate-request CloudEvent as the engine encodes it, with the given id: what one notice weighs. */
export function mandateRequestEvent(runId: string): (id: string) => Uint8Array {
  const tip = Tip.parse(benchTip(runId, 0, LIFECYCLE_CATEGORIES));
  return (id) =>
    encodeCloudEvent({
      specversion: '1.0',
      id,
      source: '/los/umea',
      type: eventType('mandate_requested'),
      subject: 'los-umea-bench',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      dataschema: `/schemas/${eventType('mandate_requested')}.json`,
      data: mandateRequest(
        tip,
        { operationId: 'los-umea-bench', requestId: `mandate-1-polisen` },
        ['criminal_investigation', 'aliens_act_check'],
        new Date().toISOString(),
      ),
    });
}

export async function measureRawJetStream(nc: NatsConnection, events: number, runId: string): Promise<RawJetStreamResult> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({
    name: STREAM,
    subjects: ['los.bench.raw.>'],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(60_000),
  });
  await jsm.consumers.add(STREAM, {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: 'los.bench.raw.>',
  });

  const eventFor = mandateRequestEvent(runId);

  const waiting = new Map<string, (at: number) => void>();
  const messages = await (await js.consumers.get(STREAM, CONSUMER)).consume({ max_messages: 64 });
  const reading = (async () => {
    for await (const msg of messages) {
      const at = performance.now();
      const id = msg.headers?.get('Nats-Msg-Id') ?? '';
      waiting.get(id)?.(at);
      waiting.delete(id);
      msg.ack();
    }
  })();

  const publish = (id: string) => {
    const h = natsHeaders();
    h.set('Content-Type', CLOUDEVENT_CONTENT_TYPE);
    return js.publish(SUBJECT, eventFor(id), { msgID: id, headers: h });
  };

  try {
    const ackMs: number[] = [];
    const receiveMs: number[] = [];
    for (let i = 0; i < events; i++) {
      const id = `raw-${runId}-${i}`;
      const received = new Promise<number>((resolveReceived) => waiting.set(id, resolveReceived));
      const sentAt = performance.now();
      await publish(id);
      ackMs.push(performance.now() - sentAt);
      receiveMs.push((await received) - sentAt);
    }
    const loopStartedAt = performance.now();
    for (let i = 0; i < events; i++) await publish(`raw-loop-${runId}-${i}`);
    const loopSeconds = (performance.now() - loopStartedAt) / 1000;
    return {
      events,
      bytesPerEvent: eventFor('raw-size').length,
      publishAckMs: percentiles(ackMs)!,
      publishToReceiveMs: percentiles(receiveMs)!,
      publishLoopPerSecond: events / loopSeconds,
    };
  } finally {
    messages.stop();
    await reading.catch(() => undefined);
    await jsm.streams.delete(STREAM).catch(() => undefined);
  }
}
