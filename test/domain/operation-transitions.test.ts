import { describe, expect, it } from 'vitest';
import {
  MoveRefused,
  Tip,
  advanceStage,
  callOffAction,
  closeOperation,
  deadlineMissed,
  deadlineReminded,
  escalate,
  expireRequests,
  findingsIn,
  formatStockholm,
  followUpDue,
  freshMemory,
  loadCatalogue,
  mandatesIn,
  openRequest,
  orderReinspection,
  outcomesIn,
  proceedToMandates,
  registerTip,
  reminderOvertaken,
  reminderTooLate,
  rescheduleAction,
  scheduleAction,
  startAction,
  takeAnswer,
  type AgencyAnswer,
  type AgencyId,
  type OperationMemory,
} from '../../domain/index.js';
import national from '../../domain/mandate-catalogue.json' with { type: 'json' };

const catalogue = loadCatalogue(national);
const tip = Tip.parse({
  entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå', municipality: 'Umeå' },
  categories: ['money_laundering', 'unlicensed_alcohol'],
  description: 'Serves alcohol after licence hours.',
  urgency: 'normal',
  source: { kind: 'public', protected: true },
  receivedAt: '2026-11-01T08:00:00Z',
});
const T0 = Date.parse('2026-11-02T09:00:00Z');
const HOUR = 3_600_000;
const at = (hours: number) => T0 + hours * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const plan = { at: iso(at(48)), place: 'Storgatan 12', lead: 'polisen' as const };

/** Frozen all the way down: a transition that changed its input would throw here (modules run in strict mode). */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

let answers = 0;
function accepted(m: OperationMemory, agency: AgencyId): AgencyAnswer {
  const request = m.pending.find((p) => p.agency === agency && p.awaiting === 'mandate_answers')!;
  answers += 1;
  return {
    eventId: `e${answers}`,
    agency,
    name: 'mandate_accepted',
    receivedAt: iso(at(1)),
    data: { correlation: { operationId: 'op-1', requestId: request.requestId }, tools: ['inspection'], contactFunction: 'desk' },
  };
}

/** An operation taken through the transitions to the action start: polisen and skatteverket briefed, polisen ready. */
function scheduled(): OperationMemory {
  let m = registerTip(freshMemory(), tip, T0, at(24));
  const asked = proceedToMandates(m, ['polisen', 'skatteverket', 'tullverket'], at(1), at(12));
  m = asked.memory;
  for (const agency of ['polisen', 'skatteverket', 'tullverket'] as const) m = openRequest(m, 'mandate_requested', asked.round, agency, at(12)).memory;
  m = takeAnswer(m, accepted(m, 'polisen'), 'op-1', at(2)).memory;
  m = takeAnswer(m, accepted(m, 'skatteverket'), 'op-1', at(2)).memory;
  m = mandatesIn({ ...m, pending: m.pending.filter((p) => p.agency !== 'tullverket') }, 2, at(3));
  const { memory, team, round } = scheduleAction(m, plan, at(4));
  m = memory;
  for (const agency of team) m = openRequest(m, 'briefing', round, agency, Date.parse(plan.at)).memory;
  const briefing = m.pending.find((p) => p.agency === 'polisen')!;
  m = takeAnswer(
    m,
    {
      eventId: 'ready-polisen',
      agency: 'polisen',
      name: 'readiness_confirmed',
      receivedAt: iso(at(5)),
      data: { correlation: { operationId: 'op-1', requestId: briefing.requestId } },
    },
    'op-1',
    at(5),
  ).memory;
  return frozen(m);
}

describe('the start of an operation', () => {
  it('puts the tip on the record, moves to assessment and starts its deadline', () => {
    const m = registerTip(frozen(freshMemory()), tip, T0, at(24));
    expect(m).toMatchObject({ phase: 'assessment', stage: 'assessment', overdue: false });
    expect(m.deadline).toEqual({ what: 'assessment', startedAt: iso(T0), dueAt: iso(at(24)), reminded: false, missed: false });
    expect(m.timeline.map((e) => e.text)).toEqual([
      'tip registered: money_laundering, unlicensed_alcohol; urgency normal; source public (protected)',
      'tip → assessment',
    ]);
  });

  it('starts only once: a second registration is refused by the phase machine', () => {
    const m = registerTip(freshMemory(), tip, T0, at(24));
    expect(() => registerTip(m, tip, T0, at(24))).toThrow(new MoveRefused('phase', '"tip_registered" is not possible in phase assessment'));
  });
});

describe('the transitions of a joint action', () => {
  it('briefs the participants and waits for the start, with no reminder (readiness is confirmed, not reminded)', () => {
    const m = scheduled();
    expect(m).toMatchObject({ phase: 'joint_action', stage: 'action_start', action: { plan, revision: 0 } });
    expect(m.deadline).toMatchObject({ what: 'action_start', dueAt: plan.at, reminded: true, missed: false });
    expect(m.pending.map((p) => p.requestId)).toEqual(['briefing-1-skatteverket']);
  });

  it('calls off an action: readiness no longer owed, the next action is a new one, scheduled anew', () => {
    const m = callOffAction(scheduled(), at(6));
    expect(m).toMatchObject({ stage: 'schedule_decision', phase: 'joint_action', action: undefined, deadline: undefined, rounds: { action: 2 } });
    expect(m.pending).toEqual([]);
    expect(m.closedRequests.find((r) => r.requestId === 'briefing-1-skatteverket')).toEqual({
      requestId: 'briefing-1-skatteverket',
      agency: 'skatteverket',
      awaiting: 'readiness',
      dueAt: plan.at,
    });
    expect(m.timeline.at(-1)).toEqual({ at: iso(at(6)), kind: 'no_answer', text: `no readiness by ${formatStockholm(plan.at)}`, agency: 'skatteverket' });
  });

  it('drops a reschedule admitted before the call-off, so it cannot move the next action', () => {
    const before = scheduled();
    const queued = {
      ...before,
      intents: [{ kind: 'reschedule' as const, change: { at: '2026-11-05T10:00:00+01:00', reason: 'the Police ask to wait' } }, ...before.intents],
    };
    const m = callOffAction(queued, at(6));
    expect(m.intents.filter((i) => i.kind === 'reschedule')).toEqual([]);
  });

  it('reschedules an action through the stage machine: a new revision, a new start deadline, readiness owed by the new time', () => {
    const before = scheduled();
    const m = rescheduleAction(before, { at: '2026-11-05T10:00:00+01:00', place: 'Kungsgatan 1' }, at(6));
    expect(m.stage).toBe('action_start');
    expect(m.action).toEqual({ plan: { ...plan, at: '2026-11-05T09:00:00.000Z', place: 'Kungsgatan 1' }, revision: 1 });
    expect(m.deadline).toEqual({ what: 'action_start', startedAt: iso(at(6)), dueAt: '2026-11-05T09:00:00.000Z', reminded: true, missed: false });
    expect(m.pending).toEqual([{ ...before.pending[0], dueAt: '2026-11-05T09:00:00.000Z' }]);
    // The place stays where a reschedule does not name one.
    expect(rescheduleAction(m, { at: '2026-11-06T10:00:00Z' }, at(7)).action).toEqual({
      plan: { ...plan, at: '2026-11-06T10:00:00.000Z', place: 'Kungsgatan 1' },
      revision: 2,
    });
  });

  it('starts an action on time: readiness not confirmed is missing, and the participants owe their findings', () => {
    const { memory: m, team, round } = startAction(scheduled(), Date.parse(plan.at), at(72));
    expect({ team, round }).toEqual({ team: ['polisen', 'skatteverket'], round: 1 });
    expect(m.stage).toBe('findings');
    expect(m.deadline).toMatchObject({ what: 'findings', startedAt: plan.at, dueAt: iso(at(72)), reminded: false });
    expect(m.agencies.filter((a) => a.findings === 'requested').map((a) => a.agency)).toEqual(['polisen', 'skatteverket']);
    expect(m.timeline.slice(-2).map((e) => e.text)).toEqual([`no readiness by ${formatStockholm(plan.at)}`, 'joint action #1 started']);
  });

  it('refuses a move the stage machine does not list, naming it', () => {
    const assessing = registerTip(freshMemory(), tip, T0, at(24));
    expect(() => startAction(assessing, at(1), at(2))).toThrow(new MoveRefused('stage', '"action_started" is not possible at stage assessment'));
    expect(() => advanceStage(assessing, 'action_rescheduled', at(1))).toThrow(MoveRefused);
  });
});

describe('the transitions of the follow-up', () => {
  const atClosing = () => {
    let m = startAction(scheduled(), Date.parse(plan.at), at(72)).memory;
    m = findingsIn({ ...m, pending: [] }, at(60), at(61));
    const due = followUpDue(m, catalogue, at(61), at(90));
    expect(due.secondWave).toEqual(catalogue.agencies.map((a) => a.id).filter((a) => a !== 'polisen' && a !== 'skatteverket'));
    expect(due.memory.secondWave).toEqual(due.secondWave);
    return frozen(outcomesIn({ ...due.memory, pending: [] }, at(80)));
  };

  it('orders a re-inspection: this action settled, a new one to schedule in joint action', () => {
    const m = orderReinspection(atClosing(), at(81));
    expect(m).toMatchObject({ phase: 'joint_action', stage: 'schedule_decision', action: undefined, deadline: undefined, rounds: { action: 2 } });
    expect(m.agencies.every((a) => a.findings === 'not_asked' && a.outcomes === 'not_asked' && !a.ready)).toBe(true);
    expect(m.timeline.at(-1)!.text).toBe('follow_up → joint_action');
  });

  it('closes: the summary kept, nothing owed any more, and the stage machine ended', () => {
    const open = openRequest(atClosing(), 'information_requested', 1, 'polisen', at(100)).memory;
    const m = closeOperation({ ...open, overdue: true }, 'All done.', at(82));
    expect(m).toMatchObject({ phase: 'closed', stage: 'ended', coordinatorSummary: 'All done.', endReason: 'All done.', overdue: false, deadline: undefined });
    expect(m.pending).toEqual([]);
    expect(m.closedRequests.at(-1)!.requestId).toBe('info-1-polisen');
    expect(() => closeOperation(m, 'Again.', at(83))).toThrow(new MoveRefused('phase', 'the operation is already closed'));
  });
});

describe('the bookkeeping of a deadline', () => {
  it('keeps the reminder and the miss in the deadline, so a continued run does neither again', () => {
    const m = deadlineMissed(deadlineReminded(frozen(registerTip(freshMemory(), tip, T0, at(24)))), 'assessment', at(24));
    expect(m.deadline).toMatchObject({ what: 'assessment', reminded: true, missed: true });
    expect(m.timeline.at(-1)).toEqual({ at: iso(at(24)), kind: 'deadline', text: 'assessment deadline passed' });
  });

  it('sends no reminder at or after the deadline: the record says why, and a continued run does not send it either', () => {
    const m = frozen(registerTip(freshMemory(), tip, T0, at(24)));
    const dueAt = Date.parse(m.deadline!.dueAt);
    expect(reminderTooLate(m, dueAt - 1)).toBe(false);
    expect(reminderTooLate(m, dueAt)).toBe(true);
    expect(reminderTooLate({ ...m, deadline: undefined }, dueAt + HOUR)).toBe(false);
    const overtaken = reminderOvertaken(m, 'assessment', dueAt + HOUR);
    expect(overtaken.deadline).toMatchObject({ what: 'assessment', reminded: true, missed: false });
    expect(overtaken.timeline.at(-1)).toEqual({
      at: iso(dueAt + HOUR),
      kind: 'deadline',
      text: 'assessment reminder not sent: the deadline had already passed',
    });
  });

  it('escalates: overdue until what is owed arrives, and a new stage starts a fresh deadline', () => {
    const m = escalate(frozen(registerTip(freshMemory(), tip, T0, at(24))));
    expect(m.overdue).toBe(true);
    const proceeding = proceedToMandates(m, ['polisen'], at(25), at(40)).memory;
    expect(proceeding.overdue).toBe(false);
    expect(proceeding.deadline).toEqual({ what: 'mandate_answers', startedAt: iso(at(25)), dueAt: iso(at(40)), reminded: false, missed: false });
  });

  it('goes to the coordinator when too few accepted, on the record', () => {
    let m = proceedToMandates(registerTip(freshMemory(), tip, T0, at(24)), ['polisen', 'skatteverket'], at(1), at(12)).memory;
    m = openRequest(m, 'mandate_requested', 1, 'polisen', at(12)).memory;
    m = mandatesIn(takeAnswer(m, accepted(m, 'polisen'), 'op-1', at(2)).memory, 2, at(12));
    expect(m).toMatchObject({ phase: 'mandate_matching', stage: 'quorum_decision' });
    expect(m.timeline.at(-1)!.text).toBe('quorum not met: 1 of 2 agencies accepted');
  });
});

describe('taking an answer', () => {
  it('applies it once, and keeps a late or conflicting one on the record without applying it', () => {
    let m = frozen(proceedToMandates(registerTip(freshMemory(), tip, T0, at(24)), ['polisen'], at(1), at(12)).memory);
    m = openRequest(m, 'mandate_requested', 1, 'polisen', at(12)).memory;
    const answer = accepted(m, 'polisen');
    const applied = takeAnswer(m, answer, 'op-1', at(2));
    expect(applied.outcome).toBe('applied');
    expect(applied.memory.agencies[0]).toMatchObject({ agency: 'polisen', mandate: 'accepted', tools: ['inspection'] });
    expect(applied.memory.pending).toEqual([]);
    expect(applied.memory.seenAnswerIds).toEqual([answer.eventId]);
    expect(takeAnswer(applied.memory, answer, 'op-1', at(3))).toEqual({ memory: applied.memory, outcome: 'duplicate' });

    const declined: AgencyAnswer = {
      ...answer,
      eventId: 'changed-mind',
      name: 'mandate_declined',
      data: { correlation: answer.data.correlation, reason: 'No.' },
    };
    const conflicting = takeAnswer(applied.memory, declined, 'op-1', at(3));
    expect(conflicting.outcome).toBe('conflicting');
    expect(conflicting.memory.agencies[0]!.mandate).toBe('accepted');
    expect(conflicting.memory.conflicts).toMatchObject([{ requestId: 'mandate-1-polisen', kept: [{ eventId: 'changed-mind' }], uncounted: 0 }]);

    const { memory: expired, missing } = expireRequests(m, 'mandate_answers', at(12));
    expect(missing).toEqual(['polisen']);
    expect(expired.agencies[0]!.mandate).toBe('no_answer');
    const late = takeAnswer(expired, answer, 'op-1', at(13));
    expect(late.outcome).toBe('late');
    expect(late.memory.agencies[0]!.mandate).toBe('no_answer');
    expect(late.memory.timeline.at(-1)).toEqual({ at: iso(at(13)), kind: 'late_answer', text: 'mandate_accepted after the deadline', agency: 'polisen' });
  });
});
