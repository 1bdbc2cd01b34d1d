import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { HEADERS, SUBJECTS, deadLetterId } from '../domain/index.js';
import { waitOutElection, ADVISORY_STREAM, DEAD_LETTER_WATCHER } from '../messaging/index.js';

/**
 * Turns JetStream's advisories into dead letters: when a reader has failed on a message `max_deliver` times,
 * or terminated it as unreadable, the message itself is copied to the dead-letter stream with the reason.
 * JetStream would otherwise stop offering it, silently.
 */

interface DeliveryAdvisory {
  type: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries?: number;
  /** nats-server ≥ 2.11: the reason the reader gave with its terminate. */
  reason?: string;
}

export interface DeadLetterWatcher {
  stop(): Promise<void>;
}

export async function startDeadLetterWatcher(options: {
  nc: NatsConnection;
  onDeadLetter?: (reason: string, subject: string) => void;
}): Promise<DeadLetterWatcher> {
  const js = jetstream(options.nc);
  const jsm = await waitOutElection(() => jetstreamManager(options.nc));
  const consumer = await waitOutElection(() => js.consumers.get(ADVISORY_STREAM, DEAD_LETTER_WATCHER));
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 32 });

  const handle = async (msg: JsMsg) => {
    let advisory: DeliveryAdvisory;
    try {
      advisory = msg.json<DeliveryAdvisory>();
    } catch {
      msg.term();
      return;
    }
    const reason = advisory.type.includes('terminated')
      ? `${advisory.consumer} rejected the message as unreadable${advisory.reason ? `: ${advisory.reason}` : ''}`
      : `delivery to ${advisory.consumer} failed ${advisory.deliveries ?? 'max'} times`;
    const h = natsHeaders();
    h.set(HEADERS.deadLetterReason, reason);
    let body: Uint8Array;
    const original = await jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq }).catch(() => null);
    if (original) {
      h.set(HEADERS.originalSubject, original.subject);
      // The operation it is about, so that erasing the operation erases its dead letters too.
      const operationId = original.header?.get(HEADERS.operationId);
      if (operationId) h.set(HEADERS.operationId, operationId);
      body = original.data;
    } else {
      // The original has aged out of its stream; the advisory itself is the record that it was lost.
      h.set(HEADERS.originalSubject, `${advisory.stream}#${advisory.stream_seq} (no longer stored)`);
      body = msg.data;
    }
    try {
      await js.publish(SUBJECTS.deadLetter(advisory.consumer), body, {
        headers: h,
        msgID: deadLetterId(advisory.stream, advisory.stream_seq, advisory.consumer),
      });
      options.onDeadLetter?.(reason, h.get(HEADERS.originalSubject));
      msg.ack();
    } catch {
      msg.nak(2_000);
    }
  };

  const loop = (async () => {
    for await (const msg of messages) await handle(msg);
  })();
  return {
    async stop() {
      messages.stop();
      await loop.catch(() => undefined);
    },
  };
}
