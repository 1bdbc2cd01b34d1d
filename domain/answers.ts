import type { AgencyAnswer, InboundEventName } from './events.js';
import { sha256Hex } from './digest.js';
import { canonicalJson, inline, isSealed } from './sealed.js';
import { ANSWER_TO, REQUESTS } from './requests.js';
import type { PendingRequest } from './state.js';

/** What an incoming answer is, measured against the operation's requests. */
export type AnswerMatch =
  | { kind: 'duplicate' }
  | { kind: 'open'; request: PendingRequest }
  | { kind: 'late'; request: PendingRequest }
  | { kind: 'conflicting'; request: PendingRequest; first: FirstAnswer }
  | { kind: 'unmatched'; reason: string };

/** The answer that closed a request: the first one stored wins, and later ones are compared with it. */
export interface FirstAnswer {
  eventId: string;
  name: InboundEventName;
  /** SHA-256 of the answer's kind and data, so a resend under a new id is recognised without keeping a copy. */
  digest: string;
}

/** A request closed by an answer carries that answer; one closed by its deadline carries none. */
export type ClosedRequest = PendingRequest & { answeredBy?: FirstAnswer };

export interface RequestBook {
  operationId: string;
  /** Requests still waiting for their answer, by request ID. */
  open: ReadonlyMap<string, PendingRequest>;
  /** Requests answered or expired, by request ID. */
  closed: ReadonlyMap<string, ClosedRequest>;
  /** CloudEvent ids of answers already taken. */
  seen: ReadonlySet<string>;
}

export function firstAnswer(answer: AgencyAnswer): FirstAnswer {
  return { eventId: answer.eventId, name: answer.name, digest: sha256Hex(canonicalJson([answer.name, answer.data])) };
}

/**
 * An answer counts only for the request it echoes, from the agency that was asked, and of the kind that
 * request waits for; an agency can never answer for another or for a request it did not get. The first answer
 * stored closes the request: the same answer again (even under a new id) is a duplicate, a different one is a
 * conflict, and only an answer to a request whose deadline closed it is late.
 */
export function matchAnswer(answer: AgencyAnswer, book: RequestBook): AnswerMatch {
  if (book.seen.has(answer.eventId)) return { kind: 'duplicate' };
  const { requestId, operationId } = answer.data.correlation;
  if (operationId !== book.operationId) return { kind: 'unmatched', reason: `correlation.operationId "${operationId}" is another operation` };
  const expected = REQUESTS[ANSWER_TO[answer.name]].awaiting;
  const fits = <R extends PendingRequest>(request: R | undefined): request is R =>
    request !== undefined && request.agency === answer.agency && request.awaiting === expected;
  const open = book.open.get(requestId);
  if (fits(open)) return { kind: 'open', request: open };
  const closed = book.closed.get(requestId);
  if (fits(closed)) {
    const first = closed.answeredBy;
    if (!first) return { kind: 'late', request: closed };
    if (first.digest === firstAnswer(answer).digest) return { kind: 'duplicate' };
    return { kind: 'conflicting', request: closed, first };
  }
  return { kind: 'unmatched', reason: `correlation.requestId "${requestId}" matches no request to ${answer.agency} awaiting ${answer.name}` };
}

/** Conflicting answers kept in full per request; beyond this they are only counted. */
export const CONFLICTS_KEPT_PER_REQUEST = 3;

/** The conflicting answers to one request: the first few in full, the rest counted. */
export interface ConflictLog {
  requestId: string;
  agency: AgencyAnswer['agency'];
  kept: Pick<AgencyAnswer, 'eventId' | 'name' | 'receivedAt' | 'data'>[];
  /** Conflicting answers beyond the kept ones, whose content is not kept. */
  uncounted: number;
}

/**
 * Puts a conflicting answer on the record: its content is kept while the request has fewer than `limit`
 * conflicts, then only counted, so an agency that keeps sending cannot grow the operation without bound.
 */
export function recordConflict(log: ConflictLog | undefined, answer: AgencyAnswer, limit = CONFLICTS_KEPT_PER_REQUEST): { log: ConflictLog; kept: boolean } {
  const current: ConflictLog = log ?? { requestId: answer.data.correlation.requestId, agency: answer.agency, kept: [], uncounted: 0 };
  if (current.kept.length < limit) {
    const entry = { eventId: answer.eventId, name: answer.name, receivedAt: answer.receivedAt, data: answer.data };
    return { log: { ...current, kept: [...current.kept, entry] }, kept: true };
  }
  return { log: { ...current, uncounted: current.uncounted + 1 }, kept: false };
}

/**
 * The timeline line for a conflicting answer: what was said, that it was not applied, and what stands. Past
 * the kept ones only the first overflow gets a line, so a flood of answers cannot flood the timeline.
 */
export function describeConflict(answer: AgencyAnswer, first: FirstAnswer, log: ConflictLog, kept: boolean): string | undefined {
  const head = `${answer.name} not applied: it conflicts with the first answer (${first.name}), which stands`;
  if (!kept) return log.uncounted === 1 ? `${head}; further conflicting answers to this request are counted, their content not kept` : undefined;
  const { correlation: _correlation, ...said } = answer.data as Record<string, unknown>;
  // Sealed free text stays sealed on the timeline, as an inline token only the entitled can read.
  return `${head}; it said ${JSON.stringify(said, (_key, value: unknown) => (isSealed(value) ? inline(value) : value)).slice(0, 2_000)}`;
}
