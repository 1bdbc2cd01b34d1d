import { condition, workflowInfo } from '@temporalio/workflow';
import { reminderTime } from '../domain/index.js';
import { nowMs, type Operation } from './operation-state.js';

export type WaitResult = 'done' | 'timeout' | 'interrupted';

/** Months-long operations must not outgrow their history: the main loop continues as new when this holds. */
export function continueAsNewDue(op: Operation): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || (op.config.historyEventLimit !== undefined && info.historyLength >= op.config.historyEventLimit);
}

/**
 * Waits until `done`, or until `untilMs` passes (a durable timer). Returns 'interrupted' early when the main
 * loop must look first: a cancellation, a correction to pass on, or a due continue-as-new.
 */
export async function waitFor(op: Operation, done: () => boolean, untilMs?: number, summary?: string): Promise<WaitResult> {
  const interrupted = () => op.cancelling || op.hasIntent('correction') || continueAsNewDue(op);
  const wake = () => done() || interrupted();
  op.flushStatus();
  if (wake()) return done() ? 'done' : 'interrupted';
  if (untilMs === undefined) await condition(wake);
  else if (untilMs > nowMs()) await condition(wake, untilMs - nowMs(), summary ? { summary } : {});
  if (done()) return 'done';
  return interrupted() ? 'interrupted' : 'timeout';
}

export interface DeadlineHandlers {
  /** At the configured fraction of the deadline, while not done. */
  remind: () => Promise<void>;
  /** At the deadline, while not done: 'continue' moves on, 'keep_waiting' waits on for `done`. */
  missed: () => Promise<'continue' | 'keep_waiting'>;
}

/**
 * The shape of every deadline: wait, remind at the configured fraction, and at the deadline act on what is
 * missing. What has been done is kept in the operation's deadline, so a continued run does not repeat it.
 */
export async function awaitWithDeadline(op: Operation, done: () => boolean, label: string, on: DeadlineHandlers): Promise<'done' | 'interrupted'> {
  const deadline = op.memory.deadline;
  if (deadline && !deadline.reminded) {
    const at = reminderTime(Date.parse(deadline.startedAt), Date.parse(deadline.dueAt), op.config.reminderFraction);
    // Named like the deadline's timer: an operator reads in the UI what each pending timer is for (the Temporal UI
    // does not show the current details on every server), worth the few bytes a cancelled one writes twice.
    const outcome = await waitFor(op, done, at, `${label}: reminder`);
    if (outcome !== 'timeout') return outcome;
    // A reminder whose workflow task runs after the deadline (a worker away, a backlog) would remind of a deadline
    // already passed, just before its escalation: it is left out, on the record.
    if (op.reminderTooLate()) op.reminderOvertaken(label);
    else {
      op.deadlineReminded();
      await on.remind();
    }
  }
  if (deadline && !deadline.missed) {
    const outcome = await waitFor(op, done, Date.parse(deadline.dueAt), `${label}: deadline`);
    if (outcome !== 'timeout') return outcome;
    op.deadlineMissed(label);
    if ((await on.missed()) === 'continue') return 'done';
  }
  return (await waitFor(op, done)) === 'done' ? 'done' : 'interrupted';
}
