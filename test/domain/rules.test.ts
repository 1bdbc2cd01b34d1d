import { describe, expect, it } from 'vitest';
import {
  answerBatchUpdateId,
  ANSWER_TO,
  ESCALATED_DEADLINES,
  InboundData,
  OperationStart,
  REQUESTS,
  STAGES,
  SteeringData,
  admissible,
  pendingDecisions,
  agencyEventId,
  answerEventId,
  deadLetterId,
  notAppliedEventId,
  applyAnswerToRecord,
  coordinatorEventId,
  loadCatalogue,
  newAgencyRecord,
  noticeKey,
  recordMissing,
  requestId,
  secondWaveRecipients,
  settleRound,
  steeringEventId,
  summariseOutcomes,
  type AgencyAnswer,
  type DecisionContext,
} from '../../domain/index.js';
import national from '../../domain/mandate-catalogue.json' with { type: 'json' };

const catalogue = loadCatalogue(national);
const correlation = { operationId: 'op-1', requestId: 'mandate-1-polisen' };
const answer = <A extends AgencyAnswer>(a: Omit<A, 'eventId' | 'receivedAt'>): A => ({ eventId: 'e1', receivedAt: '2026-11-25T10:00:00Z', ...a }) as A;

describe('the id scheme (the dedupe contract)', () => {
  it('gives a batch of answers the same update id every time it is sent, and another batch another', () => {
    const batch = ['polisen.op.mandate-1-polisen.mandate_accepted', 'skatteverket.op.mandate-1-skatteverket.mandate_declined'];
    // A retry after a timeout is the same update, which Temporal applies once.
    expect(answerBatchUpdateId([...batch])).toBe(answerBatchUpdateId(batch));
    expect(answerBatchUpdateId(batch)).toMatch(/^a-[A-Za-z0-9_-]{14}$/);
    expect(answerBatchUpdateId(batch.slice(0, 1))).not.toBe(answerBatchUpdateId(batch));
    expect(answerBatchUpdateId([...batch].reverse())).not.toBe(answerBatchUpdateId(batch));
  });

  it('names requests by kind, round and agency, and events by operation, key and event', () => {
    expect(requestId('mandate_requested', 2, 'polisen')).toBe('mandate-2-polisen');
    expect(requestId('information_requested', 1, 'tullverket')).toBe('info-1-tullverket');
    expect(agencyEventId('los-umea-abc', 'mandate-2-polisen', 'mandate_requested')).toBe('los-umea-abc.mandate-2-polisen.mandate_requested');
    expect(noticeKey({ event: 'action_rescheduled', round: 1, revision: 2, agency: 'polisen' })).toBe('action-1-r2-polisen');
    expect(noticeKey({ event: 'reminder', requestId: 'findings-1-polisen' })).toBe('findings-1-polisen.reminder');
    expect(steeringEventId('op', 'findings', 2)).toBe('op.findings-2.deadline_missed');
    expect(coordinatorEventId('op', 'assessment')).toBe('op.assessment.decision_due');
    expect(answerEventId('polisen', { operationId: 'op', requestId: 'mandate-1-polisen' }, 'mandate_accepted')).toBe(
      'polisen.op.mandate-1-polisen.mandate_accepted',
    );
    expect(deadLetterId('LOS_IN', 7)).toBe('dead-letter.LOS_IN.7');
    expect(deadLetterId('LOS_OUT', 7, 'agency_polisen')).toBe('dead-letter.LOS_OUT.7.agency_polisen');
    expect(notAppliedEventId('LOS_IN', 7)).toBe('not-applied.LOS_IN.7');
  });

  it('gives every event of one operation a different id', () => {
    const keys = [
      noticeKey({ event: 'action_started', round: 1, agency: 'polisen' }),
      noticeKey({ event: 'action_called_off', round: 1, agency: 'polisen' }),
      noticeKey({ event: 'action_rescheduled', round: 1, revision: 1, agency: 'polisen' }),
      noticeKey({ event: 'second_wave_notice', round: 1, agency: 'polisen' }),
      noticeKey({ event: 'operation_closed', agency: 'polisen' }),
      noticeKey({ event: 'operation_cancelled', agency: 'polisen' }),
      requestId('briefing', 1, 'polisen'),
      requestId('findings_requested', 1, 'polisen'),
      requestId('outcome_requested', 1, 'polisen'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the table of requests', () => {
  it('gives every answer exactly one request it closes, and every request an id prefix of its own', () => {
    expect(Object.keys(ANSWER_TO).sort()).toEqual(Object.keys(InboundData).sort());
    for (const [answer, request] of Object.entries(ANSWER_TO)) expect(REQUESTS[request].answers as readonly string[]).toContain(answer);
    const answers = Object.values(REQUESTS).flatMap((r) => r.answers);
    expect(new Set(answers).size).toBe(answers.length);
    const prefixes = Object.values(REQUESTS).map((r) => r.idPrefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });

  it("lists in the steering group's contract only the deadlines the stage machine escalates, not the mandate deadline", () => {
    expect(SteeringData.deadline_missed.shape.deadline.options).toEqual(ESCALATED_DEADLINES);
    expect(ESCALATED_DEADLINES).toEqual(['assessment', 'findings', 'outcomes']);
    expect(ESCALATED_DEADLINES.every((deadline) => STAGES[deadline].hasDeadline)).toBe(true);
  });
});

describe("applying an answer to an agency's record", () => {
  it('records an accepted mandate with its tools and contact function', () => {
    const { record, text } = applyAnswerToRecord(
      newAgencyRecord('polisen'),
      answer({ agency: 'polisen', name: 'mandate_accepted', data: { correlation, tools: ['workplace_check'], contactFunction: 'tillsyn' } }),
    );
    expect(record).toMatchObject({ mandate: 'accepted', tools: ['workplace_check'], contactFunction: 'tillsyn' });
    expect(text).toBe('mandate accepted; brings workplace_check');
  });

  it('records a decline with its reason and leaves the record it was given untouched', () => {
    const before = newAgencyRecord('tullverket');
    const { record } = applyAnswerToRecord(
      before,
      answer({ agency: 'tullverket', name: 'mandate_declined', data: { correlation, reason: 'Not our mandate.' } }),
    );
    expect(record).toMatchObject({ mandate: 'declined', declineReason: 'Not our mandate.' });
    expect(before.mandate).toBe('not_asked');
  });

  it('keeps findings and outcomes apart, so the summary counts the follow-up over the action day', () => {
    const fined = applyAnswerToRecord(
      newAgencyRecord('skatteverket'),
      answer({ agency: 'skatteverket', name: 'findings_reported', data: { correlation, findings: 'x', sanctions: [{ kind: 'fine', amountSek: 100 }] } }),
    ).record;
    const final = applyAnswerToRecord(
      fined,
      answer({ agency: 'skatteverket', name: 'outcome_reported', data: { correlation, outcomes: [{ kind: 'fine', amountSek: 300 }] } }),
    ).record;
    expect(summariseOutcomes([final]).finesSek).toBe(300);
  });

  it('counts a missing answer as what its stage collects: no mandate, missing findings or outcomes', () => {
    expect(recordMissing(newAgencyRecord('polisen'), 'mandate_answers').mandate).toBe('no_answer');
    expect(recordMissing(newAgencyRecord('polisen'), 'findings').findings).toBe('missing');
    expect(recordMissing(newAgencyRecord('polisen'), 'outcomes').outcomes).toBe('missing');
    expect(recordMissing(newAgencyRecord('polisen'), 'readiness')).toEqual(newAgencyRecord('polisen'));
  });
});

describe('settling a round and the second wave', () => {
  it('settles the final outcomes of a round before a re-inspection, so nothing is counted twice', () => {
    const record = {
      ...newAgencyRecord('polisen'),
      mandate: 'accepted' as const,
      findings: 'reported' as const,
      sanctions: [{ kind: 'criminal_report' as const }],
    };
    const settled = settleRound(record);
    expect(settled).toMatchObject({ settledOutcomes: [{ kind: 'criminal_report' }], sanctions: [], findings: 'not_asked', ready: false, mandate: 'accepted' });
    expect(summariseOutcomes([settled]).criminalReports).toBe(1);
  });

  it('reaches every catalogue agency that was not on site and has not heard yet, in catalogue order', () => {
    const all = catalogue.agencies.map((a) => a.id);
    const others = secondWaveRecipients(catalogue, ['polisen', 'skatteverket'], ['tullverket']);
    expect(others).toEqual(all.filter((a) => !['polisen', 'skatteverket', 'tullverket'].includes(a)));
  });
});

describe('when a decision is admissible', () => {
  const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({
    phase: 'joint_action',
    stage: 'schedule_decision',
    intended: new Set(),
    participants: ['polisen', 'skatteverket'],
    catalogue: catalogue.agencies.map((a) => a.id),
    now: Date.parse('2026-11-25T10:00:00Z'),
    waitingFor: 'schedule decision',
    ...over,
  });
  const plan = { at: '2026-11-26T10:00:00Z', place: 'Storgatan 12', lead: 'polisen' as const };

  it('schedules only in the schedule stage, in the future, led by a participant', () => {
    expect(admissible.schedule(plan, ctx())).toBeUndefined();
    expect(admissible.schedule(plan, ctx({ phase: 'assessment', stage: 'assessment' }))?.message).toBe(
      'schedule rejected: the operation is in phase assessment, not joint_action',
    );
    expect(admissible.schedule({ ...plan, at: '2026-11-24T10:00:00Z' }, ctx())?.message).toBe(
      'schedule rejected: at "2026-11-24T10:00:00Z" is not in the future',
    );
    expect(admissible.schedule({ ...plan, lead: 'tullverket' }, ctx())?.message).toBe(
      'schedule rejected: lead "tullverket" has not accepted a mandate (participants: polisen, skatteverket)',
    );
    expect(admissible.schedule({ ...plan, lead: 'tullverket' }, ctx())).toMatchObject({
      code: 'lead-not-participant',
      field: 'lead',
      params: { lead: 'tullverket' },
    });
    expect(admissible.schedule({ ...plan, at: '2026-11-24T10:00:00Z' }, ctx())).toMatchObject({ code: 'time-not-in-future', field: 'at' });
    expect(admissible.schedule(plan, ctx({ intended: new Set(['schedule']) }))?.message).toBe(
      'schedule rejected: the action is already scheduled; use reschedule',
    );
  });

  it('refuses everything but nothing once a cancellation is recorded, and a second cancellation', () => {
    const cancelling = ctx({ intended: new Set(['cancel']) });
    expect(admissible.schedule(plan, cancelling)?.message).toBe('schedule rejected: the operation is being cancelled');
    expect(admissible.cancel(cancelling)?.message).toBe('cancel rejected: the operation is already being cancelled');
    expect(admissible.cancel(ctx({ phase: 'closed', stage: 'ended' }))?.message).toBe('cancel rejected: the operation is already closed');
  });

  it('takes one closing decision at a time, and only once the outcomes are in', () => {
    const closing = ctx({ phase: 'follow_up', stage: 'closing_decision', waitingFor: 'closing decision' });
    expect(admissible.closing('close', closing)).toBeUndefined();
    expect(admissible.closing('reinspection', ctx({ ...closing, intended: new Set(['close']) }))?.message).toBe(
      'reinspection rejected: still waiting for closing decision',
    );
    expect(admissible.closing('close', ctx({ phase: 'follow_up', stage: 'outcomes', waitingFor: 'outcome reports (polisen)' }))?.message).toBe(
      'close rejected: still waiting for outcome reports (polisen)',
    );
  });

  it('lets a request for information and a reschedule leave their kind open, and every other pending decision block its own', () => {
    const pending = pendingDecisions([{ kind: 'assessment', decision: { decision: 'request_info' } }, { kind: 'reschedule' }, { kind: 'call off' }]);
    expect([...pending]).toEqual(['call off']);
    expect([...pendingDecisions([{ kind: 'assessment', decision: { decision: 'proceed' } }])]).toEqual(['assessment']);
  });

  it('asks only agencies of the mandate catalogue for information', () => {
    const assessing = ctx({ phase: 'assessment', stage: 'assessment' });
    expect(admissible.assessment({ decision: 'request_info', agencies: ['polisen'], question: 'Any reason to hold back?' }, assessing)).toBeUndefined();
    expect(
      admissible.assessment({ decision: 'request_info', agencies: ['polisen', 'interpol' as never], question: 'Any reason to hold back?' }, assessing)?.message,
    ).toBe(`agencies.1 "interpol": not in this municipality's mandate catalogue`);
  });
});

describe('the start input, however the operation is started', () => {
  const tip = {
    entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12', municipality: 'Umeå' },
    categories: ['smuggling'],
    description: 'Observed.',
    urgency: 'high',
    source: { kind: 'public' },
    receivedAt: '2026-11-02T09:15:00+01:00',
  };

  it('applies the typed client’s defaults: every deadline, and the national catalogue', () => {
    const start = OperationStart.parse({ tip });
    expect(start.config.assessmentDeadline).toBe('10 working days');
    expect(start.config.quorum).toBe(2);
    expect(start.catalogue.agencies.map((a) => a.id)).toEqual(catalogue.agencies.map((a) => a.id));
    expect(OperationStart.parse({ tip, config: {} }).config.mandateDeadline).toBe('5 working days');
  });

  it('names the field of an invalid tip', () => {
    const parsed = OperationStart.safeParse({ tip: { ...tip, entity: { ...tip.entity, orgNumber: '123' }, categories: ['bogus'] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['tip.entity.orgNumber', 'tip.categories.0']);
  });
});
