/**
 * The operation's phase state machine. Five working phases (tip, bedömning, mandatmatchning, gemensam
 * insats, uppföljning) and three ends. The workflow asks this function before every move, so a move the
 * rules do not allow can never happen, whatever order events arrive in.
 */
export const PHASES = ['tip', 'assessment', 'mandate_matching', 'joint_action', 'follow_up', 'closed', 'dismissed', 'cancelled'] as const;
export type Phase = (typeof PHASES)[number];

export const TERMINAL_PHASES: readonly Phase[] = ['closed', 'dismissed', 'cancelled'];

export type PhaseEvent =
  | 'tip_registered'
  | 'assessed_proceed'
  | 'assessed_dismiss'
  | 'quorum_met'
  | 'quorum_overridden'
  | 'quorum_dismiss'
  | 'findings_complete'
  | 'reinspection_ordered'
  | 'closed'
  | 'cancelled';

/** The phase moves, also read by the stage machine's tests to check that both machines agree. */
export const MOVES: Partial<Record<Phase, Partial<Record<PhaseEvent, Phase>>>> = {
  tip: { tip_registered: 'assessment' },
  assessment: { assessed_proceed: 'mandate_matching', assessed_dismiss: 'dismissed' },
  mandate_matching: { quorum_met: 'joint_action', quorum_overridden: 'joint_action', quorum_dismiss: 'dismissed' },
  joint_action: { findings_complete: 'follow_up' },
  // A re-inspection is a new joint action: the loop back in the lifecycle.
  follow_up: { reinspection_ordered: 'joint_action', closed: 'closed' },
};

export type Transition = { ok: true; to: Phase } | { ok: false; reason: string };

export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

export function transition(from: Phase, event: PhaseEvent): Transition {
  if (isTerminal(from)) return { ok: false, reason: `the operation is already ${from}` };
  // Cancellation is possible in every working phase.
  if (event === 'cancelled') return { ok: true, to: 'cancelled' };
  const to = MOVES[from]?.[event];
  if (!to) return { ok: false, reason: `"${event}" is not possible in phase ${from}` };
  return { ok: true, to };
}

/** The moves open from a phase: what the coordinator can do next. */
export function allowedEvents(from: Phase): PhaseEvent[] {
  if (isTerminal(from)) return [];
  return [...(Object.keys(MOVES[from] ?? {}) as PhaseEvent[]), 'cancelled'];
}
