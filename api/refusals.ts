import type { FastifyError, FastifyRequest } from 'fastify';
import { RecordedRefusal } from './failures.js';
import { ProblemError, type ProblemKind } from './problems.js';
import type { ApiOptions, GateRule } from './server.js';

/** Refusals as the API and the console both say and record them. */

export const BODY_LIMIT_BYTES = 64 * 1024;

/** The refusal's log line and access-log record: who, what, why; never the input, never a name. */
export async function recordRefusal(request: FastifyRequest, options: ApiOptions, problem: ProblemError, action: GateRule['action'] | undefined) {
  const person = request.person;
  const operationId = (request.params as { id?: unknown } | undefined)?.id;
  const what = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
  request.log.warn(
    {
      who: person?.sub ?? 'unauthenticated',
      role: person?.role ?? 'none',
      what,
      why: problem.message,
      status: problem.status,
      ...(typeof operationId === 'string' ? { operationId } : {}),
    },
    'refused',
  );
  const audit = options.services?.audit;
  if (audit && action && typeof operationId === 'string' && !(problem instanceof RecordedRefusal)) {
    await audit
      .record({
        at: new Date().toISOString(),
        who: person?.sub ?? 'unauthenticated',
        role: person?.role ?? 'none',
        operationId,
        action,
        payloads: [],
        allowed: false,
        detail: `refused: ${problem.message}`,
      })
      .catch((err: unknown) => request.log.error({ err: (err as Error).name, operationId }, 'refusal not recorded on the access log'));
  }
}

export function problemFromFastify(error: FastifyError): ProblemError | undefined {
  const byCode: Record<string, ProblemKind> = {
    FST_CSRF_MISSING_SECRET: 'csrf-token',
    FST_CSRF_INVALID_TOKEN: 'csrf-token',
    FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  };
  const kind = error.code ? byCode[error.code] : undefined;
  if (kind === 'csrf-token')
    return new ProblemError(
      kind,
      'a request that changes something and signs in by session cookie must carry the CSRF token from GET /auth/session (header x-csrf-token)',
    );
  if (kind === 'body-too-large') return new ProblemError(kind, `the body is larger than ${BODY_LIMIT_BYTES} bytes`);
  if (kind) return new ProblemError(kind, `${error.message}: send application/json`);
  // The body could not be read as JSON, or similar: the client's fault, said as Fastify says it.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
    return new ProblemError('invalid-input', `body rejected: ${error.message}`);
  return undefined;
}
