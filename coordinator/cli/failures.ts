import { InvalidInputError, LosApiError, UnreachableError } from '../client.js';

/**
 * What a failed command says, and its exit code: 1 the input or the request was refused (invalid, not signed
 * in, not allowed, no such operation, not admissible now); 2 the API, or the engine behind it, could not be
 * reached in time, or is not set up.
 */

export interface Failure {
  message: string;
  exitCode: 1 | 2;
  /** The fields a refusal names, for a program reading --json. */
  fields?: string[];
  /** Facts behind the message, for --json (e.g. how an operation ended). */
  details?: Record<string, unknown>;
}

/** A refusal that carries facts a program reading --json wants separately from the message. */
export class Refused extends InvalidInputError {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** `los` itself is not set up to run (an API URL that is no http(s) URL): nothing was sent; exit 2, at once. */
export class SetupError extends Error {
  override name = 'SetupError';
}

/** Every distinct message down the cause chain. */
export function withCauses(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message && !messages.some((m) => m.includes(e.message))) messages.push(e.message);
  }
  return clipQuoted(messages.join(': ') || String(err));
}

/** Quoted values inside a message (commander's, the API's) are cut like every rejected value is. */
export function clipQuoted(message: string): string {
  return message.replace(/'([^']{100})[^']+'/g, (_all, head: string) => `'${head}…'`).replace(/"([^"]{100})[^"]+"/g, (_all, head: string) => `"${head}…"`);
}

export function classify(err: unknown): Failure {
  if (err instanceof Refused) return { message: err.message, exitCode: 1, details: err.details };
  if (err instanceof SetupError) return { message: clipQuoted(err.message), exitCode: 2 };
  if (err instanceof LosApiError) {
    // The API failing on its own side (500, a bad gateway) is not the input's fault: like unreachable, try again later.
    const exitCode = err instanceof UnreachableError || (err.problem?.status ?? 0) >= 500 ? 2 : 1;
    const fields = err.fields;
    return { message: clipQuoted(err.message), exitCode, ...(fields.length > 0 ? { fields } : {}) };
  }
  return { message: withCauses(err), exitCode: 1 };
}
