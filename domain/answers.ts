import { ANSWER_TO, type AgencyAnswer } from './events.js';
import { AWAITING_BY_REQUEST } from './stages.js';
import type { PendingRequest } from './state.js';

/** What an incoming answer is, measured against the operation's requests. */
export type AnswerMatch =
  | { kind: 'duplicate' }
  | { kind: 'open'; request: PendingRequest }
  | { kind: 'late'; request: PendingRequest }
  | { kind: 'unmatched'; reason: string };

export interface RequestBook {
  operationId: string;
  /** Requests still waiting for their answer, by request ID. */
  open: ReadonlyMap<string, PendingRequest>;
  /** Requests answered or expired, by request ID. */
  closed: ReadonlyMap<string, PendingRequest>;
  /** CloudEvent ids of answers already taken. */
  seen: ReadonlySet<string>;
}

/**
 * An answer counts only for the request it echoes, from the agency that was asked, and of the kind that
 * request waits for; an agency can never answer for another or for a request it did not get.
 */
export function matchAnswer(answer: AgencyAnswer, book: RequestBook): AnswerMatch {
  if (book.seen.has(answer.eventId)) return { kind: 'duplicate' };
  const { requestId, operationId } = answer.data.correlation;
  if (operationId !== book.operationId) return { kind: 'unmatched', reason: `correlation.operationId "${operationId}" is another operation` };
  const expected = AWAITING_BY_REQUEST[ANSWER_TO[answer.name]];
  const fits = (request: PendingRequest | undefined): request is PendingRequest =>
    request !== undefined && request.agency === answer.agency && request.awaiting === expected;
  const open = book.open.get(requestId);
  if (fits(open)) return { kind: 'open', request: open };
  const closed = book.closed.get(requestId);
  if (fits(closed)) return { kind: 'late', request: closed };
  return { kind: 'unmatched', reason: `correlation.requestId "${requestId}" matches no request to ${answer.agency} awaiting ${answer.name}` };
}
