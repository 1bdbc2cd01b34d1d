import { describe, expect, it } from 'vitest';
import { PHASES, allowedEvents, isTerminal, transition, type Phase, type PhaseEvent } from '../../domain/index.js';

describe('phase state machine', () => {
  it('walks the five phases of a successful operation in order', () => {
    const path: [PhaseEvent, Phase][] = [
      ['tip_registered', 'assessment'],
      ['assessed_proceed', 'mandate_matching'],
      ['quorum_met', 'joint_action'],
      ['findings_complete', 'follow_up'],
      ['closed', 'closed'],
    ];
    let phase: Phase = 'tip';
    for (const [event, expected] of path) {
      const result = transition(phase, event);
      expect(result).toEqual({ ok: true, to: expected });
      if (result.ok) phase = result.to;
    }
  });

  it('loops back to joint action when a re-inspection is ordered at follow-up', () => {
    expect(transition('follow_up', 'reinspection_ordered')).toEqual({ ok: true, to: 'joint_action' });
  });

  it('refuses to skip a phase', () => {
    expect(transition('assessment', 'quorum_met')).toEqual({ ok: false, reason: '"quorum_met" is not possible in phase assessment' });
    expect(transition('tip', 'closed').ok).toBe(false);
    expect(transition('mandate_matching', 'findings_complete').ok).toBe(false);
  });

  it('allows cancellation in every working phase and in no ended one', () => {
    for (const phase of PHASES) {
      expect(transition(phase, 'cancelled').ok, phase).toBe(!isTerminal(phase));
    }
  });

  it('never leaves an ended operation', () => {
    for (const phase of ['closed', 'dismissed', 'cancelled'] as const) {
      expect(allowedEvents(phase)).toEqual([]);
      expect(transition(phase, 'tip_registered')).toEqual({ ok: false, reason: `the operation is already ${phase}` });
    }
  });

  it('lists what the coordinator can do next', () => {
    expect(allowedEvents('assessment')).toEqual(['assessed_proceed', 'assessed_dismiss', 'cancelled']);
  });
});
