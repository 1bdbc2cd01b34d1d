import type { Phase } from './phases.js';

/**
 * The stage machine: where an operation stands between two events, finer than its phase, so it resumes
 * exactly after a restart or a continue-as-new. One vocabulary serves stages, deadlines and what is awaited:
 * a deadline is named after the stage it ends, and a request awaits what its stage collects. `escalated`:
 * the steering group is told when the stage's deadline passes.
 */
export const STAGES = {
  // Missed, the decision is still owed: the steering group hears of it.
  assessment: { phase: 'assessment', awaiting: 'assessment decision', hasDeadline: true, escalated: true },
  // Missed, no answer counts as no: nothing is owed, so nothing is escalated.
  mandate_answers: { phase: 'mandate_matching', awaiting: 'mandate answers', hasDeadline: true, escalated: false },
  quorum_decision: { phase: 'mandate_matching', awaiting: 'quorum decision', hasDeadline: false, escalated: false },
  schedule_decision: { phase: 'joint_action', awaiting: 'schedule decision', hasDeadline: false, escalated: false },
  action_start: { phase: 'joint_action', awaiting: 'action start', hasDeadline: true, escalated: false },
  findings: { phase: 'joint_action', awaiting: 'findings reports', hasDeadline: true, escalated: true },
  follow_up: { phase: 'follow_up', awaiting: 'follow-up period', hasDeadline: true, escalated: false },
  outcomes: { phase: 'follow_up', awaiting: 'outcome reports', hasDeadline: true, escalated: true },
  closing_decision: { phase: 'follow_up', awaiting: 'closing decision', hasDeadline: false, escalated: false },
  ended: { phase: undefined, awaiting: 'nothing: the operation has ended', hasDeadline: false, escalated: false },
} as const satisfies Record<string, { phase: Phase | undefined; awaiting: string; hasDeadline: boolean; escalated: boolean }>;

export type Stage = keyof typeof STAGES;
export type WorkingStage = Exclude<Stage, 'ended'>;
/** A deadline is named after the stage it ends. */
export type DeadlineName = { [S in Stage]: (typeof STAGES)[S]['hasDeadline'] extends true ? S : never }[Stage];
/** The deadlines whose passing the engine escalates to the steering group. */
export type EscalatedDeadline = { [S in Stage]: (typeof STAGES)[S]['escalated'] extends true ? S : never }[Stage];
/** The same, as the steering group's contract lists them: derived from STAGES, so it promises only what is sent. */
export const ESCALATED_DEADLINES = (Object.keys(STAGES) as Stage[]).filter((stage): stage is EscalatedDeadline => STAGES[stage].escalated) as [
  EscalatedDeadline,
  ...EscalatedDeadline[],
];

export type StageEvent =
  | 'assessed_proceed'
  | 'dismissed'
  | 'answers_in'
  | 'quorum_missed'
  | 'quorum_reached'
  | 'asked_again'
  | 'action_scheduled'
  | 'action_called_off'
  | 'action_rescheduled'
  | 'action_started'
  | 'findings_in'
  | 'follow_up_due'
  | 'outcomes_in'
  | 'reinspection_ordered'
  | 'closed'
  | 'cancelled';

/** Every move a stage can make; a move not listed here cannot happen, whatever order events arrive in. */
export const STAGE_MOVES: Record<WorkingStage, Partial<Record<StageEvent, Stage>>> = {
  assessment: { assessed_proceed: 'mandate_answers', dismissed: 'ended' },
  mandate_answers: { quorum_reached: 'schedule_decision', quorum_missed: 'quorum_decision' },
  quorum_decision: { quorum_reached: 'schedule_decision', asked_again: 'mandate_answers', dismissed: 'ended' },
  schedule_decision: { action_scheduled: 'action_start' },
  // Called off, the operation stays in joint action: the coordinator schedules anew, or cancels. Rescheduled,
  // the action start begins again with the new time as its deadline.
  action_start: { action_started: 'findings', action_called_off: 'schedule_decision', action_rescheduled: 'action_start' },
  findings: { findings_in: 'follow_up' },
  follow_up: { follow_up_due: 'outcomes' },
  outcomes: { outcomes_in: 'closing_decision' },
  // A re-inspection is a new joint action: the loop back in the lifecycle.
  closing_decision: { reinspection_ordered: 'schedule_decision', closed: 'ended' },
};

export type StageMove = { ok: true; to: Stage } | { ok: false; reason: string };

export function moveStage(from: Stage, event: StageEvent): StageMove {
  if (from === 'ended') return { ok: false, reason: 'the operation has ended' };
  // Cancellation is possible at every working stage.
  if (event === 'cancelled') return { ok: true, to: 'ended' };
  const to = STAGE_MOVES[from][event];
  return to ? { ok: true, to } : { ok: false, reason: `"${event}" is not possible at stage ${from}` };
}

/** What the operation waits for, in words: the stage's, and the agencies still owing an answer. */
export function waitingFor(stage: Stage, agenciesOwing: readonly string[]): string {
  const words = STAGES[stage].awaiting;
  return agenciesOwing.length > 0 && stage !== 'ended' ? `${words} (${agenciesOwing.join(', ')})` : words;
}
