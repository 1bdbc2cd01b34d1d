import type { FastifyError, FastifyRequest } from 'fastify';
import { RecordedRefusal } from './failures.js';
import { ProblemError, type ProblemKind } from './problems.js';
import type { ApiOptions, GateRule } from './server.js';
import { askedOf } from './routes/common.js';

/** Refusals as the API and the console both say and record them. */

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The refusal's log line and access-log record: who, from where, what, why; never the input, never a name, never
 * the token. A refusal naming an operation goes on that operation's log; any other on the security log (the
 * records that name no operation), which auditors read with GET /v1/access-log.
 */
export async function recordRefusal(request: FastifyRequest, options: ApiOptions, problem: ProblemError, action: GateRule['action'] | undefined) {
  const person = request.person;
  const named = (request.params as { id?: unknown } | undefined)?.id;
  // Only an id that can be one goes on that operation's log (a refusal comes before the path is validated).
  const operationId = typeof named === 'string' && /^[A-Za-z0-9_-]{1,200}$/.test(named) ? named : undefined;
  const what = askedOf(request);
  request.log.warn(
    {
      who: person?.sub ?? 'unauthenticated',
      role: person?.role ?? 'none',
      what,
      why: problem.message,
      status: problem.status,
      address: request.ip,
      ...(operationId !== undefined ? { operationId } : {}),
    },
    'refused',
  );
  const audit = options.services?.audit;
  if (audit && !(problem instanceof RecordedRefusal)) {
    await audit
      .record({
        at: new Date().toISOString(),
        who: person?.sub ?? 'unauthenticated',
        role: person?.role ?? 'none',
        ...(operationId !== undefined ? { operationId } : {}),
        action: action ?? (request.url.startsWith('/auth/') ? 'sign_in' : 'request'),
        payloads: [],
        allowed: false,
        detail: `refused: ${problem.message}`,
        address: request.ip,
        asked: what,
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
