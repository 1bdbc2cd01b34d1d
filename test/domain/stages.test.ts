import { describe, expect, it } from 'vitest';
import { MOVES, STAGE_MOVES, STAGES, moveStage, transition, waitingFor, type Stage, type StageEvent } from '../../domain/index.js';

describe('the stage machine', () => {
  it('goes from assessment to the end of a full lifecycle only through listed moves', () => {
    const path: StageEvent[] = [
      'assessed_proceed',
      'quorum_reached',
      'action_scheduled',
      'action_started',
      'findings_in',
      'follow_up_due',
      'outcomes_in',
      'closed',
    ];
    let stage: Stage = 'assessment';
    for (const event of path) {
      const move = moveStage(stage, event);
      expect(move.ok, `${stage} --${event}`).toBe(true);
      if (move.ok) stage = move.to;
    }
    expect(stage).toBe('ended');
  });

  it('refuses a move the table does not list, naming the event and the stage', () => {
    expect(moveStage('assessment', 'action_started')).toEqual({ ok: false, reason: '"action_started" is not possible at stage assessment' });
    expect(moveStage('ended', 'closed')).toEqual({ ok: false, reason: 'the operation has ended' });
  });

  it('allows a cancellation at every working stage, and only there', () => {
    for (const stage of Object.keys(STAGE_MOVES) as Stage[]) expect(moveStage(stage, 'cancelled')).toEqual({ ok: true, to: 'ended' });
    expect(moveStage('ended', 'cancelled').ok).toBe(false);
  });

  it('loops back to a new schedule decision on a re-inspection and on a called-off action', () => {
    expect(moveStage('closing_decision', 'reinspection_ordered')).toEqual({ ok: true, to: 'schedule_decision' });
    expect(moveStage('action_start', 'action_called_off')).toEqual({ ok: true, to: 'schedule_decision' });
  });

  it('re-enters the action start on a reschedule, and only there', () => {
    expect(moveStage('action_start', 'action_rescheduled')).toEqual({ ok: true, to: 'action_start' });
    expect(moveStage('schedule_decision', 'action_rescheduled')).toEqual({
      ok: false,
      reason: '"action_rescheduled" is not possible at stage schedule_decision',
    });
  });

  it('keeps every stage move inside the phase its target stage belongs to, or one phase move away', () => {
    for (const [from, moves] of Object.entries(STAGE_MOVES) as [Exclude<Stage, 'ended'>, Partial<Record<StageEvent, Stage>>][]) {
      for (const to of Object.values(moves)) {
        const fromPhase = STAGES[from].phase;
        const toPhase = STAGES[to].phase;
        if (toPhase === undefined || toPhase === fromPhase) continue;
        const phaseMoves = MOVES[fromPhase] ?? {};
        expect(Object.values(phaseMoves), `${from} → ${to}`).toContain(toPhase);
      }
    }
    expect(transition('assessment', 'assessed_proceed')).toEqual({ ok: true, to: STAGES.mandate_answers.phase });
  });

  it('says what it waits for in one vocabulary, naming agencies that still owe an answer', () => {
    expect(waitingFor('mandate_answers', ['polisen', 'tullverket'])).toBe('mandate answers (polisen, tullverket)');
    expect(waitingFor('action_start', [])).toBe('action start');
    expect(waitingFor('ended', ['polisen'])).toBe('nothing: the operation has ended');
  });
});
