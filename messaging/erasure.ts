import { JetStreamApiError, jetstreamManager, type JetStreamManager, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { HEADERS, SUBJECTS } from '../domain/index.js';
import { JS_API_CODES, isStreamNotFound } from './natsErrors.js';

/**
 * Erasure on disk. A JetStream message removed by a plain delete, by interest retention or by a limit stays in
 * its block file until the block is compacted; only JetStream's secure erase (`deleteMessage(stream, seq, true)`)
 * overwrites its bytes at once. So every removal of personal data from a stream goes through here.
 */

function isMessageGone(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JS_API_CODES.NoMessageFound;
}

/**
 * The record of every erasure, kept apart from the key store so that it outlives it (a restore from a backup,
 * a lost bucket): `{ operationId, erasedAt }`, no personal data. Nothing can delete or purge it (vault/keys.ts).
 */
export const ERASURE_STREAM = 'LOS_ERASURES';
export const ERASURE_SUBJECT = 'los.v1.erasures';

/** Overwrites one stored message; false when it is no longer stored. */
export async function eraseMessage(jsm: JetStreamManager, stream: string, seq: number): Promise<boolean> {
  try {
    return await jsm.streams.deleteMessage(stream, seq, true);
  } catch (err) {
    if (isMessageGone(err)) return false;
    throw err;
  }
}

/** The message stored at `seq`, or (with a subject filter) the first one on those subjects at or after it. */
export async function storedAt(jsm: JetStreamManager, stream: string, request: { seq: number; next_by_subj?: string }): Promise<StoredMsg | undefined> {
  try {
    // The server's message get takes `next_by_subj` with `seq`; nats.js types only the direct get's.
    return (await jsm.streams.getMessage(stream, request as MsgRequest)) ?? undefined;
  } catch (err) {
    if (isMessageGone(err)) return undefined;
    throw err;
  }
}

/** The streams that may hold an operation's personal data in plaintext: events, answers, dead letters. */
export const PERSONAL_DATA_STREAMS = [SUBJECTS.streamOut, SUBJECTS.streamIn, SUBJECTS.streamDeadLetter] as const;

/** The agencies' intakes: the streams LOS_IN sources from, each holding its agency's answers as they came. */
async function intakeStreams(jsm: JetStreamManager): Promise<string[]> {
  try {
    return ((await jsm.streams.info(SUBJECTS.streamIn)).config.sources ?? []).map((source) => source.name);
  } catch (err) {
    if (isStreamNotFound(err)) return [];
    throw err;
  }
}

/**
 * Where a message of LOS_IN came from: its intake and its sequence there, from the `Nats-Stream-Source` header
 * JetStream writes on a sourced message (`<stream> <sequence> <filter> <transform> <subject> …`); undefined for a
 * message that was not sourced.
 */
export function streamSource(headers: Pick<MsgHdrs, 'get'> | undefined): { stream: string; seq: number } | undefined {
  const [stream, seq] = headers?.get('Nats-Stream-Source').split(' ') ?? [];
  const sequence = Number(seq);
  return stream && Number.isSafeInteger(sequence) && sequence > 0 ? { stream, seq: sequence } : undefined;
}

/** An intake removed since (its agency left the catalogue) holds nothing more to erase. */
function ignoreStreamGone(err: unknown): false {
  if (isStreamNotFound(err)) return false;
  throw err;
}

/**
 * Erases every message still stored about one operation: those naming it in the `Los-Operation-Id` header (events
 * and dead letters) or anywhere in their body (an agency's answer, whose headers the engine does not write), in
 * LOS_IN and in the intakes it sources from. Run when the operation's data key is destroyed; the streams hold only
 * unacknowledged messages by then.
 */
export async function eraseOperationMessages(jsm: JetStreamManager, operationId: string): Promise<number> {
  let erased = 0;
  for (const stream of [...PERSONAL_DATA_STREAMS, ...(await intakeStreams(jsm))]) {
    const { state } = await jsm.streams.info(stream);
    if (state.messages === 0) continue;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const stored = await storedAt(jsm, stream, { seq });
      if (!stored) continue;
      const about = stored.header?.get(HEADERS.operationId) === operationId || new TextDecoder().decode(stored.data).includes(operationId);
      if (about && (await eraseMessage(jsm, stream, seq))) erased += 1;
    }
  }
  return erased;
}

/**
 * Erases what every reader has acknowledged. Each consumer's ack floor is the stream sequence up to which it has
 * acknowledged everything; each message has one reader (an agency's, the steering group's or the coordinator's
 * consumer on LOS_OUT, the bridge's on LOS_IN), so a message on a consumer's subjects at or below its floor is
 * done with. `from` remembers, per consumer, where the last sweep stopped.
 */
export async function eraseAcknowledged(jsm: JetStreamManager, stream: string, from: Map<string, number> = new Map()): Promise<number> {
  let erased = 0;
  const { state } = await jsm.streams.info(stream);
  for await (const consumer of jsm.consumers.list(stream)) {
    const floor = consumer.ack_floor.stream_seq;
    const filter = consumer.config.filter_subject || '>';
    let seq = Math.max(from.get(consumer.name) ?? 0, state.first_seq);
    while (seq <= floor) {
      const stored = await storedAt(jsm, stream, { seq, next_by_subj: filter });
      if (!stored || stored.seq > floor) break;
      if (await eraseMessage(jsm, stream, stored.seq)) erased += 1;
      // An answer is stored twice, in its agency's intake and in LOS_IN: both copies go.
      const origin = streamSource(stored.header);
      if (origin && (await eraseMessage(jsm, origin.stream, origin.seq).catch(ignoreStreamGone))) erased += 1;
      seq = stored.seq + 1;
    }
    from.set(consumer.name, floor + 1);
  }
  return erased;
}

export interface StreamEraser {
  /** One sweep now (the timer's too): how many messages it erased. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Keeps LOS_OUT and LOS_IN free of what has been dealt with: an event once its agency acknowledged it, an answer once
 * the bridge applied or dead-lettered it, overwritten on disk. Interest retention would remove them too, but without
 * overwriting: the bytes would stay in the block file. The streams' max age stays as the ceiling for readers that
 * never come.
 */
export async function startStreamEraser(options: { nc: NatsConnection; intervalMs: number; onError?: (err: Error) => void }): Promise<StreamEraser> {
  const jsm = await jetstreamManager(options.nc);
  const progress = new Map<string, Map<string, number>>([
    [SUBJECTS.streamOut, new Map()],
    [SUBJECTS.streamIn, new Map()],
  ]);
  let running: Promise<number> | undefined;
  const sweep = () =>
    (running ??= (async () => {
      try {
        let erased = 0;
        for (const [stream, from] of progress) erased += await eraseAcknowledged(jsm, stream, from);
        return erased;
      } finally {
        running = undefined;
      }
    })());
  const timer = setInterval(() => {
    sweep().catch((err: Error) => options.onError?.(err));
  }, options.intervalMs);
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
