import { Context } from '@temporalio/activity';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AGENCY_IDS, CLOUDEVENT_CONTENT_TYPE } from '../domain/index.js';
import type { FloorActivities, FloorFanOut } from './baseline-workflow.js';
import { mandateRequestEvent } from './raw-jetstream.js';

/**
 * The JetStream side of the floor (bench/baseline-workflow.ts, `floorOperation`): the activity that
 * publishes one fan-out, and the agencies that read every notice from a file-backed stream, ack it, and
 * answer the ones that ask with a signal. A notice is a real mandate-request CloudEvent (the size LOS sends)
 * with a deterministic Nats-Msg-Id, so a retried fan-out stores nothing twice.
 */

const STREAM = 'LOS_BENCH_FLOOR';
const CONSUMER = 'bench_floor_agencies';
const WORKFLOW_HEADER = 'Bench-Workflow-Id';
/** Notices read but not yet acked: enough that answering (a signal round trip each) never holds the stream up. */
const IN_FLIGHT = 256;

export class FloorChannel {
  private messages: ConsumerMessages | undefined;
  private reading: Promise<void> | undefined;
  private readonly answering = new Set<Promise<void>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly encode: (id: string) => Uint8Array,
  ) {}

  /** Connects to NATS on its own connection and creates the floor's stream and the agencies' consumer. */
  static async open(natsUrl: string, runId: string): Promise<FloorChannel> {
    const nc = await connect({ servers: natsUrl, name: 'los-bench-floor' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: STREAM,
      subjects: ['los.bench.floor.>'],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
    await jsm.consumers.add(STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: IN_FLIGHT });
    return new FloorChannel(nc, mandateRequestEvent(runId));
  }

  readonly activities: FloorActivities = {
    publishFanOut: async (fanOut: FloorFanOut) => {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (!workflowId) throw new Error('publishFanOut runs only as an activity of floorOperation');
      const js = jetstream(this.nc);
      const notices = fanOut.answered + fanOut.plain;
      await Promise.all(
        Array.from({ length: notices }, (_, k) => {
          const kind = k < fanOut.answered ? 'ask' : 'tell';
          const agency = AGENCY_IDS[k % AGENCY_IDS.length]!;
          const id = `${workflowId}.${fanOut.batch}.${k}`;
          const h = natsHeaders();
          h.set('Content-Type', CLOUDEVENT_CONTENT_TYPE);
          h.set(WORKFLOW_HEADER, workflowId);
          return js.publish(`los.bench.floor.${agency}.${kind}`, this.encode(id), { msgID: id, headers: h });
        }),
      );
    },
  };

  /** The agencies start reading; each notice that asks is answered through `answer`, then acked. */
  async startAgencies(answer: (workflowId: string) => Promise<void>): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(STREAM, CONSUMER);
    this.messages = await consumer.consume({ max_messages: IN_FLIGHT });
    const messages = this.messages;
    this.reading = (async () => {
      for await (const msg of messages) {
        const handled = this.handle(msg, answer);
        this.answering.add(handled);
        void handled.finally(() => this.answering.delete(handled));
      }
    })();
  }

  private async handle(msg: JsMsg, answer: (workflowId: string) => Promise<void>): Promise<void> {
    const workflowId = msg.headers?.get(WORKFLOW_HEADER) ?? '';
    if (msg.subject.endsWith('.ask') && workflowId) await answer(workflowId);
    msg.ack();
  }

  async close(): Promise<void> {
    this.messages?.stop();
    await this.reading?.catch(() => undefined);
    await Promise.allSettled([...this.answering]);
    await (await jetstreamManager(this.nc)).streams.delete(STREAM).catch(() => undefined);
    await this.nc.drain();
  }
}
