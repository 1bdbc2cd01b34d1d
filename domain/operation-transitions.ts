import type { AgencyId } from './agencies.js';
import { applyAnswerToRecord } from './agency-record.js';
import { rememberNonce, type DecidedBy, type SeenNonce } from './authorship.js';
import { describeConflict, firstAnswer, matchAnswer, recordConflict, type RequestBook } from './answers.js';
import type { CatalogueSnapshot } from './catalogue.js';
import type { CorrectionNotice } from './corrections.js';
import type { RescheduleAction } from './decisions.js';
import type { AgencyAnswer, HeldActionPlan } from './events.js';
import {
  MoveRefused,
  advanceStage,
  agencyRecord,
  closeRequest,
  endOperation,
  expireRequests,
  recordIntent,
  movePhase,
  participantsOf,
  recordOnTimeline,
  updateAgencies,
  withAgency,
  withConflictLog,
  type OperationMemory,
} from './operation-memory.js';
import { secondWaveRecipients, settleRound } from './rounds.js';
import type { Sealed } from './sealed.js';
import type { StageEvent } from './stages.js';
import { quorumMet } from './state.js';
import type { CorrectableTipField, Tip } from './tip.js';

/**
 * The operation's lifecycle as pure transitions: memory in, new memory out (with what the caller needs to send
 * its fan-out). Each is what one stage does when it acts, in the order it did it; the workflow's `Operation`
 * applies them, and the stages send the events. Time comes in as an argument (epoch milliseconds).
 */

type With<T> = { memory: OperationMemory } & T;

// --- assessment and mandate matching ----------------------------------------------------------------------

/** Asking for information leaves the assessment owed, under the same deadline. */
export function requestInformation(m: OperationMemory, targets: readonly AgencyId[]): With<{ round: number }> {
  const round = m.rounds.information + 1;
  return { memory: updateAgencies({ ...m, rounds: { ...m.rounds, information: round } }, targets, (a) => a), round };
}

function requestMandates(m: OperationMemory, targets: readonly AgencyId[], event: StageEvent, now: number, dueMs: number): With<{ round: number }> {
  const round = m.rounds.mandate + 1;
  const asked = advanceStage({ ...m, rounds: { ...m.rounds, mandate: round } }, event, now, { what: 'mandate_answers', dueMs });
  return { memory: updateAgencies(asked, targets, (a) => ({ ...a, mandate: 'requested' })), round };
}

/** The coordinator proceeds: the candidates from the catalogue are asked for their mandates. */
export function proceedToMandates(m: OperationMemory, candidates: readonly AgencyId[], now: number, mandateDueMs: number): With<{ round: number }> {
  const proceeding = movePhase({ ...m, overdue: false }, 'assessed_proceed', now);
  const recorded = recordOnTimeline(proceeding, now, 'decision', `candidates from the mandate catalogue: ${candidates.join(', ')}`);
  return requestMandates(recorded, candidates, 'assessed_proceed', now, mandateDueMs);
}

/** Too few accepted: the coordinator asks named agencies again. */
export function requestMandatesAgain(m: OperationMemory, targets: readonly AgencyId[], now: number, mandateDueMs: number): With<{ round: number }> {
  return requestMandates(m, targets, 'asked_again', now, mandateDueMs);
}

/** The mandate answers are in (or their deadline closed them): on to scheduling, or to the coordinator's call. */
export function mandatesIn(m: OperationMemory, quorum: number, now: number): OperationMemory {
  if (quorumMet(m.agencies, quorum)) return advanceStage(movePhase(m, 'quorum_met', now), 'quorum_reached', now);
  const short = recordOnTimeline(m, now, 'deadline', `quorum not met: ${participantsOf(m).length} of ${quorum} agencies accepted`);
  return advanceStage(short, 'quorum_missed', now);
}

export function overrideQuorum(m: OperationMemory, now: number): OperationMemory {
  return advanceStage(movePhase(m, 'quorum_overridden', now), 'quorum_reached', now);
}

/** Dismissed at assessment or at the quorum decision: the operation ends, with the reason. */
export function dismissOperation(m: OperationMemory, event: 'assessed_dismiss' | 'quorum_dismiss', now: number, reason: string | Sealed): OperationMemory {
  return endOperation({ ...m, overdue: false }, event, 'dismissed', now, reason);
}

// --- the joint action -------------------------------------------------------------------------------------

/** The action is planned: participants are to be briefed and confirm readiness against it, so no reminder. */
export function scheduleAction(m: OperationMemory, plan: HeldActionPlan, now: number): With<{ team: AgencyId[]; round: number }> {
  const team = participantsOf(m);
  const scheduled = advanceStage({ ...m, action: { plan, revision: 0 } }, 'action_scheduled', now, {
    what: 'action_start',
    dueMs: Date.parse(plan.at),
    reminded: true,
  });
  return { memory: updateAgencies(scheduled, team, (a) => ({ ...a, ready: false })), team, round: m.rounds.action };
}

/** Called off before it started: readiness no longer owed, and the next action is a new one, scheduled anew. */
export function callOffAction(m: OperationMemory, now: number): OperationMemory {
  const { memory } = expireRequests(m, 'readiness', now);
  // A reschedule admitted before the call-off moved the action that is now off: kept, it would move the next one.
  const intents = memory.intents.filter((i) => i.kind !== 'reschedule');
  return advanceStage({ ...memory, intents, action: undefined, rounds: { ...memory.rounds, action: memory.rounds.action + 1 } }, 'action_called_off', now);
}

/** Moved before it started: a new revision of the plan, its start deadline anew, readiness owed by the new time. */
export function rescheduleAction(m: OperationMemory, change: Pick<RescheduleAction, 'at' | 'place'>, now: number): OperationMemory {
  const action = m.action;
  if (!action) throw new MoveRefused('stage', 'a reschedule needs a scheduled action');
  const plan: HeldActionPlan = { ...action.plan, at: new Date(change.at).toISOString(), ...(change.place ? { place: change.place } : {}) };
  const moved = advanceStage({ ...m, action: { plan, revision: action.revision + 1 } }, 'action_rescheduled', now, {
    what: 'action_start',
    dueMs: Date.parse(plan.at),
    reminded: true,
  });
  return { ...moved, pending: moved.pending.map((p) => (p.awaiting === 'readiness' ? { ...p, dueAt: plan.at } : p)) };
}

/** The action starts on time: readiness not confirmed by now is missing, and participants owe their findings. */
export function startAction(m: OperationMemory, now: number, findingsDueMs: number): With<{ team: AgencyId[]; round: number }> {
  const team = participantsOf(m);
  const round = m.rounds.action;
  const { memory } = expireRequests(m, 'readiness', now);
  const started = advanceStage(recordOnTimeline(memory, now, 'decision', `joint action #${round} started`), 'action_started', now, {
    what: 'findings',
    dueMs: findingsDueMs,
  });
  return { memory: updateAgencies(started, team, (a) => ({ ...a, findings: 'requested' })), team, round };
}

export function findingsIn(m: OperationMemory, now: number, followUpDueMs: number): OperationMemory {
  const complete = movePhase(m, 'findings_complete', now);
  // The follow-up period has no reminder: it is a wait, not something owed.
  return advanceStage({ ...complete, overdue: false }, 'findings_in', now, { what: 'follow_up', dueMs: followUpDueMs, reminded: true });
}

// --- follow-up --------------------------------------------------------------------------------------------

/**
 * The follow-up is due: participants owe their outcomes, and the second wave reaches the catalogue's agencies
 * that were not on site and have not heard yet (need to know: they get the minimum data only).
 */
export function followUpDue(
  m: OperationMemory,
  catalogue: CatalogueSnapshot,
  now: number,
  outcomesDueMs: number,
): With<{ team: AgencyId[]; round: number; secondWave: AgencyId[] }> {
  const team = participantsOf(m);
  const due = advanceStage(m, 'follow_up_due', now, { what: 'outcomes', dueMs: outcomesDueMs });
  const asked = updateAgencies(due, team, (a) => ({ ...a, outcomes: 'requested' }));
  const secondWave = secondWaveRecipients(catalogue, team, m.secondWave);
  return { memory: { ...asked, secondWave: [...asked.secondWave, ...secondWave] }, team, round: m.rounds.action, secondWave };
}

export function outcomesIn(m: OperationMemory, now: number): OperationMemory {
  return advanceStage({ ...m, overdue: false }, 'outcomes_in', now);
}

/** A re-inspection is a new joint action; this one's results are settled first. */
export function orderReinspection(m: OperationMemory, now: number): OperationMemory {
  const settled = { ...m, agencies: m.agencies.map(settleRound), action: undefined, rounds: { ...m.rounds, action: m.rounds.action + 1 } };
  return advanceStage(movePhase(settled, 'reinspection_ordered', now), 'reinspection_ordered', now);
}

export function closeOperation(m: OperationMemory, summary: string | Sealed, now: number): OperationMemory {
  return endOperation({ ...m, coordinatorSummary: summary }, 'closed', 'closed', now, summary);
}

/** Possible at every working stage. */
export function cancelOperation(m: OperationMemory, reason: string | Sealed, now: number): OperationMemory {
  return endOperation(m, 'cancelled', 'cancelled', now, reason);
}

// --- deadlines --------------------------------------------------------------------------------------------

/** The stage's deadline passed with something still owed: the operation is overdue until it arrives. */
export function escalate(m: OperationMemory): OperationMemory {
  return { ...m, overdue: true };
}

/** The reminder is sent; a continued run does not send it again. */
export function deadlineReminded(m: OperationMemory): OperationMemory {
  return m.deadline ? { ...m, deadline: { ...m.deadline, reminded: true } } : m;
}

/**
 * The reminder's time came only after the deadline itself (the workflow's task ran late: a worker away, a backlog).
 * Reminders go out before the deadline (LOS.md), so none goes out; the record says so, and the reminder counts as
 * done, so a continued run does not send it either. The escalation follows at once.
 */
export function reminderOvertaken(m: OperationMemory, label: string, now: number): OperationMemory {
  return recordOnTimeline(deadlineReminded(m), now, 'deadline', `${label} reminder not sent: the deadline had already passed`);
}

/** True when a reminder now would come at or after the deadline it reminds of. */
export function reminderTooLate(m: OperationMemory, now: number): boolean {
  return m.deadline !== undefined && now >= Date.parse(m.deadline.dueAt);
}

/** The deadline passed, on the record; a continued run does not act on it again. */
export function deadlineMissed(m: OperationMemory, label: string, now: number): OperationMemory {
  const missed = m.deadline ? { ...m, deadline: { ...m.deadline, missed: true } } : m;
  return recordOnTimeline(missed, now, 'deadline', `${label} deadline passed`);
}

// --- what arrives between stages --------------------------------------------------------------------------

/** What became of an agency's answer. */
export type AnswerOutcome = 'applied' | 'late' | 'conflicting' | 'duplicate' | 'ignored';

/** The requests an answer is matched against. */
export function requestBook(m: OperationMemory, operationId: string): RequestBook {
  return {
    operationId,
    open: new Map(m.pending.map((p) => [p.requestId, p])),
    closed: new Map(m.closedRequests.map((p) => [p.requestId, p])),
    seen: new Set(m.seenAnswerIds),
  };
}

/**
 * An agency's answer, taken once: applied to the open request it echoes, or kept on the record as late or
 * conflicting (the first answer stands), or recognised as a duplicate (at-least-once underneath).
 */
export function takeAnswer(m: OperationMemory, answer: AgencyAnswer, operationId: string, now: number): With<{ outcome: AnswerOutcome }> {
  const found = matchAnswer(answer, requestBook(m, operationId));
  if (found.kind === 'duplicate') return { memory: m, outcome: 'duplicate' };
  const seen = { ...m, seenAnswerIds: [...m.seenAnswerIds, answer.eventId] };
  switch (found.kind) {
    case 'unmatched':
      // The validator rejects these; only a caller that skips validation gets here.
      return { memory: recordOnTimeline(seen, now, 'answer_ignored', `${answer.name}: ${found.reason}`, answer.agency), outcome: 'ignored' };
    case 'conflicting': {
      // The first answer stored stands; a different one is kept on the record (bounded) and never applied.
      const { log, kept } = recordConflict(
        m.conflicts.find((c) => c.requestId === found.request.requestId),
        answer,
      );
      const logged = withConflictLog(seen, log);
      const text = describeConflict(answer, found.first, log, kept);
      return { memory: text ? recordOnTimeline(logged, now, 'conflicting_answer', text, answer.agency) : logged, outcome: 'conflicting' };
    }
    case 'late':
      // A late answer is on the record but does not reopen the stage.
      return { memory: recordOnTimeline(seen, now, 'late_answer', `${answer.name} after the deadline`, answer.agency), outcome: 'late' };
    case 'open': {
      const closed = closeRequest(seen, found.request, firstAnswer(answer));
      const applied = applyAnswerToRecord(agencyRecord(closed, answer.agency), answer);
      return { memory: recordOnTimeline(withAgency(closed, applied.record), now, 'answer', applied.text, answer.agency), outcome: 'applied' };
    }
  }
}

/** A corrected tip, on the record and as intent: the main loop tells the agencies that hold the changed data. */
export function correctTip(
  m: OperationMemory,
  before: Tip,
  corrected: Tip,
  changed: readonly CorrectableTipField[],
  notices: CorrectionNotice[],
  now: number,
  by?: DecidedBy,
): With<{ number: number }> {
  const number = m.corrections + 1;
  const told = notices.map((n) => n.agency);
  const urgency = before.urgency !== corrected.urgency ? ` (urgency ${before.urgency} → ${corrected.urgency})` : '';
  const text = `tip corrected: ${changed.join(', ')}${urgency}; ${told.length > 0 ? `told ${told.join(', ')}` : 'no agency holds the changed data'}`;
  return {
    memory: recordIntent(recordOnTimeline({ ...m, corrections: number }, now, 'decision', text, undefined, by), { kind: 'correction', number, notices }),
    number,
  };
}

// --- the fan-out and the run ------------------------------------------------------------------------------

/** The ended operation's last fan-out arranged the erasure of its personal data. */
export function erasureArranged(m: OperationMemory, retention: string, now: number): OperationMemory {
  return recordOnTimeline({ ...m, erasureArranged: true }, now, 'decision', `personal data to be erased after ${retention}`);
}

/**
 * The engine's public keys, read from its key store by a local activity (the trusted path, never what a client
 * sends): the API's, for decisions, and the bridge's, for answers.
 */
export function engineKeysLearned(m: OperationMemory, keys: { bridgeKey: string; apiKey: string }): OperationMemory {
  return { ...m, bridgeKey: keys.bridgeKey, apiKey: keys.apiKey };
}

/** A signed decision was taken: its nonce is kept while a replay of it could still pass the freshness check. */
export function decisionNonceTaken(m: OperationMemory, taken: SeenNonce, now: number): OperationMemory {
  return { ...m, decisionNonces: rememberNonce(m.decisionNonces, taken, now) };
}

/** A continued run says where it resumes. */
export function resumed(m: OperationMemory, now: number): OperationMemory {
  return recordOnTimeline(m, now, 'continued', `continued as new (run ${m.continuedAsNew + 1}); resuming at ${m.stage}`);
}

/** What a run hands the next one at continue-as-new. */
export function carriedOver(m: OperationMemory): OperationMemory {
  return { ...m, continuedAsNew: m.continuedAsNew + 1 };
}
