/**
 * Deadlines that agencies are given in working days ("svar inom 5 arbetsdagar") fall on Swedish calendar
 * dates, so they skip weekends, public holidays and the eves that agencies treat as closed. Everything here is
 * plain arithmetic on day numbers: workflow code runs in Temporal's sandbox, where Intl time-zone data and the
 * system clock must not decide the answer. No library knows Swedish working days, so the grammar ("5 working
 * days", "5 arbetsdagar") and the holiday table are this file's own; plain durations are `ms`'s (durations.ts).
 *
 * From the first release (1.0.0) on, a change here that moves any date (a holiday added, removed or moved, an
 * eve treated as closed, the summer-time rule, the grammar) must go behind `patched()` in the workflow code
 * that calls it, the old rule kept beside the new. An operation's deadlines are computed in workflow code
 * (`deadlineAfter`), and its history records what followed from them: the timers started, the notices that
 * told agencies the due time. Replayed on a changed table, a running operation computes another due time than
 * the one it acted on: its state then contradicts what agencies were told, and where the new date changes
 * what the workflow does (a deadline now already past starts no timer, a reminder moves to another task)
 * replay fails with a nondeterminism error. Until 1.0.0 no operation runs anywhere: change it freely and
 * re-record the histories.
 */

export interface SwedishHoliday {
  /** The Swedish calendar date, YYYY-MM-DD. */
  date: string;
  /** The holiday's Swedish name, as agencies write it. */
  name: string;
}

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The inverse of dayNumber (Howard Hinnant's civil_from_days). */
function calendarDate(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday. */
function weekday(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

function isoDate(days: number): string {
  const { year, month, day } = calendarDate(days);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

const ISO_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function dayNumberOfIsoDate(dateIso: string): number {
  const match = ISO_DATE_PATTERN.exec(dateIso);
  if (match) {
    const days = dayNumber(Number(match[1]), Number(match[2]), Number(match[3]));
    // Round-tripping rejects dates such as 2026-02-30 that the arithmetic would silently roll over.
    if (isoDate(days) === dateIso) return days;
  }
  throw new Error(`"${dateIso}" is not a calendar date written YYYY-MM-DD, such as "2026-04-07"`);
}

/** The first date on or after `fromDays` that falls on `wantedWeekday`. */
function firstWeekdayFrom(fromDays: number, wantedWeekday: number): number {
  return fromDays + ((wantedWeekday - weekday(fromDays) + 7) % 7);
}

/** Easter Sunday by the anonymous Gregorian (Meeus/Jones/Butcher) algorithm; the Church of Sweden uses it. */
function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(year, month, day);
}

const FRIDAY = 5;
const SATURDAY = 6;
const SUNDAY = 0;

/**
 * The public holidays of lagen (1989:253) om allmänna helgdagar, plus midsommarafton, julafton and nyårsafton:
 * not holidays in law, but agencies are closed, so a deadline cannot fall on them.
 */
export function swedishPublicHolidays(year: number): SwedishHoliday[] {
  if (!Number.isInteger(year)) throw new Error(`holiday year must be a whole number, got ${year}`);
  const easter = easterSunday(year);
  const holidays: { days: number; name: string }[] = [
    { days: dayNumber(year, 1, 1), name: 'nyårsdagen' },
    { days: dayNumber(year, 1, 6), name: 'trettondedag jul' },
    { days: easter - 2, name: 'långfredagen' },
    { days: easter, name: 'påskdagen' },
    { days: easter + 1, name: 'annandag påsk' },
    { days: dayNumber(year, 5, 1), name: 'första maj' },
    { days: easter + 39, name: 'Kristi himmelfärdsdag' },
    { days: easter + 49, name: 'pingstdagen' },
    { days: dayNumber(year, 6, 6), name: 'nationaldagen' },
    { days: firstWeekdayFrom(dayNumber(year, 6, 19), FRIDAY), name: 'midsommarafton' },
    { days: firstWeekdayFrom(dayNumber(year, 6, 20), SATURDAY), name: 'midsommardagen' },
    { days: firstWeekdayFrom(dayNumber(year, 10, 31), SATURDAY), name: 'alla helgons dag' },
    { days: dayNumber(year, 12, 24), name: 'julafton' },
    { days: dayNumber(year, 12, 25), name: 'juldagen' },
    { days: dayNumber(year, 12, 26), name: 'annandag jul' },
    { days: dayNumber(year, 12, 31), name: 'nyårsafton' },
  ];
  // Pingstdagen can fall on or after nationaldagen, so the listed order is not always date order.
  return holidays.sort((x, y) => x.days - y.days).map(({ days, name }) => ({ date: isoDate(days), name }));
}

/** 01:00 UTC on the last Sunday of the month: the EU moment for switching summer time on or off. */
function summerTimeSwitchMs(year: number, month: number): number {
  const lastDayOfMonth = dayNumber(year, month + 1, 1) - 1;
  const lastSunday = lastDayOfMonth - weekday(lastDayOfMonth);
  return lastSunday * MS_PER_DAY + 60 * MS_PER_MINUTE;
}

/**
 * Minutes Swedish time is ahead of UTC at an instant: CET (+60), or CEST (+120) between the EU switches.
 * Uses today's EU rule for every year; Swedish summer-time history before 1996 is out of scope.
 */
export function stockholmOffsetMinutes(utcMs: number): number {
  if (!Number.isFinite(utcMs)) throw new Error(`instant must be a finite number of milliseconds, got ${utcMs}`);
  const { year } = calendarDate(Math.floor(utcMs / MS_PER_DAY));
  const summerTimeStarts = summerTimeSwitchMs(year, 3);
  const summerTimeEnds = summerTimeSwitchMs(year, 10);
  return utcMs >= summerTimeStarts && utcMs < summerTimeEnds ? 120 : 60;
}

function isWorkingDayNumber(days: number): boolean {
  const day = weekday(days);
  if (day === SATURDAY || day === SUNDAY) return false;
  const date = isoDate(days);
  const { year } = calendarDate(days);
  return !swedishPublicHolidays(year).some((holiday) => holiday.date === date);
}

/** Whether agencies work on a Swedish calendar date (YYYY-MM-DD): not a weekend, holiday or closed eve. */
export function isWorkingDay(dateIso: string): boolean {
  return isWorkingDayNumber(dayNumberOfIsoDate(dateIso));
}

/** The UTC instant at which Swedish clocks show `swedishWallMs` (wall-clock time written as if it were UTC). */
function utcOfSwedishWallClock(swedishWallMs: number): number {
  for (const offset of [60, 120]) {
    const candidate = swedishWallMs - offset * MS_PER_MINUTE;
    if (stockholmOffsetMinutes(candidate) === offset) return candidate;
  }
  // Only the skipped hour of the spring switch has no match, and that falls on a Sunday, never a working day;
  // should it ever be asked for, the winter offset moves it forward an hour, as the clocks do.
  return swedishWallMs - 60 * MS_PER_MINUTE;
}

/**
 * The instant `days` working days after `startUtcMs`, at the same Swedish wall-clock time. A deadline set at
 * 10:00 on a Thursday is due at 10:00 on the working day it lands on, whatever summer time did in between.
 */
export function addWorkingDays(startUtcMs: number, days: number): number {
  if (!Number.isInteger(days) || days <= 0) {
    throw new Error(`working days to add must be a whole number of at least 1, got ${days}`);
  }
  if (!Number.isFinite(startUtcMs)) {
    throw new Error(`start must be a finite number of milliseconds since 1970, got ${startUtcMs}`);
  }
  const swedishWallMs = startUtcMs + stockholmOffsetMinutes(startUtcMs) * MS_PER_MINUTE;
  let date = Math.floor(swedishWallMs / MS_PER_DAY);
  const timeOfDayMs = swedishWallMs - date * MS_PER_DAY;
  let counted = 0;
  while (counted < days) {
    date += 1;
    if (isWorkingDayNumber(date)) counted += 1;
  }
  return utcOfSwedishWallClock(date * MS_PER_DAY + timeOfDayMs);
}

const WORKING_DAYS_PATTERN = /^\s*(\d+)\s*(?:working\s+days?|arbetsdag(?:ar)?)\s*$/i;

/**
 * The count in "5 working days" or "3 arbetsdagar", or undefined when the text is not a working-day period.
 * Zero is rejected too: a deadline of no working days is not one addWorkingDays can set.
 */
export function parseWorkingDays(text: string): number | undefined {
  const match = WORKING_DAYS_PATTERN.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  return Number.isSafeInteger(count) && count > 0 ? count : undefined;
}
