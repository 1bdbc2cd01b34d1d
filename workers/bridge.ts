import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  ANSWER_FREE_TEXT,
  bytesToBase64Url,
  signedBatchBytes,
  type SignedAnswers,
  AgencyId,
  CloudEvent,
  CLOUDEVENT_CONTENT_TYPE,
  Correlation,
  deadLetterId,
  describeIssues,
  answerBatchUpdateId,
  eventType,
  HEADERS,
  InboundData,
  InboundEventName,
  notAppliedEventId,
  OutboundData,
  parseInboundSubject,
  SOURCES,
  SUBJECTS,
  type AgencyAnswer,
  type DeadLetteredReason,
  type NotAppliedReason,
  type OutboundDataOf,
} from '../domain/index.js';
import { DEFAULT_BRIDGE_BATCH_WINDOW_MS } from '../config/index.js';
import { agencyAnswersUpdate, MAX_ANSWER_BATCH, type AnswerReceipt } from '../workflows/definitions.js';
import { FailureType } from '../workflows/failures.js';
import { BRIDGE_GROUP, DEAD_LETTER_BODY_BYTES, MAX_ANSWER_BYTES, publishCloudEvent, streamSource, waitOutElection } from '../messaging/index.js';
import type { KeyStore } from '../vault/index.js';
import { OperationLanes } from './lanes.js';
import { FloodWindows, type RefusalSummary } from './floodWindow.js';

/**
 * The NATS → Temporal bridge. It translates and validates; it owns no rules. Each answer is checked against
 * the one schema for its event and handed to its operation as an update, whose validator decides whether the
 * correlation key matches a request. Anything that cannot be applied goes to the dead-letter stream with the
 * reason and back to the agency as `answer_not_applied`, then is acknowledged: never dropped, never retried
 * forever.
 *
 * Order: answers for one operation are applied one at a time, in the order LOS_IN stored them (one lane per
 * operation; a passing failure holds the lane and is retried in place, never nak'ed behind later answers).
 * Different operations proceed in parallel, so a burst on one cannot stall another.
 *
 * Fair share: no agency can starve another. Lanes are scheduled per agency in turn, each agency holding at most
 * its share of the workers (workers/lanes.ts). What needs no Temporal call (a refusal, a repeat of an applied
 * answer, an answer to an operation already known to be unknown or ended) never takes an operation lane: it is
 * settled in a queue of its own, also shared fairly. A flood of refusals tells its agency once per flood window
 * for each repeat (workers/floodWindow.ts), so it cannot fill LOS_OUT for the others. Several replicas share the
 * `bridge` consumer as a pinned-client priority group: one replica is active, the others stand by, and the pin
 * moves only after every message the old one held has gone back to the stream (see messaging/jetstream.ts).
 */

export interface BridgeOptions {
  nc: NatsConnection;
  client: Client;
  /**
   * Seals the answer's free text with the operation's data key and signs what is forwarded. The benchmark gives
   * one that leaves the text as it is, to measure what sealing costs (bench/plaintext.ts).
   */
  keys: Pick<KeyStore, 'sealIfKeyed' | 'bridgeSigningKey'>;
  /**
   * Pause before retrying an answer that failed for a passing reason (Temporal unreachable).
   * @default 2000
   */
  retryDelayMs?: number;
  /**
   * How long one answer may take to reach its operation before it is tried again.
   * @default 20000
   */
  applyTimeoutMs?: number;
  /**
   * Operations worked on at once; each applies its own answers one by one. Each agency holds at most its share.
   * @default 32
   */
  concurrency?: number;
  /**
   * Operations one agency may have applied at once, however idle the others are: what one agency can ask of
   * Temporal at a time, so that a flood from one leaves Temporal the capacity to take the others' answers.
   * @default 4
   */
  perAgencyConcurrency?: number;
  /**
   * How long repeats of one refusal are counted before the agency is told of them in one summary; 0 tells each.
   * @default 10000
   */
  floodWindowMs?: number;
  /**
   * How long an operation's first answer waits for the others of its round to join it in one update (one
   * workflow task instead of two); 0 applies each answer at once. A round's answers reach LOS_IN through each
   * agency's intake, one source each, so answers sent at once arrive up to tens of milliseconds apart.
   * @default DEFAULT_BRIDGE_BATCH_WINDOW_MS
   */
  batchWindowMs?: number;
  onApplied?: (answer: AgencyAnswer, receipt: AnswerReceipt) => void;
  onDeadLetter?: (reason: string, subject: string) => void;
  /** Every answer that was not applied, after the agency has been told. */
  onNotApplied?: (reason: NotAppliedReason, subject: string) => void;
}

export interface Bridge {
  /** Messages taken from LOS_IN and not yet settled. */
  held(): number;
  /** Messages taken from LOS_IN and not yet settled, per agency ("" for those whose subject names none). */
  heldByAgency(): Record<string, number>;
  stop(): Promise<void>;
}

export const DEAD_LETTER_REASON_HEADER = HEADERS.deadLetterReason;
export const ORIGINAL_SUBJECT_HEADER = HEADERS.originalSubject;
/** On a dead letter whose body was cut to DEAD_LETTER_BODY_BYTES: the original size in bytes. */
export const ORIGINAL_SIZE_HEADER = HEADERS.originalSize;

/** What can be read from a message even when it is rejected: enough to tell the agency which answer it was. */
interface Readable {
  agency?: AgencyId;
  answerId?: string;
  correlation?: Correlation;
}

type Verdict = { kind: 'apply'; answer: AgencyAnswer; operationId: string } | ({ kind: 'reject'; reason: string } & Readable);

/** The headers an answer must carry; both are checked. */
export interface AnswerHeaders {
  /** `Content-Type`: application/cloudevents+json. */
  contentType?: string;
  /** `Nats-Msg-Id`: the CloudEvent id, so that JetStream stores an answer sent twice once. */
  msgId?: string;
}

/**
 * The sequence the agency knows an answer by: the `seq` of its publish acknowledgement, which its intake gave
 * (LOS_IN_<AGENCY>; LOS_IN numbers its copy again). LOS_IN's own for a message that did not come through an intake.
 */
export function agencySequence(msg: Pick<JsMsg, 'seq' | 'headers'>): number {
  return streamSource(msg.headers)?.seq ?? msg.seq;
}

/** Pure: what the bridge will do with one inbound message. */
export function judgeInbound(subject: string, body: Uint8Array, headers: AnswerHeaders = {}): Verdict {
  const route = parseInboundSubject(subject);
  const agency = AgencyId.safeParse(route?.agency);
  // The subject is the identity (only that agency's NATS user can publish there), so a rejection still has an addressee.
  const who: Readable = agency.success ? { agency: agency.data } : {};
  if (body.byteLength > MAX_ANSWER_BYTES)
    return { kind: 'reject', reason: `body is ${body.byteLength} bytes, over the ${MAX_ANSWER_BYTES}-byte limit`, ...who };
  if (!route) return { kind: 'reject', reason: `subject ${subject} is not los.v1.from.<agency>.<event>` };
  if (!agency.success) return { kind: 'reject', reason: `subject agency "${route.agency}" is not a known agency` };
  const name = InboundEventName.safeParse(route.event);
  if (!name.success) return { kind: 'reject', reason: `subject event "${route.event}" is not an answer agencies can send`, ...who };

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch (err) {
    return { kind: 'reject', reason: `body is not JSON: ${(err as Error).message}`, ...who };
  }
  const envelope = CloudEvent.safeParse(json);
  if (!envelope.success) return { kind: 'reject', reason: `envelope: ${describeIssues(envelope.error, json)}`, ...who, ...readableId(json) };
  const read: Readable = { ...who, answerId: envelope.data.id, ...readableCorrelation(envelope.data.data) };
  if (envelope.data.source !== SOURCES.agency(agency.data)) {
    return { kind: 'reject', reason: `source "${envelope.data.source}" is not ${SOURCES.agency(agency.data)}, the agency of the subject`, ...read };
  }
  if (envelope.data.type !== eventType(name.data)) {
    return { kind: 'reject', reason: `type "${envelope.data.type}" is not ${eventType(name.data)}, the event of the subject`, ...read };
  }
  const data = InboundData[name.data].safeParse(envelope.data.data);
  if (!data.success) return { kind: 'reject', reason: `data: ${describeIssues(data.error, envelope.data.data)}`, ...read };
  const correlation = (data.data as { correlation: { operationId: string } }).correlation;
  if (correlation.operationId !== envelope.data.subject) {
    return {
      kind: 'reject',
      reason: `data.correlation.operationId "${correlation.operationId}" differs from the event subject "${envelope.data.subject}"`,
      ...read,
    };
  }
  if (headers.contentType !== CLOUDEVENT_CONTENT_TYPE)
    return { kind: 'reject', reason: `header Content-Type must be ${CLOUDEVENT_CONTENT_TYPE}, not ${JSON.stringify(headers.contentType ?? null)}`, ...read };
  if (headers.msgId !== envelope.data.id)
    return {
      kind: 'reject',
      reason: `header Nats-Msg-Id must be the CloudEvent id "${envelope.data.id}", not ${JSON.stringify(headers.msgId ?? null)}`,
      ...read,
    };
  return {
    kind: 'apply',
    operationId: envelope.data.subject,
    answer: { eventId: envelope.data.id, agency: agency.data, name: name.data, receivedAt: envelope.data.time, data: data.data } as AgencyAnswer,
  };
}

function readableId(json: unknown): Readable {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 300 ? { answerId: id } : {};
}

function readableCorrelation(data: unknown): Readable {
  const parsed = Correlation.safeParse((data as { correlation?: unknown } | null)?.correlation);
  return parsed.success ? { correlation: parsed.data } : {};
}

interface Held {
  msg: JsMsg;
  verdict: Verdict;
}

/** A failure Temporal or NATS may get over by itself: the answer is tried again, in its place. */
class PassingFailure extends Error {
  constructor(
    message: string,
    /** How soon to try again; an operation that is only a moment from ready is tried again at once. */
    readonly retryInMs?: number,
  ) {
    super(message);
  }
}

/** Remembers the last `size` keys; enough to settle a burst of repeats without asking Temporal each time. */
class Recent<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly size: number) {}
  get(key: string): V | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * What the bridge forwards: one operation's validated answers, each with its free text sealed (personal data
 * never reaches Temporal in plaintext), the whole signed once with the bridge's key (only what came in under an
 * agency's own NATS identity and passed through here is taken by the workflow).
 */
export async function forwardAnswers(keys: BridgeOptions['keys'], operationId: string, answers: AgencyAnswer[]): Promise<SignedAnswers<AgencyAnswer>> {
  const sealed = await Promise.all(answers.map((answer) => sealAnswer(keys, operationId, answer)));
  const signer = await keys.bridgeSigningKey();
  return { answers: sealed, signature: bytesToBase64Url(signer.sign(signedBatchBytes(sealed))) };
}

/** The answer with its free text sealed. */
async function sealAnswer(keys: BridgeOptions['keys'], operationId: string, answer: AgencyAnswer): Promise<AgencyAnswer> {
  const data: Record<string, unknown> = { ...answer.data };
  for (const field of ANSWER_FREE_TEXT[answer.name] as readonly string[]) {
    // An operation started without the typed client (the Temporal CLI or UI) has no data key: it holds its
    // tip in plaintext, and its answers go on as they are.
    if (typeof data[field] === 'string') data[field] = await keys.sealIfKeyed(operationId, data[field]);
  }
  return { ...answer, data } as AgencyAnswer;
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const js = jetstream(options.nc);
  const jsm = await waitOutElection(() => jetstreamManager(options.nc));
  const consumer = await waitOutElection(() => js.consumers.get(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer));
  const { config } = await consumer.info(true);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256, group: BRIDGE_GROUP });
  const retryDelayMs = options.retryDelayMs ?? 2_000;
  let stopping = false;

  // Answers already applied, and operations known to be unknown or ended: settled without a Temporal update.
  const applied = new Recent<true>(10_000);
  const settledOperations = new Recent<{ reason: 'unknown_operation' | 'operation_closed'; detail: string }>(10_000);

  const deadLetter = async (msg: JsMsg, reason: string, agency: string | undefined, operationId?: string) => {
    const h = natsHeaders();
    // The operation it is about, so that erasing the operation erases its dead letters too.
    if (operationId) h.set(HEADERS.operationId, operationId);
    h.set(DEAD_LETTER_REASON_HEADER, reason.replace(/[\r\n]+/g, ' ').slice(0, 4_000));
    h.set(ORIGINAL_SUBJECT_HEADER, msg.subject);
    if (msg.data.byteLength > DEAD_LETTER_BODY_BYTES) h.set(ORIGINAL_SIZE_HEADER, String(msg.data.byteLength));
    // Keyed by the inbound stream sequence, so a redelivered message is dead-lettered once.
    await js.publish(SUBJECTS.inboundDeadLetter(agency), msg.data.subarray(0, DEAD_LETTER_BODY_BYTES), {
      headers: h,
      msgID: deadLetterId(msg.info.stream, msg.seq),
    });
    options.onDeadLetter?.(reason, msg.subject);
  };

  const floods = new FloodWindows();
  const floodWindowMs = options.floodWindowMs ?? 10_000;
  const floodTimers = new Set<NodeJS.Timeout>();
  /** One answer_not_applied for the repeats counted in a flood window. */
  const tellSummary = async (summary: RefusalSummary) => {
    const data: OutboundDataOf<'answer_not_applied'> = OutboundData.answer_not_applied.parse({
      answerSubject: summary.lastSubject,
      streamSequence: summary.lastSequence,
      reason: summary.reason,
      detail:
        `${summary.count} more answer(s) not applied for the same reason (${summary.reason}) within ${floodWindowMs / 1000} s, ` +
        `stream sequences ${summary.firstSequence} to ${summary.lastSequence}; each is kept as a dead letter`,
      repeated: { count: summary.count, firstSequence: summary.firstSequence, lastSequence: summary.lastSequence },
    });
    await publishCloudEvent(js, SUBJECTS.toAgency(summary.agency, 'answer_not_applied'), {
      // The sequences are the agency's intake's: another agency's summary may count the same numbers.
      id: notAppliedEventId(SUBJECTS.agencyIntake(summary.agency), summary.lastSequence),
      source: SOURCES.engine,
      name: 'answer_not_applied',
      subject: 'unknown',
      time: new Date().toISOString(),
      data,
    });
  };
  const closeFloodWindow = async (agency: string) => {
    for (const summary of floods.close(agency)) {
      // A summary lost to a NATS outage leaves every answer it counted in the dead letters.
      await tellSummary(summary).catch(() => undefined);
    }
  };

  /** Tells the agency, on its own subject, that one of its answers was not applied and why. */
  const notApplied = async (msg: JsMsg, readable: Readable, reason: NotAppliedReason, detail: string) => {
    const judged =
      readable.agency && floodWindowMs > 0
        ? floods.judge(readable.agency, reason, readable.correlation?.operationId, agencySequence(msg), msg.subject)
        : undefined;
    if (judged?.opened) {
      const agency = readable.agency!;
      const timer = setTimeout(() => {
        floodTimers.delete(timer);
        void closeFloodWindow(agency);
      }, floodWindowMs);
      floodTimers.add(timer);
    }
    if (readable.agency && judged?.verdict !== 'count') {
      const data: OutboundDataOf<'answer_not_applied'> = OutboundData.answer_not_applied.parse({
        ...(readable.answerId ? { answerId: readable.answerId } : {}),
        answerSubject: msg.subject,
        streamSequence: agencySequence(msg),
        reason,
        detail: detail.slice(0, 4_000),
        ...(readable.correlation ? { correlation: readable.correlation } : {}),
      });
      await publishCloudEvent(js, SUBJECTS.toAgency(readable.agency, 'answer_not_applied'), {
        id: notAppliedEventId(msg.info.stream, msg.seq),
        source: SOURCES.engine,
        name: 'answer_not_applied',
        subject: readable.correlation?.operationId ?? 'unknown',
        time: new Date().toISOString(),
        data,
      });
    }
    options.onNotApplied?.(reason, msg.subject);
  };

  /**
   * Within the apply time limit: seals and signs each answer (the key store) and hands them over in one update.
   * The limit is an abort signal on the Temporal call, which cancels the call when it passes (the SDK then throws
   * WorkflowUpdateRPCTimeoutOrCancelledError), so no update is left running behind an answer tried again.
   */
  const withinTimeLimit = <R>(apply: (deadline: AbortSignal) => Promise<R>): Promise<R> => {
    const deadline = AbortSignal.timeout(options.applyTimeoutMs ?? 20_000);
    return options.client.withAbortSignal(deadline, () => apply(deadline));
  };
  const update = (operationId: string, answers: AgencyAnswer[]): Promise<AnswerReceipt[]> =>
    withinTimeLimit(async (deadline) => {
      const forwarded = await forwardAnswers(options.keys, operationId, answers);
      deadline.throwIfAborted();
      const updateId = answerBatchUpdateId(answers.map((answer) => answer.eventId));
      const receipts = await options.client.workflow.getHandle(operationId).executeUpdate(agencyAnswersUpdate, { args: [forwarded], updateId });
      // No receipts: every answer was applied.
      return receipts ?? answers.map((): AnswerReceipt => 'applied');
    });

  /** Why an operation takes no answers: it never existed, or it ended (and when). */
  const whyEnded = async (operationId: string): Promise<{ reason: 'unknown_operation' | 'operation_closed'; detail: string }> => {
    try {
      const described = await options.client.workflow.getHandle(operationId).describe();
      const closed = described.closeTime ? ` on ${described.closeTime.toISOString()}` : '';
      return { reason: 'operation_closed', detail: `operation "${operationId}" closed${closed}` };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { reason: 'unknown_operation', detail: `unknown operation "${operationId}"` };
      throw new PassingFailure((err as Error).message);
    }
  };

  const reject = async (msg: JsMsg, readable: Readable, reason: DeadLetteredReason, detail: string) => {
    await deadLetter(msg, detail, readable.agency, readable.correlation?.operationId);
    await notApplied(msg, readable, reason, detail);
  };

  /** Settles one message for good (applied, told, dead-lettered), or throws PassingFailure to be tried again. */
  const settle = async (msg: JsMsg, verdict: Verdict) => {
    if (verdict.kind === 'reject') return reject(msg, verdict, 'invalid', verdict.reason);
    const { answer, operationId } = verdict;
    const readable: Readable = { agency: answer.agency, answerId: answer.eventId, correlation: answer.data.correlation };
    if (applied.get(`${operationId}/${answer.eventId}`)) return;
    const known = settledOperations.get(operationId);
    if (known) return reject(msg, readable, known.reason, known.detail);
    let receipt: AnswerReceipt;
    try {
      // A batch of its own: the operation's refusal names this answer alone.
      receipt = (await update(operationId, [answer]))[0]!;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const type = err.cause.type;
        // The operation has not yet been handed the bridge's key (its first moments): try again, in place.
        if (type === FailureType.NotReady) throw new PassingFailure(err.cause.message, 100);
        if (type === FailureType.InvalidInput) return reject(msg, readable, 'invalid', err.cause.message);
        if (type !== FailureType.OperationEnded) return reject(msg, readable, 'no_matching_request', err.cause.message);
      } else if (err instanceof WorkflowNotFoundError && !isCompletedWorkflowError(err)) {
        // Never started (an update to an ended operation says "already completed"): nothing to describe, one call saved.
        const unknown = { reason: 'unknown_operation' as const, detail: `unknown operation "${operationId}"` };
        settledOperations.set(operationId, unknown);
        return reject(msg, readable, unknown.reason, unknown.detail);
      } else if (!(err instanceof WorkflowNotFoundError || isCompletedWorkflowError(err))) {
        throw new PassingFailure((err as Error).message);
      }
      const ended = await whyEnded(operationId);
      settledOperations.set(operationId, ended);
      return reject(msg, readable, ended.reason, ended.detail);
    }
    await afterApplied(msg, operationId, answer, receipt);
  };

  const afterApplied = async (msg: JsMsg, operationId: string, answer: AgencyAnswer, receipt: AnswerReceipt) => {
    const readable: Readable = { agency: answer.agency, answerId: answer.eventId, correlation: answer.data.correlation };
    applied.set(`${operationId}/${answer.eventId}`, true);
    options.onApplied?.(answer, receipt);
    if (receipt === 'conflicting') {
      await notApplied(msg, readable, 'conflicting', `${answer.name} conflicts with the first answer to ${answer.data.correlation.requestId}, which stands`);
    } else if (receipt === 'late') {
      await notApplied(msg, readable, 'late', `${answer.name} arrived after the deadline of ${answer.data.correlation.requestId}`);
    }
  };

  /**
   * Settles a batch of one operation's answers (what queued up while its previous one was applied) in one
   * update. 'one by one' when the operation refused the batch, or cannot be handed one: each answer then goes
   * its own way through `settle`, in a batch of its own, so each refusal reaches its own agency with its own reason.
   */
  const settleBatch = async (batch: Held[]): Promise<'settled' | 'one by one'> => {
    const operationId = (batch[0]!.verdict as Extract<Verdict, { kind: 'apply' }>).operationId;
    if (settledOperations.get(operationId)) return 'one by one';
    const fresh = batch.filter(({ verdict }) => verdict.kind === 'apply' && !applied.get(`${operationId}/${verdict.answer.eventId}`));
    if (fresh.length < 2) return 'one by one';
    const answers = fresh.map(({ verdict }) => (verdict as Extract<Verdict, { kind: 'apply' }>).answer);
    let receipts: AnswerReceipt[];
    try {
      receipts = await update(operationId, answers);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        if (err.cause.type === FailureType.NotReady) throw new PassingFailure(err.cause.message, 100);
        return 'one by one';
      }
      if (err instanceof WorkflowNotFoundError || isCompletedWorkflowError(err)) return 'one by one';
      throw new PassingFailure((err as Error).message);
    }
    for (const [i, { msg }] of fresh.entries()) await afterApplied(msg, operationId, answers[i]!, receipts[i]!);
    return 'settled';
  };

  /** Runs `attempt` until it settles, waiting between tries while the failure passes; undefined when stopping. */
  const untilSettled = async <R>(msgs: JsMsg[], attempt: () => Promise<R>): Promise<{ value: R } | undefined> => {
    for (;;) {
      try {
        return { value: await attempt() };
      } catch (err) {
        // Temporal or NATS is unreachable for now. The lane waits, and later answers of this operation wait behind it.
        if (stopping) return undefined;
        for (const msg of msgs) msg.working();
        await new Promise((resolveLater) => setTimeout(resolveLater, (err instanceof PassingFailure ? err.retryInMs : undefined) ?? retryDelayMs));
        if (stopping) return undefined;
      }
    }
  };

  /** A lane's front: settled and acknowledged, retried in place while the failure passes. Returns how many are done. */
  const work = async (batch: Held[]): Promise<number> => {
    if (batch.length > 1) {
      const tried = await untilSettled(
        batch.map(({ msg }) => msg),
        () => settleBatch(batch),
      );
      if (!tried) return 0;
      if (tried.value === 'settled') {
        for (const { msg } of batch) msg.ack();
        return batch.length;
      }
    }
    for (const [i, { msg, verdict }] of batch.entries()) {
      if (!(await untilSettled([msg], () => settle(msg, verdict)))) return i;
      msg.ack();
    }
    return batch.length;
  };

  const agencyOf = ({ verdict }: Held) => (verdict.kind === 'apply' ? verdict.answer.agency : (verdict.agency ?? ''));
  const concurrency = options.concurrency ?? 32;
  const lanes = new OperationLanes<Held>(
    concurrency,
    work,
    MAX_ANSWER_BATCH,
    options.batchWindowMs ?? DEFAULT_BRIDGE_BATCH_WINDOW_MS,
    agencyOf,
    options.perAgencyConcurrency ?? 4,
  );
  // Settled without a Temporal call, so in no operation's lane: a few NATS publishes each, in no particular order.
  const withoutTemporal = new OperationLanes<Held>(Math.max(4, concurrency / 4), work, 1, 0, agencyOf);
  const needsNoTemporal = ({ verdict }: Held) =>
    verdict.kind === 'reject' ||
    applied.get(`${verdict.operationId}/${verdict.answer.eventId}`) === true ||
    settledOperations.get(verdict.operationId) !== undefined;
  const toLane = (held: Held) => {
    if (needsNoTemporal(held)) withoutTemporal.push(`#${held.msg.seq}`, held);
    else lanes.push((held.verdict as Extract<Verdict, { kind: 'apply' }>).operationId, held);
  };
  const heldCount = () => lanes.size() + withoutTemporal.size();

  // Taking over. When this replica is pinned (at start, or after another one stopped or died), answers the
  // previous holder took but never settled are still out, and come back only as they time out, in no fixed
  // order. Until every unsettled answer is in this replica's hands, it holds what it gets; then it lanes them
  // all in stream order. From then on it holds everything unsettled itself, so the stored order is kept.
  let pinId: string | undefined;
  let catchingUp: Held[] | undefined = [];
  const catchUp = async () => {
    if (!catchingUp) return;
    const info = await consumer.info().catch(() => undefined);
    // Unsettled answers the server counts, against those this replica holds (waiting here or in its lanes).
    if (!catchingUp || !info || info.num_ack_pending > catchingUp.length + heldCount()) return;
    const inOrder = catchingUp.sort((a, b) => a.msg.seq - b.msg.seq);
    catchingUp = undefined;
    inOrder.forEach(toLane);
  };

  // Held answers wait behind their operation's head; telling the server they are in progress keeps them from
  // being redelivered (and so reordered) while they wait.
  const ackWaitMs = Number(config.ack_wait) / 1e6;
  const keepAlive = setInterval(
    () => {
      lanes.forEachHeld(({ msg }) => msg.working());
      withoutTemporal.forEachHeld(({ msg }) => msg.working());
      catchingUp?.forEach(({ msg }) => msg.working());
    },
    Math.max(250, ackWaitMs / 3),
  );
  const catchUpTimer = setInterval(() => void catchUp(), 250);

  const loop = (async () => {
    for await (const msg of messages) {
      const pinned = msg.headers?.get('Nats-Pin-Id') || undefined;
      if (pinned && pinned !== pinId) {
        pinId = pinned;
        catchingUp ??= [];
      }
      const held = {
        msg,
        verdict: judgeInbound(msg.subject, msg.data, { contentType: msg.headers?.get(HEADERS.contentType), msgId: msg.headers?.get(HEADERS.msgId) }),
      };
      // Rejections need no order: each is settled on its own, outside the operations' lanes.
      if (catchingUp) catchingUp.push(held);
      else toLane(held);
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    held: heldCount,
    heldByAgency: () => {
      const counts: Record<string, number> = {};
      for (const queue of [lanes, withoutTemporal]) for (const [agency, n] of queue.sizeByGroup()) counts[agency] = (counts[agency] ?? 0) + n;
      for (const held of catchingUp ?? []) counts[agencyOf(held)] = (counts[agencyOf(held)] ?? 0) + 1;
      return counts;
    },
    stop: () => (stopped ??= stop()),
  };

  async function stop() {
    messages.stop();
    await loop.catch(() => undefined);
    // In-flight heads finish; what is left goes back to the stream in order, for the next pinned replica.
    stopping = true;
    clearInterval(catchUpTimer);
    const left = [...(await lanes.stop()), ...(await withoutTemporal.stop()), ...(catchingUp ?? [])].sort((a, b) => a.msg.seq - b.msg.seq);
    for (const { msg } of left) msg.nak();
    clearInterval(keepAlive);
    for (const timer of floodTimers) clearTimeout(timer);
    floodTimers.clear();
    await Promise.all(floods.open().map(closeFloodWindow));
    // Hands the pin over at once instead of after the pin timeout.
    await jsm.consumers.unpin(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer, BRIDGE_GROUP).catch(() => undefined);
  }
}

function isCompletedWorkflowError(err: unknown): boolean {
  return err instanceof Error && /already completed|workflow execution already (?:completed|finished)/i.test(err.message);
}
