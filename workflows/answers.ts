import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { matchAnswer, parseAgencyAnswer, verifyAnswerBatch, type AgencyAnswer } from '../domain/index.js';
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
  // An accepted answer is applied at once (domain/operation-transitions.ts, takeAnswer) and needs no stage.
  const apply = (answer: AgencyAnswer): AnswerReceipt => op.takeAnswer(answer);

  /** What the validator checks of one answer once its batch's signature holds. */
  const admit = (answer: AgencyAnswer, seen: (eventId: string) => boolean): AgencyAnswer | undefined => {
    if (seen(answer.eventId)) return undefined;
    // Its own failure type, so the bridge can tell the agency "operation closed" rather than "no such request".
    if (op.memory.stage === 'ended')
      throw ApplicationFailure.nonRetryable(`answer rejected: the operation is already ${op.memory.phase}`, FailureType.OperationEnded);
    const found = matchAnswer(answer, op.requests());
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

  setHandler(
    agencyAnswersUpdate,
    (raw) => {
      const receipts = raw.answers.map((one) => apply(parseOrReject(one)));
      return receipts.every((receipt) => receipt === 'applied') ? undefined : receipts;
    },
    {
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
            const answer = admit(parseOrReject(one), (eventId) => op.memory.seenAnswerIds.includes(eventId) || taken.has(eventId));
            if (answer) taken.add(answer.eventId);
          } catch (err) {
            // A batch of one is one agency's answer: its reason goes back to that agency as it is.
            if (signed.answers.length === 1) throw err;
            const failure = err as ApplicationFailure;
            throw ApplicationFailure.nonRetryable(`answer ${i + 1} of ${signed.answers.length}: ${failure.message}`, failure.type);
          }
        });
      },
    },
  );
}
