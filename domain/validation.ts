import type { z } from 'zod';

/** How much of a rejected value an error message quotes: enough to recognise it, never a whole document. */
export const QUOTE_LIMIT = 100;

/**
 * A value as an error message quotes it: JSON-quoted (so control characters show as escapes), invisible
 * formatting characters escaped too, and cut to about `QUOTE_LIMIT` characters with the full length said.
 */
export function quoteValue(value: string | number, limit: number = QUOTE_LIMIT): string {
  if (typeof value === 'number') return String(value);
  const chars = [...value];
  const shown = chars.length > limit ? `${chars.slice(0, limit).join('')}…` : value;
  const quoted = JSON.stringify(shown).replace(
    /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return chars.length > limit ? `${quoted} (${chars.length} characters)` : quoted;
}

/** One line per problem: `entity.orgNumber "5566778899": Luhn check digit should be 7`. */
export function describeIssues(error: z.ZodError, input?: unknown, fieldName: (path: string) => string = (path) => path): string {
  return error.issues
    .map((issue) => {
      const path = fieldName(issue.path.map(String).join('.') || '(root)');
      const value = input === undefined ? undefined : valueAt(input, issue.path);
      const shown = typeof value === 'string' || typeof value === 'number' ? ` ${quoteValue(value)}` : '';
      return `${path}${shown}: ${issue.message}`;
    })
    .join('; ');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * A refusal as the engine's failures carry it. `message` names each field and why, never its value: Temporal keeps
 * failure messages readable (the UI, `temporal workflow show`, no key), and a value may be personal. `quoted` is the
 * same with each value quoted, for the entitled: it travels in the failure's details, which the payload codec
 * encrypts, and the API answers with it (api/failures.ts).
 */
export interface Rejection {
  message: string;
  quoted: string;
}

export function rejection(what: string, error: z.ZodError, input: unknown): Rejection {
  return { message: `${what} rejected: ${describeIssues(error)}`, quoted: `${what} rejected: ${describeIssues(error, input)}` };
}

/** One schema issue for a machine: the field, a stable code (the domain's own, else zod's) and the facts it names. */
export interface CodedIssue {
  field: string;
  code: string;
  params?: Record<string, string>;
}

/**
 * The issues' codes: a domain check puts its own in the custom issue's params (`org-number-check-digit`,
 * `time-not-in-stockholm`), any other issue keeps zod's (`too_small`, with its minimum and origin as params).
 */
export function codedIssues(error: z.ZodError): CodedIssue[] {
  return error.issues.map((issue) => {
    const own = issue.code === 'custom' && typeof issue.params?.code === 'string' ? issue.params.code : undefined;
    const facts = issue as unknown as Record<string, unknown>;
    const params: Record<string, string> = {};
    for (const key of ['minimum', 'maximum', 'origin'] as const) if (facts[key] !== undefined) params[key] = String(facts[key]);
    return { field: issue.path.map(String).join('.') || '(root)', code: own ?? issue.code, ...(Object.keys(params).length > 0 ? { params } : {}) };
  });
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse with a schema and, on failure, a message that names every field and its reason. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string, fieldName?: (path: string) => string): Parsed<z.infer<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: `${what} rejected: ${describeIssues(result.error, input, fieldName)}` };
}
