import {
  applicableTools,
  briefing,
  candidateAgencies,
  deadlineAfter,
  informationRequest,
  mandateRequest,
  quorumMet,
  secondWaveNotice,
  secondWaveRecipients,
  settleRound,
  type AgencyId,
  type Sealed,
  type Awaiting,
  type EscalatedDeadline,
  type StageEvent,
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
  const { config, catalogue, memory } = op;

  const escalate = async (deadline: EscalatedDeadline, waitingOn: string[]) => {
    memory.overdue = true;
    await new Fanout(op).deadlineMissed(deadline, memory.deadline!.dueAt, waitingOn).send();
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
    const round = ++memory.rounds.information;
    const dueMs = deadlineAfter(nowMs(), config.informationDeadline);
    const fanout = new Fanout(op);
    for (const agency of targets) {
      op.agency(agency);
      fanout.request(agency, 'information_requested', round, dueMs, (c) => informationRequest(op.tip, c, question, iso(dueMs)));
    }
    await fanout.send();
  };

  const requestMandates = async (targets: AgencyId[], event: StageEvent) => {
    const round = ++memory.rounds.mandate;
    const dueMs = deadlineAfter(nowMs(), config.mandateDeadline);
    op.advance(event, { what: 'mandate_answers', dueMs });
    const fanout = new Fanout(op);
    for (const agency of targets) {
      op.update({ ...op.agency(agency), mandate: 'requested' });
      fanout.request(agency, 'mandate_requested', round, dueMs, (c) =>
        mandateRequest(op.tip, c, applicableTools(agency, op.tip.categories, catalogue), iso(dueMs)),
      );
    }
    await fanout.send();
  };

  return {
    async assessment() {
      const result = await awaitWithDeadline(op, () => op.hasIntent('assessment'), 'assessment', {
        remind: () => new Fanout(op).decisionDue('assessment', memory.deadline!.dueAt).send(),
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
      memory.overdue = false;
      if (decision.decision === 'dismiss') return op.end('assessed_dismiss', 'dismissed', decision.reason);
      op.move('assessed_proceed');
      const candidates = candidateAgencies(op.tip.categories, catalogue);
      op.record('decision', `candidates from the mandate catalogue: ${candidates.join(', ')}`);
      await requestMandates(candidates, 'assessed_proceed');
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
      if (quorumMet([...op.agencies.values()], config.quorum)) {
        op.move('quorum_met');
        return op.advance('quorum_reached');
      }
      op.record('deadline', `quorum not met: ${op.participants().length} of ${config.quorum} agencies accepted`);
      op.advance('quorum_missed');
    },

    async quorum_decision() {
      if ((await waitFor(op, () => op.hasIntent('quorum decision'))) !== 'done') return;
      const { decision } = op.takeIntent('quorum decision')!;
      if (decision.decision === 'dismiss') return op.end('quorum_dismiss', 'dismissed', decision.reason);
      if (decision.decision === 'request_again') return requestMandates(decision.agencies, 'asked_again');
      op.move('quorum_overridden');
      op.advance('quorum_reached');
    },

    async schedule_decision() {
      if ((await waitFor(op, () => op.hasIntent('schedule'))) !== 'done') return;
      const { plan } = op.takeIntent('schedule')!;
      memory.action = { plan, revision: 0 };
      const team = op.participants();
      const round = memory.rounds.action;
      // Readiness is confirmed against the briefing, not reminded.
      op.advance('action_scheduled', { what: 'action_start', dueMs: Date.parse(plan.at), reminded: true });
      // Need to know: only participants are briefed, and only the briefing carries the description.
      const fanout = new Fanout(op);
      for (const agency of team) {
        op.update({ ...op.agency(agency), ready: false });
        fanout.request(agency, 'briefing', round, Date.parse(plan.at), (c) => briefing(op.tip, c, plan, team));
      }
      await fanout.send();
    },

    async action_start() {
      const action = memory.action!;
      const round = memory.rounds.action;
      // A durable timer: the action starts on time even if every worker restarted meanwhile.
      const result = await waitFor(op, () => op.hasIntent('reschedule', 'call off'), Date.parse(action.plan.at), 'joint action: start');
      if (result === 'interrupted') return;
      const team = op.participants();
      const fanout = new Fanout(op);
      if (result === 'done') {
        const callOff = op.takeIntent('call off');
        if (callOff) {
          op.expire('readiness');
          memory.action = undefined;
          memory.rounds.action += 1;
          op.advance('action_called_off');
          for (const agency of team)
            fanout.notice({ event: 'action_called_off', round, agency }, 'action_called_off', (c) => ({ correlation: c, reason: callOff.reason }));
          return fanout.send();
        }
        const { change } = op.takeIntent('reschedule')!;
        action.plan = { ...action.plan, at: new Date(change.at).toISOString(), ...(change.place ? { place: change.place } : {}) };
        action.revision += 1;
        op.enter('action_start', { what: 'action_start', dueMs: Date.parse(action.plan.at), reminded: true });
        for (const open of op.pendingOf('readiness')) open.dueAt = action.plan.at;
        for (const agency of team) {
          fanout.notice({ event: 'action_rescheduled', round, revision: action.revision, agency }, 'action_rescheduled', (c) => ({
            correlation: c,
            action: action.plan,
            reason: change.reason,
          }));
        }
        return fanout.send();
      }
      op.expire('readiness');
      op.record('decision', `joint action #${round} started`);
      const dueMs = deadlineAfter(nowMs(), config.findingsDeadline);
      op.advance('action_started', { what: 'findings', dueMs });
      for (const agency of team) fanout.notice({ event: 'action_started', round, agency }, 'action_started', (c) => ({ correlation: c, action: action.plan }));
      for (const agency of team) {
        op.update({ ...op.agency(agency), findings: 'requested' });
        fanout.request(agency, 'findings_requested', round, dueMs, (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      }
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
      op.move('findings_complete');
      memory.overdue = false;
      op.advance('findings_in', { what: 'follow_up', dueMs: deadlineAfter(nowMs(), config.followUpAfter), reminded: true });
    },

    async follow_up() {
      if ((await waitFor(op, () => false, Date.parse(memory.deadline!.dueAt), 'follow-up: outcome requests')) !== 'timeout') return;
      const round = memory.rounds.action;
      const team = op.participants();
      const dueMs = deadlineAfter(nowMs(), config.outcomeDeadline);
      op.advance('follow_up_due', { what: 'outcomes', dueMs });
      const fanout = new Fanout(op);
      for (const agency of team) {
        op.update({ ...op.agency(agency), outcomes: 'requested' });
        fanout.request(agency, 'outcome_requested', round, dueMs, (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      }
      // The second wave reaches catalogue agencies that were not on site, with the minimum data only.
      const others = secondWaveRecipients(catalogue, team, memory.secondWave);
      memory.secondWave.push(...others);
      const actionDate = memory.action!.plan.at;
      for (const agency of others)
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
      memory.overdue = false;
      op.advance('outcomes_in');
    },

    async closing_decision() {
      if ((await waitFor(op, () => op.hasIntent('close', 'reinspection'))) !== 'done') return;
      if (op.takeIntent('reinspection')) {
        // A re-inspection is a new joint action; this one's results are settled first.
        for (const agency of op.agencies.values()) op.update(settleRound(agency));
        memory.action = undefined;
        memory.rounds.action += 1;
        op.move('reinspection_ordered');
        return op.advance('reinspection_ordered');
      }
      const { summary } = op.takeIntent('close')!;
      memory.coordinatorSummary = summary;
      const team = op.participants();
      op.end('closed', 'closed', summary);
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
  op.end('cancelled', 'cancelled', reason);
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
