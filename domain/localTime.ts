import { z } from 'zod';
import { stockholmOffsetMinutes } from './workingDays.js';
import { shared } from './shared.js';

/**
 * Swedish local time (Europe/Stockholm) as people read and type it: CET (+01:00) in winter, CEST (+02:00)
 * from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October (the EU rule Sweden
 * has followed since 1996). Pure arithmetic on the instant, no time-zone database and no clock, so it gives
 * the same answer in the workflow sandbox, on replay and on every Node version.
 */

export const TIME_ZONE = 'Europe/Stockholm';

/** Times are bounded: nothing LOS handles lies before 2000 or after 2099 (a typo such as 9999 is refused). */
export const EARLIEST_YEAR = 2000;
export const LATEST_YEAR = 2099;

const HOUR_MS = 3_600_000;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export interface WallTime {
  /** "2026-03-12" */
  date: string;
  /** "19:00:00" */
  time: string;
  /** "+01:00" or "+02:00" */
  offset: string;
  /** "CET" or "CEST" */
  zone: 'CET' | 'CEST';
}

/** The Stockholm wall clock at an instant (an ISO string or epoch milliseconds). */
export function stockholmWallTime(instant: string | number): WallTime {
  const ms = typeof instant === 'number' ? instant : Date.parse(instant);
  const offset = stockholmOffsetMinutes(ms);
  const local = new Date(ms + offset * 60_000);
  return {
    date: `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`,
    time: `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`,
    offset: `+${pad(offset / 60)}:00`,
    zone: offset === 120 ? 'CEST' : 'CET',
  };
}

/** For people: "2026-03-12 19:00:00 CET". */
export function formatStockholm(instant: string | number): string {
  const wall = stockholmWallTime(instant);
  return `${wall.date} ${wall.time} ${wall.zone}`;
}

/** For machines and people at once: ISO 8601 with the Stockholm offset, "2026-03-12T19:00:00+01:00". */
export function stockholmIso(instant: string | number): string {
  const wall = stockholmWallTime(instant);
  return `${wall.date}T${wall.time}${wall.offset}`;
}

export type InstantReading = { ok: true; iso: string; ms: number; readAsLocal: boolean } | { ok: false; reason: string; code: InstantProblem };
/** Why a typed time is refused, as a stable code (the console words it in Swedish). */
export type InstantProblem = 'time-format' | 'time-not-real' | 'time-out-of-range' | 'time-offset' | 'time-not-in-stockholm';

const ISO_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/;

export const INSTANT_FORMAT_HINT = 'must be an ISO 8601 date-time such as 2026-03-12T19:00 (read as Stockholm time) or 2026-03-12T19:00:00+01:00';

/**
 * Reads a time as a person types it. With an offset ("Z", "+01:00") it is that instant, kept as typed. Without
 * one it is read as Stockholm wall time and returned with its offset, so the echo shows how it was read. A
 * wall time that does not exist (the hour skipped in March) is refused; one that happens twice (the hour
 * repeated in October) is the first of the two, still in summer time.
 */
export function readInstant(text: string): InstantReading {
  const match = ISO_PATTERN.exec(text.trim());
  if (!match) return { ok: false, code: 'time-format', reason: INSTANT_FORMAT_HINT };
  const [, y, mo, d, h, mi, s = '00', fraction = '', offset] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const millis = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(wallMs);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, code: 'time-not-real', reason: 'is not a real date and time' };
  }
  if (year < EARLIEST_YEAR || year > LATEST_YEAR)
    return { ok: false, code: 'time-out-of-range', reason: `must lie between the years ${EARLIEST_YEAR} and ${LATEST_YEAR}` };
  if (offset !== undefined) {
    const sign = offset === 'Z' ? 0 : offset.startsWith('-') ? -1 : 1;
    const minutes = offset === 'Z' ? 0 : Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6));
    if (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4, 6)) > 59)
      return { ok: false, code: 'time-offset', reason: `has an impossible offset ${offset}` };
    return { ok: true, iso: text.trim(), ms: wallMs - sign * minutes * 60_000, readAsLocal: false };
  }
  // Summer time first, so that the repeated October hour is read as its first occurrence.
  for (const offsetMinutes of [120, 60]) {
    const ms = wallMs - offsetMinutes * 60_000;
    if (stockholmOffsetMinutes(ms) === offsetMinutes) {
      const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}+${pad(offsetMinutes / 60)}:00`;
      return { ok: true, iso, ms, readAsLocal: true };
    }
  }
  return { ok: false, code: 'time-not-in-stockholm', reason: 'does not exist in Stockholm: the clocks jump from 02:00 to 03:00 that night' };
}

/**
 * A time typed by a person, as every input schema takes it: with an offset, or without one and then read
 * as Stockholm time (see `readInstant`); always bounded to the years LOS can mean.
 */
export const Instant = shared('localTime.Instant', () =>
  z.string().transform((value, ctx) => {
    const reading = readInstant(value);
    if (!reading.ok) {
      ctx.addIssue({ code: 'custom', message: reading.reason, params: { code: reading.code } });
      return z.NEVER;
    }
    return reading.iso;
  }),
);

/**
 * An instant as machines write it on the wire (CloudEvent times, deadlines in events, answers' receipt):
 * ISO 8601 with its offset, taken as given. What a person types is an `Instant`.
 */
export const IsoTime = shared('localTime.IsoTime', () => z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }));
export type IsoTime = z.infer<typeof IsoTime>;

/** How far ahead a joint action may be scheduled: a year-long plan is rare, two years is surely a typo. */
export const ACTION_HORIZON_MS = 2 * 366 * 24 * HOUR_MS;

/** Why an action cannot start at `atMs` when it is now `nowMs`, or undefined when it can. */
export const ACTION_TIME_PROBLEMS = { 'not-in-future': 'is not in the future', 'too-far-ahead': 'is more than two years ahead' } as const;
export type ActionTimeProblem = keyof typeof ACTION_TIME_PROBLEMS;

export function actionTimeProblem(atMs: number, nowMs: number): ActionTimeProblem | undefined {
  if (atMs <= nowMs) return 'not-in-future';
  if (atMs > nowMs + ACTION_HORIZON_MS) return 'too-far-ahead';
  return undefined;
}
