import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import {
  AmendTip,
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  CloseOperation,
  OrderReinspection,
  QuorumDecision,
  RescheduleAction,
  ScheduleAction,
  admissible,
  correctionNotices,
  describeIssues,
  inline,
  type Sealed,
  tipCorrections,
  type Refusal,
} from '../domain/index.js';
import {
  amendTipUpdate,
  assessUpdate,
  callOffUpdate,
  cancelUpdate,
  closeUpdate,
  decideQuorumUpdate,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
  type CorrectionReceipt,
} from './definitions.js';
import { FailureType } from './failures.js';
import type { Operation } from './operation-state.js';

/** Validators must be synchronous and throw ApplicationFailure, so the update is rejected, not the task. */
function parseOrReject<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw ApplicationFailure.nonRetryable(`${what} rejected: ${describeIssues(result.error, input)}`, FailureType.InvalidInput);
  return result.data;
}

function refuse(refusal: Refusal): void {
  if (refusal !== undefined) throw ApplicationFailure.nonRetryable(refusal, FailureType.NotAllowedNow);
}

/**
 * The coordinator's decisions. Each validator parses with the decision's schema and asks the admissibility
 * rule; each handler only records the decision on the timeline and as intent. The stage that owns the
 * decision acts on it, so every effect (a notification, a phase move) happens in one place, in order.
 */
export function handleDecisions(op: Operation): void {
  // Free text is sealed: the timeline holds it as an inline sealed token, readable only by the entitled.
  const reasonOf = (decision: { decision: string; reason?: string | Sealed }) =>
    decision.decision === 'dismiss' && decision.reason !== undefined ? ` (${inline(decision.reason)})` : '';

  setHandler(
    assessUpdate,
    (raw) => {
      const decision = parseOrReject(AssessmentDecision, raw, 'assessment');
      op.record('decision', `assessment: ${decision.decision}${reasonOf(decision)}`);
      op.intend({ kind: 'assessment', decision });
      return op.receipt();
    },
    { validator: (raw) => refuse(admissible.assessment(parseOrReject(AssessmentDecision, raw, 'assessment'), op.decisionContext())) },
  );

  setHandler(
    decideQuorumUpdate,
    (raw) => {
      const decision = parseOrReject(QuorumDecision, raw, 'quorum decision');
      op.record('decision', `quorum: ${decision.decision}${reasonOf(decision)}`);
      op.intend({ kind: 'quorum decision', decision });
      return op.receipt();
    },
    { validator: (raw) => refuse(admissible.quorum(parseOrReject(QuorumDecision, raw, 'quorum decision'), op.decisionContext())) },
  );

  setHandler(
    scheduleUpdate,
    (raw) => {
      const plan = parseOrReject(ScheduleAction, raw, 'schedule');
      const at = new Date(plan.at).toISOString();
      op.record('decision', `joint action #${op.memory.rounds.action} scheduled for ${at}, led by ${plan.lead}`);
      op.intend({ kind: 'schedule', plan: { at, place: plan.place, lead: plan.lead } });
      return op.receipt();
    },
    { validator: (raw) => refuse(admissible.schedule(parseOrReject(ScheduleAction, raw, 'schedule'), op.decisionContext())) },
  );

  setHandler(
    rescheduleUpdate,
    (raw) => {
      const change = parseOrReject(RescheduleAction, raw, 'reschedule');
      op.record('decision', `joint action #${op.memory.rounds.action} rescheduled to ${new Date(change.at).toISOString()}: ${inline(change.reason)}`);
      op.intend({ kind: 'reschedule', change });
      return op.receipt();
    },
    { validator: (raw) => refuse(admissible.reschedule(parseOrReject(RescheduleAction, raw, 'reschedule'), op.decisionContext())) },
  );

  setHandler(
    callOffUpdate,
    (raw) => {
      const { reason } = parseOrReject(CallOffAction, raw, 'call off');
      op.record('decision', `joint action #${op.memory.rounds.action} called off: ${inline(reason)}`);
      op.intend({ kind: 'call off', reason });
      return op.receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CallOffAction, raw, 'call off');
        refuse(admissible.callOff(op.decisionContext()));
      },
    },
  );

  setHandler(
    reinspectUpdate,
    (raw) => {
      const { reason } = parseOrReject(OrderReinspection, raw, 'reinspection');
      op.record('decision', `re-inspection ordered: ${inline(reason)}`);
      op.intend({ kind: 'reinspection', reason });
      return op.receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(OrderReinspection, raw, 'reinspection');
        refuse(admissible.closing('reinspection', op.decisionContext()));
      },
    },
  );

  setHandler(
    closeUpdate,
    (raw) => {
      const { summary } = parseOrReject(CloseOperation, raw, 'close');
      op.record('decision', 'operation closed by the coordinator');
      op.intend({ kind: 'close', summary });
      return op.receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CloseOperation, raw, 'close');
        refuse(admissible.closing('close', op.decisionContext()));
      },
    },
  );

  // Corrections are applied, never dropped: agencies that hold the changed data hear of it, and only of that.
  const dataHolders = () => ({
    told: op.toldAgencies(),
    briefed: [...new Set([...op.pending.values(), ...op.closedRequests.values()].filter((p) => p.awaiting === 'readiness').map((p) => p.agency))].sort(),
  });
  setHandler(
    amendTipUpdate,
    (raw): CorrectionReceipt => {
      const corrected = parseOrReject(AmendTip, raw, 'correction').tip;
      const check = tipCorrections(op.tip, corrected);
      if (!check.ok || check.changed.length === 0) return { ...op.receipt(), changed: [], told: [] }; // the validator refuses these
      const notices = correctionNotices(corrected, check.changed, dataHolders());
      const urgency = op.tip.urgency !== corrected.urgency ? ` (urgency ${op.tip.urgency} → ${corrected.urgency})` : '';
      op.tip = corrected;
      const number = (op.memory.corrections = (op.memory.corrections ?? 0) + 1);
      const told = notices.map((n) => n.agency);
      op.record(
        'decision',
        `tip corrected: ${check.changed.join(', ')}${urgency}; ${told.length > 0 ? `told ${told.join(', ')}` : 'no agency holds the changed data'}`,
      );
      op.intend({ kind: 'correction', number, notices });
      return { ...op.receipt(), changed: check.changed, told };
    },
    {
      validator: (raw) => {
        const corrected = parseOrReject(AmendTip, raw, 'correction').tip;
        if (op.memory.stage === 'ended') refuse(`correction rejected: the operation is already ${op.memory.phase}`);
        if (op.cancelling) refuse('correction rejected: the operation is being cancelled');
        const check = tipCorrections(op.tip, corrected);
        if (!check.ok) refuse(`correction rejected: ${check.reason}`);
        else if (check.changed.length === 0)
          throw ApplicationFailure.nonRetryable('correction rejected: nothing differs from the registered tip', FailureType.TipUnchanged);
      },
    },
  );

  setHandler(
    cancelUpdate,
    (raw) => {
      const { reason } = parseOrReject(CancelOperation, raw, 'cancel');
      op.record('decision', `cancelled: ${inline(reason)}`);
      op.intend({ kind: 'cancel', reason });
      return op.receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CancelOperation, raw, 'cancel');
        refuse(admissible.cancel(op.decisionContext()));
      },
    },
  );
}
