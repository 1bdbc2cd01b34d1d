import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AccessDenied, ErasedError } from '../vault/index.js';
import { FailureType } from '../workflows/failures.js';
import { InvalidInputError } from './engine.js';
import { ProblemError, refusalErrors, type ProblemKind } from './problems.js';

/**
 * What an error from the engine means for the caller, as a problem: the validator's refusal keeps its message
 * (it names the decision and the field), a server out of reach is 503, a worker that never answered is 504.
 */

const GRPC_UNAVAILABLE = 14;
const NATS_UNAVAILABLE = new Set(['ConnectionError', 'ClosedConnectionError', 'NoRespondersError', 'TimeoutError', 'RequestError']);

/** A refusal the access log already holds (readAs records before it refuses). */
export class RecordedRefusal extends ProblemError {}

const BY_FAILURE: Partial<Record<string, ProblemKind>> = {
  [FailureType.InvalidInput]: 'invalid-input',
  [FailureType.NotAllowedNow]: 'not-allowed-now',
  [FailureType.OperationEnded]: 'not-allowed-now',
  [FailureType.NotReady]: 'unavailable',
  [FailureType.NotAuthorised]: 'forbidden',
};

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (isGrpcServiceError(e)) return e.code;
  return undefined;
}

function natsUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (NATS_UNAVAILABLE.has(e.name)) return true;
  return false;
}

function quotedOf(details: readonly unknown[] | null | undefined): string | undefined {
  for (const detail of details ?? []) {
    const quoted = (detail as { quoted?: unknown } | null)?.quoted;
    if (typeof quoted === 'string') return quoted;
  }
  return undefined;
}

export function problemFromEngine(err: unknown): ProblemError | undefined {
  if (err instanceof ProblemError) return err;
  if (err instanceof InvalidInputError) return new ProblemError('invalid-input', err.message);
  if (err instanceof AccessDenied) return new RecordedRefusal('forbidden', err.message);
  if (err instanceof ErasedError) return new ProblemError('not-allowed-now', err.message);
  if (err instanceof WorkflowNotFoundError) return new ProblemError('not-found', `no operation "${err.workflowId}"`);
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    const kind = cause instanceof ApplicationFailure && cause.type ? (BY_FAILURE[cause.type] ?? 'not-allowed-now') : 'not-allowed-now';
    // The failure's message names fields only (operators read it in Temporal); the one who sent the decision, entitled
    // to it, gets the values quoted, from the details the payload codec kept encrypted (domain/validation.ts, rejection).
    const message = (cause instanceof ApplicationFailure ? quotedOf(cause.details) : undefined) ?? cause?.message ?? err.message;
    const errors = cause instanceof ApplicationFailure ? refusalErrors(cause.details, message) : undefined;
    return new ProblemError(kind, message, errors);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return new ProblemError('timeout', 'no worker answered in time; the decision may still be applied when one does: read the operation to see');
  if (isGrpcDeadlineError(err)) return new ProblemError('timeout', 'no worker answered in time: is a worker polling the operation’s task queue?');
  if (grpcCode(err) === GRPC_UNAVAILABLE) return new ProblemError('unavailable', 'Temporal cannot be reached');
  if (natsUnavailable(err)) return new ProblemError('unavailable', 'the key store on nats-server cannot be reached');
  return undefined;
}
