import { z } from 'zod';
import { codedIssues } from '../domain/index.js';

/**
 * Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` per kind of problem
 * (`urn:los:problem:<slug>`), the HTTP status, and a `detail` that is the domain's own message naming the field
 * ("tip rejected: entity.orgNumber "5566778899": Luhn check digit should be 7"). Every refusal of the API is one
 * of these, so a client branches on `type` and shows `detail`.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The kinds of problem the API answers with, each with its status and title. */
export const PROBLEMS = {
  'invalid-input': { status: 400, title: 'The input was rejected' },
  unauthenticated: { status: 401, title: 'Not signed in' },
  forbidden: { status: 403, title: 'Not allowed' },
  'csrf-token': { status: 403, title: 'Missing or invalid CSRF token' },
  'not-found': { status: 404, title: 'No such resource' },
  'not-allowed-now': { status: 409, title: 'Not admissible now' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  unavailable: { status: 503, title: 'The engine is unavailable' },
  timeout: { status: 504, title: 'No answer in time' },
  internal: { status: 500, title: 'Internal error' },
} as const;
export type ProblemKind = keyof typeof PROBLEMS;

export const problemType = (kind: ProblemKind) => `urn:los:problem:${kind}`;

export const FieldError = z.object({
  field: z.string().meta({ description: 'The field, as a dotted path in the input (`entity.orgNumber`), or `(root)`.' }),
  message: z.string(),
  code: z.string().optional().meta({
    description:
      'What is wrong, stable for a client to branch on and translate: the domain’s own code (`org-number-check-digit`, `time-not-in-future`, `lead-not-participant`, …) or else the schema’s issue code (`too_small`, `invalid_type`, …).',
  }),
  params: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: 'The facts the message names (a minimum, an agency, a phase); never a personal field.' }),
});
export type FieldError = z.infer<typeof FieldError>;

export const Problem = z
  .object({
    type: z.string().meta({ description: 'urn:los:problem:<kind>' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().meta({ description: 'What was wrong, for a person; names the field when the input was at fault.' }),
    instance: z.string().meta({ description: 'The request path.' }),
    errors: z.array(FieldError).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof Problem>;

/** An error that answers with a problem; thrown anywhere in a route, turned into the response by the error handler. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;
  constructor(
    readonly kind: ProblemKind,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.status = PROBLEMS[kind].status;
  }
}

export function problemOf(kind: ProblemKind, detail: string, instance: string, errors?: FieldError[]): Problem {
  const { status, title } = PROBLEMS[kind];
  return { type: problemType(kind), title, status, detail, instance, ...(errors && errors.length > 0 ? { errors } : {}) };
}

/** The field errors of a zod error, one per issue, with the path as the domain's messages write it. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const coded = codedIssues(error);
  return error.issues.map((issue, i) => ({ ...coded[i]!, message: issue.message }));
}

/**
 * The field errors a refusal of the workflow's validator carries in its details, each with the refusal's message:
 * a decision rule's refusal (domain/admissibility.ts `Refused`) or the schema's issues (`codedIssues`).
 */
export function refusalErrors(details: readonly unknown[] | null | undefined, message: string): FieldError[] | undefined {
  const errors = (details ?? []).flatMap((detail): FieldError[] => {
    const coded = detail as { code?: unknown; field?: unknown; params?: unknown } | null;
    if (typeof coded?.code !== 'string') return [];
    const params = coded.params && typeof coded.params === 'object' ? (coded.params as Record<string, string>) : undefined;
    return [{ field: typeof coded.field === 'string' ? coded.field : '(root)', message, code: coded.code, ...(params ? { params } : {}) }];
  });
  return errors.length > 0 ? errors : undefined;
}
