import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ed25519 } from '@noble/curves/ed25519.js';
import { headers as natsHeaders, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import {
  ANSWER_FREE_TEXT,
  AgencyId,
  CloudEvent,
  SIGNATURE_FIELD,
  bytesToBase64Url,
  signedBytes,
  InboundData,
  InboundEventName,
  SUBJECTS,
  describeIssues,
  parseInboundSubject,
  type AgencyAnswer,
} from '../domain/index.js';
import { agencyAnswerUpdate, type AnswerReceipt } from '../workflows/definitions.js';
import type { KeyStore } from './keys.js';

/**
 * The NATS → Temporal bridge. It translates and validates; it owns no rules. Each answer is checked against
 * the one schema for its event and handed to its operation as an update, whose validator decides whether the
 * correlation key matches a request. Anything that cannot be applied goes to the dead-letter stream with the
 * reason, then is acknowledged: never dropped, never retried forever.
 */

export interface BridgeOptions {
  nc: NatsConnection;
  client: Client;
  /** Seals the answer's free text with the operation's data key and signs what is forwarded. */
  keys: Pick<KeyStore, 'sealIfKeyed' | 'bridgeSigningKey'>;
  /** Delay before retrying a message that failed for a passing reason, e.g. Temporal unreachable. */
  retryDelayMs?: number;
  /** How long one answer may take to reach its operation before the message is offered again later. */
  applyTimeoutMs?: number;
  /** Answers handled at once; each operation applies its own answers one by one. */
  concurrency?: number;
  onApplied?: (answer: AgencyAnswer, receipt: AnswerReceipt) => void;
  onDeadLetter?: (reason: string, subject: string) => void;
}

export interface Bridge {
  stop(): Promise<void>;
}

export const DEAD_LETTER_REASON_HEADER = 'Los-Dead-Letter-Reason';
export const ORIGINAL_SUBJECT_HEADER = 'Los-Original-Subject';

type Verdict = { kind: 'apply'; answer: AgencyAnswer; operationId: string } | { kind: 'reject'; reason: string };

/** No legitimate answer comes near this; a larger body is refused before it is parsed. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Pure: what the bridge will do with one inbound message. */
export function judgeInbound(subject: string, body: Uint8Array): Verdict {
  if (body.byteLength > MAX_ANSWER_BYTES) return { kind: 'reject', reason: `body is ${body.byteLength} bytes, over the ${MAX_ANSWER_BYTES}-byte limit` };
  const route = parseInboundSubject(subject);
  if (!route) return { kind: 'reject', reason: `subject ${subject} is not los.v1.from.<agency>.<event>` };
  const agency = AgencyId.safeParse(route.agency);
  if (!agency.success) return { kind: 'reject', reason: `subject agency "${route.agency}" is not a known agency` };
  const name = InboundEventName.safeParse(route.event);
  if (!name.success) return { kind: 'reject', reason: `subject event "${route.event}" is not an answer agencies can send` };

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch (err) {
    return { kind: 'reject', reason: `body is not JSON: ${(err as Error).message}` };
  }
  const envelope = CloudEvent.safeParse(json);
  if (!envelope.success) return { kind: 'reject', reason: `envelope: ${describeIssues(envelope.error, json)}` };
  const data = InboundData[name.data].safeParse(envelope.data.data);
  if (!data.success) return { kind: 'reject', reason: `data: ${describeIssues(data.error, envelope.data.data)}` };
  const correlation = (data.data as { correlation: { operationId: string } }).correlation;
  if (correlation.operationId !== envelope.data.subject) {
    return { kind: 'reject', reason: `data.correlation.operationId "${correlation.operationId}" differs from the event subject "${envelope.data.subject}"` };
  }
  return {
    kind: 'apply',
    operationId: envelope.data.subject,
    answer: { eventId: envelope.data.id, agency: agency.data, name: name.data, receivedAt: envelope.data.time, data: data.data } as AgencyAnswer,
  };
}

/**
 * What the bridge forwards: the validated answer with its free text sealed (personal data never reaches
 * Temporal in plaintext), signed with the bridge's key (only what came in under an agency's own NATS identity
 * and passed through here is taken by the workflow).
 */
export async function forwardAnswer(keys: BridgeOptions['keys'], operationId: string, answer: AgencyAnswer): Promise<AgencyAnswer> {
  const data: Record<string, unknown> = { ...answer.data };
  for (const field of ANSWER_FREE_TEXT[answer.name] as readonly string[]) {
    // An operation started before sealing has no data key: its answers go on in plaintext, as it holds them.
    if (typeof data[field] === 'string') data[field] = await keys.sealIfKeyed(operationId, data[field]);
  }
  const unsigned = { ...answer, data } as AgencyAnswer & Record<string, unknown>;
  delete unsigned[SIGNATURE_FIELD];
  const { secretKey } = await keys.bridgeSigningKey();
  return { ...unsigned, [SIGNATURE_FIELD]: bytesToBase64Url(ed25519.sign(signedBytes(unsigned), secretKey)) } as AgencyAnswer;
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const js = options.nc.jetstream();
  const consumer = await js.consumers.get(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 64 });

  const deadLetter = async (msg: JsMsg, reason: string) => {
    const h = natsHeaders();
    h.set(DEAD_LETTER_REASON_HEADER, reason.replace(/[\r\n]+/g, ' ').slice(0, 4_000));
    h.set(ORIGINAL_SUBJECT_HEADER, msg.subject);
    // Keyed by the inbound stream sequence, so a redelivered message is dead-lettered once.
    await js.publish(SUBJECTS.deadLetter('inbound'), msg.data, { headers: h, msgID: `dead-letter.${msg.info.stream}.${msg.seq}` });
    options.onDeadLetter?.(reason, msg.subject);
  };

  const apply = async (operationId: string, answer: AgencyAnswer): Promise<AnswerReceipt> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rejectTimeout) => {
      timer = setTimeout(() => rejectTimeout(new Error('timed out waiting for the operation')), options.applyTimeoutMs ?? 20_000);
    });
    try {
      const forwarded = await forwardAnswer(options.keys, operationId, answer);
      return await Promise.race([options.client.workflow.getHandle(operationId).executeUpdate(agencyAnswerUpdate, { args: [forwarded] }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const handle = async (msg: JsMsg) => {
    const verdict = judgeInbound(msg.subject, msg.data);
    try {
      if (verdict.kind === 'reject') {
        await deadLetter(msg, verdict.reason);
      } else {
        try {
          const receipt = await apply(verdict.operationId, verdict.answer);
          options.onApplied?.(verdict.answer, receipt);
        } catch (err) {
          // The operation is still loading the bridge's key (its first moments): offer the answer again.
          if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'NotReady') throw err;
          if (err instanceof WorkflowUpdateFailedError) await deadLetter(msg, err.cause?.message ?? err.message);
          else if (err instanceof WorkflowNotFoundError || isCompletedWorkflowError(err)) {
            await deadLetter(msg, `operation "${verdict.operationId}" is unknown or already closed`);
          } else throw err;
        }
      }
      msg.ack();
    } catch {
      // Temporal or NATS is unreachable for now: offer the message again later, acknowledge nothing half-done.
      msg.nak(options.retryDelayMs ?? 2_000);
    }
  };

  const inFlight = new Set<Promise<void>>();
  const limit = options.concurrency ?? 16;
  const loop = (async () => {
    for await (const msg of messages) {
      const work = handle(msg).finally(() => inFlight.delete(work));
      inFlight.add(work);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();

  return {
    async stop() {
      messages.stop();
      await loop.catch(() => undefined);
    },
  };
}

function isCompletedWorkflowError(err: unknown): boolean {
  return err instanceof Error && /already completed|workflow execution already (?:completed|finished)/i.test(err.message);
}
