import {
  applicableTools,
  briefing,
  candidateAgencies,
  deadlineAfter,
  informationRequest,
  mandateRequest,
  secondWaveNotice,
  type AgencyId,
  type Sealed,
  type Awaiting,
  type EscalatedDeadline,
  type WorkingStage,
} from '../domain/index.js';
import { Fanout } from './notifier.js';
import { iso, nowMs, type Operation } from './operation-state.js';
import { awaitWithDeadline, waitFor } from './waiting.js';

/**
 * The stages, one named function each. A stage waits for what it collects (answers, a decision, a timer),
 * then acts: it takes the coordinator's recorded intent, moves the stage machine and sends one fan-out.
 * Returning hands control back to the main loop, which runs whichever stage the operation is at.
 */
export function stagesOf(op: Operation): Record<WorkingStage, () => Promise<void>> {
  const { config, catalogue } = op;

  const escalate = async (deadline: EscalatedDeadline, waitingOn: string[]) => {
    op.escalate();
    await new Fanout(op).deadlineMissed(deadline, op.memory.deadline!.dueAt, waitingOn).send();
  };

  /** Agencies with an open request of this kind get a reminder that names the original request. */
  const remindAgencies = (awaiting: Awaiting) => async () => {
    const open = op.pendingOf(awaiting);
    op.record('reminder', `${awaiting.replace('_', ' ')} still owed by ${open.map((p) => p.agency).join(', ')}`);
    const fanout = new Fanout(op);
    for (const p of open)
      fanout.reminder(p.agency, p.requestId, { correlation: { operationId: op.operationId, requestId: p.requestId }, awaiting: p.awaiting, answerBy: p.dueAt });
    await fanout.send();
  };

  const allAnswered = (awaiting: Awaiting) => () => op.pendingOf(awaiting).length === 0;

  const requestInformation = async (targets: AgencyId[], question: string | Sealed) => {
    const round = op.requestInformation(targets);
    const dueMs = deadlineAfter(nowMs(), config.informationDeadline);
    const fanout = new Fanout(op);
    for (const agency of targets) fanout.request(agency, 'information_requested', round, dueMs, (c) => informationRequest(op.tip, c, question, iso(dueMs)));
    await fanout.send();
  };

  const requestMandates = async (targets: readonly AgencyId[], round: number, dueMs: number) => {
    const fanout = new Fanout(op);
    for (const agency of targets)
      fanout.request(agency, 'mandate_requested', round, dueMs, (c) =>
        mandateRequest(op.tip, c, applicableTools(agency, op.tip.categories, catalogue), iso(dueMs)),
      );
    await fanout.send();
  };

  return {
    async assessment() {
      const result = await awaitWithDeadline(op, () => op.hasIntent('assessment'), 'assessment', {
        remind: () => new Fanout(op).decisionDue('assessment', op.memory.deadline!.dueAt).send(),
        missed: async () => {
          // Escalated, never silently closed: the decision is still owed.
          await escalate('assessment', ['coordinator']);
          return 'keep_waiting';
        },
      });
      if (result !== 'done') return;
      const { decision } = op.takeIntent('assessment')!;
      // Asking for information leaves the decision owed, under the same deadline.
      if (decision.decision === 'request_info') return requestInformation(decision.agencies, decision.question);
      if (decision.decision === 'dismiss') return op.dismiss('assessed_dismiss', decision.reason);
      const candidates = candidateAgencies(op.tip.categories, catalogue);
      const dueMs = deadlineAfter(nowMs(), config.mandateDeadline);
      await requestMandates(candidates, op.proceedToMandates(candidates, dueMs), dueMs);
    },

    async mandate_answers() {
      const result = await awaitWithDeadline(op, allAnswered('mandate_answers'), 'mandate answers', {
        remind: remindAgencies('mandate_answers'),
        missed: async () => {
          op.expire('mandate_answers'); // no answer counts as no, and is recorded as such
          return 'continue';
        },
      });
      if (result !== 'done') return;
      op.mandatesIn();
    },

    async quorum_decision() {
      if ((await waitFor(op, () => op.hasIntent('quorum decision'))) !== 'done') return;
      const { decision } = op.takeIntent('quorum decision')!;
      if (decision.decision === 'dismiss') return op.dismiss('quorum_dismiss', decision.reason);
      if (decision.decision === 'request_again') {
        const dueMs = deadlineAfter(nowMs(), config.mandateDeadline);
        return requestMandates(decision.agencies, op.requestMandatesAgain(decision.agencies, dueMs), dueMs);
      }
      op.overrideQuorum();
    },

    async schedule_decision() {
      if ((await waitFor(op, () => op.hasIntent('schedule'))) !== 'done') return;
      const { plan } = op.takeIntent('schedule')!;
      // Readiness is confirmed against the briefing, not reminded.
      const { team, round } = op.scheduleAction(plan);
      // Need to know: only participants are briefed, and only the briefing carries the description.
      const fanout = new Fanout(op);
      for (const agency of team) fanout.request(agency, 'briefing', round, Date.parse(plan.at), (c) => briefing(op.tip, c, plan, team));
      await fanout.send();
    },

    async action_start() {
      const round = op.memory.rounds.action;
      // A durable timer: the action starts on time even if every worker restarted meanwhile.
      const result = await waitFor(op, () => op.hasIntent('reschedule', 'call off'), Date.parse(op.memory.action!.plan.at), 'joint action: start');
      if (result === 'interrupted') return;
      const team = op.participants();
      const fanout = new Fanout(op);
      if (result === 'done') {
        const callOff = op.takeIntent('call off');
        if (callOff) {
          op.callOffAction();
          for (const agency of team)
            fanout.notice({ event: 'action_called_off', round, agency }, 'action_called_off', (c) => ({ correlation: c, reason: callOff.reason }));
          return fanout.send();
        }
        const { change } = op.takeIntent('reschedule')!;
        op.rescheduleAction(change);
        const action = op.memory.action!;
        for (const agency of team) {
          fanout.notice({ event: 'action_rescheduled', round, revision: action.revision, agency }, 'action_rescheduled', (c) => ({
            correlation: c,
            action: action.plan,
            reason: change.reason,
          }));
        }
        return fanout.send();
      }
      const plan = op.memory.action!.plan;
      const dueMs = deadlineAfter(nowMs(), config.findingsDeadline);
      op.startAction(dueMs);
      for (const agency of team) fanout.notice({ event: 'action_started', round, agency }, 'action_started', (c) => ({ correlation: c, action: plan }));
      for (const agency of team) fanout.request(agency, 'findings_requested', round, dueMs, (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      await fanout.send();
    },

    async findings() {
      const result = await awaitWithDeadline(op, allAnswered('findings'), 'findings', {
        remind: remindAgencies('findings'),
        missed: async () => {
          await escalate('findings', op.expire('findings'));
          return 'continue';
        },
      });
      if (result !== 'done') return;
      op.findingsIn(deadlineAfter(nowMs(), config.followUpAfter));
    },

    async follow_up() {
      if ((await waitFor(op, () => false, Date.parse(op.memory.deadline!.dueAt), 'follow-up: outcome requests')) !== 'timeout') return;
      const dueMs = deadlineAfter(nowMs(), config.outcomeDeadline);
      const { team, round, secondWave } = op.followUpDue(dueMs);
      const fanout = new Fanout(op);
      for (const agency of team) fanout.request(agency, 'outcome_requested', round, dueMs, (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      // The second wave reaches catalogue agencies that were not on site, with the minimum data only.
      const actionDate = op.memory.action!.plan.at;
      for (const agency of secondWave)
        fanout.notice({ event: 'second_wave_notice', round, agency }, 'second_wave_notice', (c) => secondWaveNotice(op.tip, c, actionDate));
      await fanout.send();
    },

    async outcomes() {
      const result = await awaitWithDeadline(op, allAnswered('outcomes'), 'outcomes', {
        remind: remindAgencies('outcomes'),
        missed: async () => {
          await escalate('outcomes', op.expire('outcomes'));
          return 'continue';
        },
      });
      if (result !== 'done') return;
      op.outcomesIn();
    },

    async closing_decision() {
      if ((await waitFor(op, () => op.hasIntent('close', 'reinspection'))) !== 'done') return;
      // A re-inspection is a new joint action; this one's results are settled first.
      if (op.takeIntent('reinspection')) return op.orderReinspection();
      const { summary } = op.takeIntent('close')!;
      const team = op.participants();
      op.close(summary);
      const fanout = new Fanout(op);
      for (const agency of team) fanout.notice({ event: 'operation_closed', agency }, 'operation_closed', (c) => ({ correlation: c, summary }));
      await fanout.send();
    },
  };
}

/** Every agency that has heard of the operation hears that it is off; nobody else learns it existed. */
export async function cancelOperation(op: Operation): Promise<void> {
  const { reason } = op.takeIntent('cancel')!;
  const told = op.toldAgencies();
  op.cancel(reason);
  const fanout = new Fanout(op);
  for (const agency of told) fanout.notice({ event: 'operation_cancelled', agency }, 'operation_cancelled', (c) => ({ correlation: c, reason }));
  await fanout.send();
}

/** Agencies that already hold data a correction changed hear the new values, and only those (need to know). */
export async function sendCorrections(op: Operation): Promise<void> {
  const fanout = new Fanout(op);
  for (let intent = op.takeIntent('correction'); intent; intent = op.takeIntent('correction')) {
    const { number, notices } = intent;
    for (const { agency, corrected } of notices)
      fanout.notice({ event: 'tip_corrected', number, agency }, 'tip_corrected', (c) => ({ correlation: c, corrected }));
  }
  await fanout.send();
}
