import ms from 'ms';

/**
 * Durations are inputs everywhere (a real assessment deadline is days, a test's is seconds), written the way
 * people write them: "10 days", "36h", "90 s", "500ms". `ms` reads them, pinned to the version the Temporal SDK
 * reads its own duration strings with, so both read a string alike and no second version is installed. It is
 * pure, deterministic JavaScript, so it runs in the workflow sandbox.
 */

/** A unit is required: `ms` reads a bare "10" as ten milliseconds, which for a deadline is surely a mistake. */
const ENDS_IN_A_UNIT = /[a-z]$/i;

/** Milliseconds for a duration string, or undefined when it is not one (or not longer than nothing). */
export function parseDuration(text: string): number | undefined {
  const written = text.trim().replace(/\s+/g, ' ');
  if (!ENDS_IN_A_UNIT.test(written)) return undefined;
  let value: number;
  try {
    value = ms(written as ms.StringValue);
  } catch {
    // ms throws on input longer than 100 characters instead of answering NaN.
    return undefined;
  }
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}
