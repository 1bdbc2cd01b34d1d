import type { AgencyId } from './agencies.js';
import { sha256Of } from './digest.js';
import type { Correlation, InboundEventName, OutboundEventName } from './events.js';
import { REQUESTS, type RequestEventName } from './requests.js';
import { bytesToBase64Url } from './sealed.js';

/**
 * The id scheme: the dedupe contract with agencies, written once. The same logical event always gets the
 * same id, which is both its CloudEvent id and its Nats-Msg-Id, so a retried delivery is stored once and an
 * agency can recognise a redelivery. A request id is unique within its operation only; an event id is
 * unique everywhere because it starts with the operation id. The prefix of a request id is in REQUESTS.
 */

/** The correlation key an agency echoes in its answer: `<kind>-<round>-<agency>`, e.g. `mandate-1-polisen`. */
export function requestId(event: RequestEventName, round: number, agency: AgencyId): string {
  return `${REQUESTS[event].idPrefix}-${round}-${agency}`;
}

/** The events that open no request: each has its own key within the operation. */
export type NoticeKey =
  | { event: 'action_started'; round: number; agency: AgencyId }
  | { event: 'action_rescheduled'; round: number; revision: number; agency: AgencyId }
  | { event: 'action_called_off'; round: number; agency: AgencyId }
  | { event: 'second_wave_notice'; round: number; agency: AgencyId }
  | { event: 'operation_closed'; agency: AgencyId }
  | { event: 'operation_cancelled'; agency: AgencyId }
  | { event: 'tip_corrected'; number: number; agency: AgencyId }
  | { event: 'reminder'; requestId: string };

export function noticeKey(key: NoticeKey): string {
  switch (key.event) {
    case 'action_started':
      return `action-${key.round}-${key.agency}`;
    case 'action_rescheduled':
      return `action-${key.round}-r${key.revision}-${key.agency}`;
    case 'action_called_off':
      return `action-${key.round}-called-off-${key.agency}`;
    case 'second_wave_notice':
      return `second-wave-${key.round}-${key.agency}`;
    case 'operation_closed':
      return `closed-${key.agency}`;
    case 'operation_cancelled':
      return `cancelled-${key.agency}`;
    case 'tip_corrected':
      return `correction-${key.number}-${key.agency}`;
    case 'reminder':
      return `${key.requestId}.reminder`;
  }
}

/** The CloudEvent id and Nats-Msg-Id of an event to an agency. */
export function agencyEventId(operationId: string, key: string, event: OutboundEventName): string {
  return `${operationId}.${key}.${event}`;
}

/**
 * The CloudEvent id and Nats-Msg-Id of an agency's answer: the same answer sent twice (say, after a crash in the
 * agency system) is the same event, stored and applied once.
 */
export function answerEventId(agency: AgencyId, correlation: Correlation, event: InboundEventName): string {
  return `${agency}.${correlation.operationId}.${correlation.requestId}.${event}`;
}

/**
 * The Temporal update id of a batch of answers handed to an operation: the same batch handed over again (the
 * bridge trying once more after a time-out, or after a restart) is the same update, which Temporal applies once
 * and answers again with its first result. A digest of the answers' ids, 80 bits in base64url behind `a-`
 * (decisions' ids start `d-`): short, since the history writes an update's id four times.
 */
export function answerBatchUpdateId(answerEventIds: readonly string[]): string {
  return `a-${bytesToBase64Url(sha256Of(answerEventIds.join('\n')).subarray(0, 10))}`;
}

/**
 * A dead letter is keyed by where its original is stored (and, for a delivery that failed, by the reader it
 * failed for), so a message redelivered or advised twice is dead-lettered once.
 */
export function deadLetterId(stream: string, sequence: number, consumer?: string): string {
  return `dead-letter.${stream}.${sequence}${consumer === undefined ? '' : `.${consumer}`}`;
}

/** The `answer_not_applied` event for the answer stored at this sequence: one per answer, however often it is redelivered. */
export function notAppliedEventId(stream: string, sequence: number): string {
  return `not-applied.${stream}.${sequence}`;
}

/** The workflow that erases an operation's personal data after its retention: one per operation. */
export function erasureWorkflowId(operationId: string): string {
  return `${operationId}.erasure`;
}

/**
 * The Temporal Schedule that runs the erasure reconciliation for the operations of one task queue: one per
 * deployment (the tests' engines, each on a task queue of its own, have one each).
 */
export function erasureReconciliationScheduleId(taskQueue: string): string {
  return `${taskQueue}.erasure-reconciliation`;
}

/** A missed deadline is reported once per joint action (a re-inspection can miss the same deadline again). */
export function steeringEventId(operationId: string, deadline: string, actionRound: number): string {
  return `${operationId}.${deadline}-${actionRound}.deadline_missed`;
}

export function coordinatorEventId(operationId: string, decision: string): string {
  return `${operationId}.${decision}.decision_due`;
}
