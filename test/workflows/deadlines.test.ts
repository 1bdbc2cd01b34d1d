import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessUpdate, searchAttributes, stateQuery, timelineQuery } from '../../workflows/definitions.js';
import { eventually } from '../engine.js';
import { startWorkflowTier, type WorkflowTier } from './harness.js';

/**
 * Deadlines in workflow time: reminders at the configured fraction, escalation to the steering group, silence
 * counted as no answer, late answers kept on the record. The timers are short and the tests run side by side.
 */
let tier: WorkflowTier;

beforeAll(async () => {
  tier = await startWorkflowTier('deadlines');
});
afterAll(async () => {
  await tier?.stop();
});

describe.concurrent('deadlines', () => {
  it('reminds the coordinator at the configured fraction of the assessment deadline, escalates when it passes, and still takes the decision', async () => {
    // 4 s: a worker that picks the reminder's timer up late (CI on two busy cores was 1.7 s late) still reminds before the deadline.
    const handle = await tier.start({ config: { assessmentDeadline: '4s', reminderFraction: 0.25 } });
    const operationId = handle.workflowId;
    const state = await tier.untilStage(handle, (s) => s.overdue);
    // Escalated, never silently closed: the operation stays in assessment, flagged overdue for operators.
    expect(state).toMatchObject({ phase: 'assessment', stage: 'assessment' });
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.overdue)).toBe(true);

    // The reminder timer is set for what is left of a quarter of the deadline once the operation has learned the
    // engine's keys (its first activity; none when a slow machine took that long), a second timer for what is left
    // of the deadline once the reminder is out (none when a slow machine took that long to send it).
    const timers = await tier.timers(handle);
    const reminderTimers = timers.filter((t) => t.summary === 'assessment: reminder');
    const deadlineTimers = timers.filter((t) => t.summary === 'assessment: deadline');
    expect(reminderTimers.length + deadlineTimers.length).toBe(timers.length);
    expect(reminderTimers.length).toBeLessThanOrEqual(1);
    for (const timer of reminderTimers) expect(timer.ms).toBeLessThanOrEqual(1_000);
    for (const timer of deadlineTimers) expect(timer.ms).toBeLessThanOrEqual(3_000);
    expect(deadlineTimers.length).toBeLessThanOrEqual(1);

    // The flag is set in the workflow before the escalation's delivery (an activity) has run.
    const [reminder, escalation, ...rest] = await tier.untilSent(operationId, (sent) => sent.some((e) => e.event === 'deadline_missed'));
    expect(rest).toEqual([]);
    expect(reminder).toMatchObject({ to: 'coordinator', event: 'decision_due', data: { operationId, decision: 'assessment' } });
    const dueMs = Date.parse(reminder!.data.dueAt as string);
    // Timers never fire early: the reminder goes out at the fraction or after it, and before the deadline.
    expect(Date.parse(reminder!.time)).toBeGreaterThanOrEqual(dueMs - 4_000 + 1_000);
    expect(Date.parse(reminder!.time)).toBeLessThan(dueMs);
    expect(escalation).toMatchObject({
      to: 'steering_group',
      event: 'deadline_missed',
      data: { operationId, deadline: 'assessment', dueAt: reminder!.data.dueAt, waitingFor: ['coordinator'] },
    });
    expect(Date.parse(escalation!.time)).toBeGreaterThanOrEqual(dueMs);
    const kinds = (await handle.query(timelineQuery)).map((e) => e.kind);
    expect(kinds.indexOf('escalated')).toBeGreaterThan(kinds.indexOf('reminder'));

    await tier.decide(handle, assessUpdate, { decision: 'dismiss', reason: 'No indication of organised crime after all.' });
    expect(await handle.result()).toMatchObject({ phase: 'dismissed', endReason: 'No indication of organised crime after all.' });
  });

  it('sends no reminder when its workflow task runs only after the deadline (the worker was away), says so on the record, and escalates', async () => {
    // A tier of its own: its worker goes away while the operation waits, so the reminder's timer fires with no worker
    // and the deadline passes before any worker takes the task. Reminders go out before the deadline (LOS.md).
    const away = await startWorkflowTier('deadlines-away');
    try {
      // The reminder at half of 8 s: time enough for the worker to stop before the reminder's timer fires.
      const handle = await away.start({ config: { assessmentDeadline: '8s', reminderFraction: 0.5 } });
      const operationId = handle.workflowId;
      await eventually(
        () => away.timers(handle),
        (timers) => timers.some((t) => t.summary === 'assessment: reminder'),
      );
      const dueAt = Date.parse((await handle.query(stateQuery)).nextDeadline!.dueAt);
      await away.stopWorker();
      expect(Date.now()).toBeLessThan(dueAt - 4_000); // the worker was gone before the reminder's time
      // What is tested is time passing with no worker: the deadline goes by before one comes back.
      await sleep(dueAt + 250 - Date.now());
      await away.startWorker();

      const state = await away.untilStage(handle, (s) => s.overdue);
      expect(state).toMatchObject({ phase: 'assessment', stage: 'assessment' });
      const sent = await away.untilSent(operationId, (events) => events.some((e) => e.event === 'deadline_missed'));
      expect(sent.map((e) => `${e.to} ${e.event}`)).toEqual(['steering_group deadline_missed']);
      const timeline = await handle.query(timelineQuery);
      const skipped = timeline.findIndex((e) => e.kind === 'deadline' && e.text === 'assessment reminder not sent: the deadline had already passed');
      expect(skipped).toBeGreaterThanOrEqual(0);
      expect(timeline.findIndex((e) => e.kind === 'escalated')).toBeGreaterThan(skipped);
      expect(Date.parse(timeline[skipped]!.at)).toBeGreaterThanOrEqual(dueAt);
    } finally {
      await away.stop();
    }
  });

  it('counts an agency that never answers as no answer, reminds only it, escalates nothing, and goes ahead when the others make quorum', async () => {
    // money_laundering → Polisen, Kronofogden and Länsstyrelsen, which stays silent.
    const handle = await tier.start({
      tip: { categories: ['money_laundering'] },
      config: { mandateDeadline: '4s' },
      agencies: { lansstyrelsen: { mandate: { accept: true, contactFunction: 'AML-tillsyn' }, ignore: ['mandate_requested'] } },
    });
    const operationId = handle.workflowId;
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, assessUpdate, { decision: 'proceed' });
    const state = await tier.untilStage(handle, 'schedule_decision');
    expect(Object.fromEntries(state.agencies.map((a) => [a.agency, a.mandate]))).toEqual({
      polisen: 'accepted',
      kronofogden: 'accepted',
      lansstyrelsen: 'no_answer',
    });
    expect(tier.receivedBy(operationId)).toEqual({
      polisen: ['mandate_requested'],
      kronofogden: ['mandate_requested'],
      lansstyrelsen: ['mandate_requested', 'reminder'],
    });
    // The reminder names the original request; answering that request is enough.
    const [request, reminder] = tier.sent(operationId).filter((e) => e.to === 'lansstyrelsen');
    expect(reminder!.data).toMatchObject({ correlation: request!.data.correlation, awaiting: 'mandate_answers' });
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'no_answer').map((e) => e.agency)).toEqual(['lansstyrelsen']);
    // No answer counts as no, so nothing is owed: the steering group is not told (its contract lists no such deadline).
    expect(timeline.filter((e) => e.kind === 'escalated')).toEqual([]);

    // Länsstyrelsen's system wakes up and answers the request it was sent: on the record, the phase not reopened.
    const receipts = await tier.answer(operationId, 'lansstyrelsen', 'mandate_accepted', {
      correlation: request!.data.correlation as never,
      tools: ['aml_supervision'],
      contactFunction: 'AML-tillsyn',
    });
    expect(receipts).toEqual(['late']);
    const after = await handle.query(stateQuery);
    expect(after).toMatchObject({ phase: 'joint_action', stage: 'schedule_decision' });
    expect(after.agencies.find((a) => a.agency === 'lansstyrelsen')?.mandate).toBe('no_answer');
    expect((await handle.query(timelineQuery)).filter((e) => e.kind === 'late_answer')).toEqual([
      expect.objectContaining({ agency: 'lansstyrelsen', text: 'mandate_accepted after the deadline' }),
    ]);
  });

  it('reminds a participant that has not reported findings, escalates at the deadline naming it, and moves on to follow-up', async () => {
    // tax_fraud → Skatteverket (reports) and Ekobrottsmyndigheten (silent on findings).
    const handle = await tier.start({
      tip: { categories: ['tax_fraud'] },
      // Long enough that Skatteverket's findings land before the reminder (half-way) even on a loaded machine.
      config: { findingsDeadline: '5s', followUpAfter: '1 hour' },
      agencies: { ekobrottsmyndigheten: { mandate: { accept: true, contactFunction: 'EBM, Umeå' }, ignore: ['findings_requested'] } },
    });
    const operationId = handle.workflowId;
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, assessUpdate, { decision: 'proceed' });
    await tier.untilStage(handle, 'schedule_decision');
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'skatteverket' });
    const state = await tier.untilStage(handle, 'follow_up');
    expect(Object.fromEntries(state.agencies.map((a) => [a.agency, a.findings]))).toEqual({ skatteverket: 'reported', ekobrottsmyndigheten: 'missing' });
    expect(state.overdue).toBe(false);
    const received = tier.receivedBy(operationId);
    expect(received.ekobrottsmyndigheten).toEqual(['mandate_requested', 'briefing', 'action_started', 'findings_requested', 'reminder']);
    expect(received.skatteverket).toEqual(['mandate_requested', 'briefing', 'action_started', 'findings_requested']);
    const escalation = tier.sent(operationId).find((e) => e.to === 'steering_group');
    expect(escalation?.data).toMatchObject({ operationId, deadline: 'findings', waitingFor: ['ekobrottsmyndigheten'] });
    const kinds = (await handle.query(timelineQuery)).map((e) => e.kind);
    expect(kinds.indexOf('escalated')).toBeGreaterThan(kinds.indexOf('reminder'));
    // The follow-up waits on a durable timer of its own, an hour here.
    expect((await tier.timers(handle)).at(-1)).toMatchObject({ summary: 'follow-up: outcome requests' });
  });

  it('asks for outcomes when the follow-up period ends, reaches the second wave, and escalates an outcome still owed', async () => {
    // smuggling → Polisen and Tullverket, which never reports outcomes; the rest of the catalogue is the second wave.
    const handle = await tier.start({
      tip: { categories: ['smuggling'] },
      // 3 s: the reminder at half of it comes before the deadline even when a busy machine takes its timer up late.
      config: { followUpAfter: '500ms', outcomeDeadline: '3s' },
      agencies: { tullverket: { mandate: { accept: true, contactFunction: 'tullkontroll' }, ignore: ['outcome_requested'] } },
    });
    const operationId = handle.workflowId;
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, assessUpdate, { decision: 'proceed' });
    await tier.untilStage(handle, 'schedule_decision');
    await tier.scheduleSoon(handle, { place: 'Storgatan 12', lead: 'polisen' });
    const state = await tier.untilStage(handle, 'closing_decision');
    expect(Object.fromEntries(state.agencies.map((a) => [a.agency, a.outcomes]))).toEqual({ polisen: 'reported', tullverket: 'missing' });

    const sent = tier.sent(operationId);
    const findingsIn = sent.find((e) => e.event === 'findings_requested')!;
    const outcomeRequests = sent.filter((e) => e.event === 'outcome_requested');
    expect(outcomeRequests.map((e) => e.to).sort()).toEqual(['polisen', 'tullverket']);
    // Not before the follow-up period has passed since the findings were in.
    expect(Date.parse(outcomeRequests[0]!.time)).toBeGreaterThanOrEqual(Date.parse(findingsIn.time) + 500);
    // The second wave goes out with the outcome requests, to every catalogue agency that was not on site, with the minimum only.
    const wave = sent.filter((e) => e.event === 'second_wave_notice');
    expect(wave.map((e) => e.to).sort()).toEqual([...state.secondWave].sort());
    expect(state.secondWave).not.toContain('polisen');
    expect(state.secondWave.length).toBeGreaterThan(5);
    expect(new Set(wave.map((e) => e.fanout))).toEqual(new Set([outcomeRequests[0]!.fanout]));
    for (const notice of wave) expect(JSON.stringify(notice.data)).not.toContain('Serves alcohol');
    expect(sent.find((e) => e.to === 'steering_group')?.data).toMatchObject({ deadline: 'outcomes', waitingFor: ['tullverket'] });
    expect(tier.receivedBy(operationId).tullverket?.slice(-2)).toEqual(['outcome_requested', 'reminder']);
  });
});
