import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import {
  applyAnswerToRecord,
  describeConflict,
  firstAnswer,
  matchAnswer,
  parseAgencyAnswer,
  recordConflict,
  verifyAnswerBatch,
  type AgencyAnswer,
} from '../domain/index.js';
import { agencyAnswersUpdate, MAX_ANSWER_BATCH, type AnswerReceipt } from './definitions.js';
import { FailureType } from './failures.js';
import type { Operation } from './operation-state.js';

function parseOrReject(raw: unknown): AgencyAnswer {
  const parsed = parseAgencyAnswer(raw);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, FailureType.InvalidInput);
  return parsed.value;
}

/**
 * Agency answers, handed over by the bridge. The validator refuses what the operation cannot take, so the
 * bridge dead-letters it with the reason; an accepted answer is applied at once and needs no stage.
 */
export function handleAnswers(op: Operation): void {
  const match = (answer: AgencyAnswer) =>
    matchAnswer(answer, { operationId: op.operationId, open: op.pending, closed: op.closedRequests, seen: op.seenAnswerIds });

  const apply = (answer: AgencyAnswer): AnswerReceipt => {
    const found = match(answer);
    if (found.kind === 'duplicate') return 'duplicate'; // at-least-once underneath; applied once here
    op.seenAnswerIds.add(answer.eventId);
    if (found.kind === 'unmatched') {
      // The validator rejects these; only a caller that skips validation gets here.
      op.record('answer_ignored', `${answer.name}: ${found.reason}`, answer.agency);
      return 'ignored';
    }
    if (found.kind === 'conflicting') {
      // The first answer stored stands; a different one is kept on the record (bounded) and never applied.
      const { log, kept } = recordConflict(op.conflicts.get(found.request.requestId), answer);
      op.conflicts.set(log.requestId, log);
      const text = describeConflict(answer, found.first, log, kept);
      if (text) op.record('conflicting_answer', text, answer.agency);
      return 'conflicting';
    }
    if (found.kind === 'late') {
      // A late answer is on the record but does not reopen the stage.
      op.record('late_answer', `${answer.name} after the deadline`, answer.agency);
      return 'late';
    }
    op.closeRequest(found.request, firstAnswer(answer));
    const { record, text } = applyAnswerToRecord(op.agency(answer.agency), answer);
    op.update(record);
    op.record('answer', text, answer.agency);
    op.publishStatus();
    return 'applied';
  };

  /** What the validator checks of one answer once its batch's signature holds. */
  const admit = (answer: AgencyAnswer, seen: (eventId: string) => boolean): AgencyAnswer | undefined => {
    if (seen(answer.eventId)) return undefined;
    // Its own failure type, so the bridge can tell the agency "operation closed" rather than "no such request".
    if (op.memory.stage === 'ended')
      throw ApplicationFailure.nonRetryable(`answer rejected: the operation is already ${op.memory.phase}`, FailureType.OperationEnded);
    const found = match(answer);
    if (found.kind === 'unmatched') throw ApplicationFailure.nonRetryable(`answer rejected: ${found.reason}`, FailureType.NotAllowedNow);
    return answer;
  };

  // A Temporal client is not an agency: only the bridge, which read the answer under the agency's own NATS
  // identity, can sign it. Until the first fan-out has brought the bridge's key, no agency can have answered.
  const bridgeKey = (): string => {
    const key = op.memory.bridgeKey;
    if (key === undefined)
      throw ApplicationFailure.nonRetryable("answer not taken yet: the operation does not hold the bridge's key yet", FailureType.NotReady);
    return key;
  };

  setHandler(agencyAnswersUpdate, (raw) => raw.answers.map((one) => apply(parseOrReject(one))), {
    validator: (raw) => {
      const signed = verifyAnswerBatch(raw, bridgeKey());
      if (!signed.ok) throw ApplicationFailure.nonRetryable(`answers rejected: ${signed.reason}`, FailureType.Unsigned);
      if (signed.answers.length === 0 || signed.answers.length > MAX_ANSWER_BATCH) {
        throw ApplicationFailure.nonRetryable(
          `answers rejected: expected 1 to ${MAX_ANSWER_BATCH} answers, got ${signed.answers.length}`,
          FailureType.InvalidInput,
        );
      }
      const taken = new Set<string>();
      signed.answers.forEach((one, i) => {
        try {
          const answer = admit(parseOrReject(one), (eventId) => op.seenAnswerIds.has(eventId) || taken.has(eventId));
          if (answer) taken.add(answer.eventId);
        } catch (err) {
          // A batch of one is one agency's answer: its reason goes back to that agency as it is.
          if (signed.answers.length === 1) throw err;
          const failure = err as ApplicationFailure;
          throw ApplicationFailure.nonRetryable(`answer ${i + 1} of ${signed.answers.length}: ${failure.message}`, failure.type);
        }
      });
    },
  });
}
