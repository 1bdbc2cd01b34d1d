import { z } from 'zod';

/**
 * Free text a person or an agency system writes. It is forwarded to agencies and printed on terminals, so it
 * is cleaned at every boundary: NFC-normalised (so "Umeå" typed with a combining ring is the same "Umeå"),
 * trimmed, bounded, and free of control characters (NUL, ANSI escape sequences) and bidirectional overrides,
 * which can make a terminal or a case system show something other than what was sent.
 *
 * `Text` allows line breaks and tabs (descriptions, reasons); `Line` is one line (names, addresses, places).
 *
 * JSON Schema cannot trim or normalise, so the generated schema carries one pattern that says the rest: no
 * forbidden character, and somewhere two non-blank characters at least `min` characters apart (for `min` 1,
 * one non-blank character). An integrator validating with the JSON Schema then refuses what zod refuses.
 */
export function Text(min: number, max: number, message?: string) {
  return cleanText(min, max, message, 'many');
}

/** One line of free text: like `Text`, but a line break inside it is refused. */
export function Line(min: number, max: number, message?: string) {
  return cleanText(min, max, message, 'one');
}

type Lines = 'one' | 'many';

function cleanText(min: number, max: number, message: string | undefined, lines: Lines) {
  return z
    .string()
    .normalize('NFC')
    .trim()
    .min(min, message)
    .max(max)
    .check((ctx) => {
      const problem = forbiddenCharacter(ctx.value, lines);
      if (problem) ctx.issues.push({ code: 'custom', message: problem.message, input: ctx.value, params: { code: problem.code } });
    })
    .meta({ pattern: textPattern(min, lines) });
}

// C0 controls other than tab, line feed and carriage return; DEL; C1 controls.
const CONTROL = '\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F';
// Bidirectional embeddings, overrides and isolates (the "Trojan Source" characters).
const BIDI = '\\u202A-\\u202E\\u2066-\\u2069';
// Line breaks, refused inside a one-line field.
const BREAKS = '\\n\\r\\u2028\\u2029';

const CONTROL_RE = new RegExp(`[${CONTROL}]`, 'u');
const BIDI_RE = new RegExp(`[${BIDI}]`, 'u');
const BREAK_RE = new RegExp(`[${BREAKS}]`, 'u');

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a (trimmed) text is refused, naming the character and where it is, with a stable code; undefined when it is clean. */
export function forbiddenCharacter(
  text: string,
  lines: Lines = 'many',
): { code: 'text-control-character' | 'text-bidi-override' | 'text-line-break'; message: string } | undefined {
  const found = (re: RegExp) => {
    const match = re.exec(text);
    return match ? `${codePoint(match[0])} at character ${match.index + 1}` : undefined;
  };
  const control = found(CONTROL_RE);
  if (control)
    return {
      code: 'text-control-character',
      message: `contains a control character (${control}); ${lines === 'many' ? 'only line breaks and tabs are allowed' : 'only tabs are allowed'}`,
    };
  const bidi = found(BIDI_RE);
  if (bidi) return { code: 'text-bidi-override', message: `contains a bidirectional override (${bidi}), which can make the text display as something else` };
  if (lines === 'one') {
    const lineBreak = found(BREAK_RE);
    if (lineBreak) return { code: 'text-line-break', message: `must be one line, but has a line break (${lineBreak})` };
  }
  return undefined;
}

/** A pattern a string matches exactly when it holds at least `min` characters once trimmed. */
export function nonBlankPattern(min: number): string {
  if (min <= 1) return '\\S';
  return `\\S[\\s\\S]{${min - 2},}\\S`;
}

/**
 * The whole JSON Schema pattern of a text field: at least `min` characters once trimmed, and no forbidden
 * character (a line break only as leading or trailing blank for a one-line field, since those are trimmed).
 */
export function textPattern(min: number, lines: Lines): string {
  const nonBlank = min >= 1 ? `(?=[\\s\\S]*${nonBlankPattern(min)})` : '';
  const body = lines === 'many' ? `[^${CONTROL}${BIDI}]*` : `\\s*[^${CONTROL}${BIDI}${BREAKS}]*\\s*`;
  return `^${nonBlank}${body}$`;
}
