import type { z } from 'zod';

/** One line per problem: `entity.orgNumber "5566778899": Luhn check digit should be 7`. */
export function describeIssues(error: z.ZodError, input?: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.') || '(root)';
      const value = input === undefined ? undefined : valueAt(input, issue.path);
      const shown = typeof value === 'string' || typeof value === 'number' ? ` ${JSON.stringify(value)}` : '';
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

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse with a schema and, on failure, a message that names every field and its reason. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): Parsed<z.infer<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: `${what} rejected: ${describeIssues(result.error, input)}` };
}
