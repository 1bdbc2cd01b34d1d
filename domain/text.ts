import { z } from 'zod';

/**
 * Free text a person or an agency system writes: trimmed, then at least `min` and at most `max` characters.
 *
 * JSON Schema cannot trim, so the generated schema carries a pattern that says the same thing: somewhere in
 * the text are two non-blank characters at least `min` characters apart (for `min` 1, one non-blank
 * character). An integrator validating with the JSON Schema then refuses "   " just as zod does.
 */
export function Text(min: number, max: number, message?: string) {
  return z
    .string()
    .trim()
    .min(min, message)
    .max(max)
    .meta({ pattern: nonBlankPattern(min) });
}

/** A pattern a string matches exactly when it holds at least `min` characters once trimmed. */
export function nonBlankPattern(min: number): string {
  if (min <= 1) return '\\S';
  return `\\S[\\s\\S]{${min - 2},}\\S`;
}
