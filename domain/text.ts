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
/**
 * Invisible format characters (Unicode's Cf) other than the bidirectional ones above, refused inside a one-line
 * field: soft hyphen, Arabic letter mark, zero-width space, left-to-right and right-to-left marks, word joiner and
 * the invisible operators, the byte-order mark, interlinear annotation and the tag characters. A one-line field is
 * a name, an address, a place or a municipality: people compare, search and copy it, and an invisible character
 * makes two values that look the same differ (or hides text in one). Two are allowed, as they are part of correct
 * spelling: the zero-width non-joiner (U+200C; Persian, Kurdish and Indic names) and the zero-width joiner
 * (U+200D; Indic scripts, emoji). Free text of several lines (descriptions, reasons) is read, not compared, and
 * is often pasted from documents that carry soft hyphens and direction marks, so it keeps them.
 */
const FORMAT =
  '\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u180E\\u200B\\u200E\\u200F\\u2060-\\u2064\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFB';

const CONTROL_RE = new RegExp(`[${CONTROL}]`, 'u');
const BIDI_RE = new RegExp(`[${BIDI}]`, 'u');
const BREAK_RE = new RegExp(`[${BREAKS}]`, 'u');
// The tag characters (U+E0001, U+E0020–U+E007F) and the other format characters outside the BMP: zod refuses them
// too; the JSON Schema pattern, which a validator may read without the `u` flag, names only the BMP's.
const FORMAT_RE = new RegExp(
  `[${FORMAT}\\u{110BD}\\u{110CD}\\u{13430}-\\u{1343F}\\u{1BCA0}-\\u{1BCA3}\\u{1D173}-\\u{1D17A}\\u{E0001}\\u{E0020}-\\u{E007F}]`,
  'u',
);

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a (trimmed) text is refused, naming the character and where it is, with a stable code; undefined when it is clean. */
export function forbiddenCharacter(
  text: string,
  lines: Lines = 'many',
): { code: 'text-control-character' | 'text-bidi-override' | 'text-line-break' | 'text-format-character'; message: string } | undefined {
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
    const format = found(FORMAT_RE);
    if (format)
      return {
        code: 'text-format-character',
        message: `contains an invisible format character (${format}), which makes it differ from what it shows; only U+200C and U+200D are allowed`,
      };
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
  const body = lines === 'many' ? `[^${CONTROL}${BIDI}]*` : `\\s*[^${CONTROL}${BIDI}${BREAKS}${FORMAT}]*\\s*`;
  return `^${nonBlank}${body}$`;
}
