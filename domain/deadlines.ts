import { parseDuration } from './durations.js';
import { addWorkingDays, parseWorkingDays } from './workingDays.js';

/**
 * When a deadline falls. Durations are either plain ("36h", "10 days"; durations.ts) or in Swedish working days
 * ("5 working days", "5 arbetsdagar"; workingDays.ts), which skip weekends and public holidays.
 */
export function isDeadlineDuration(text: string): boolean {
  return parseWorkingDays(text) !== undefined || parseDuration(text) !== undefined;
}

export function deadlineAfter(startMs: number, text: string): number {
  const workingDays = parseWorkingDays(text);
  if (workingDays !== undefined) return addWorkingDays(startMs, workingDays);
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`"${text}" is not a duration such as "10 days", "30s" or "5 working days"`);
  return startMs + ms;
}

/** When the reminder for a deadline goes out: at a fraction of the time between start and due. */
export function reminderTime(startMs: number, dueMs: number, fraction: number): number {
  return startMs + Math.round((dueMs - startMs) * fraction);
}
