import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
} from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { AccessDenied, ErasedError, SetupError } from '../../vault/index.js';
import { InvalidInputError } from '../operations.js';
import { CALL_TIMEOUT_MS, type CommonOptions } from './command.js';

/**
 * What a failed command says, and its exit code: 1 the input or the decision was rejected (or names no
 * operation); 2 Temporal, or the operation's worker, could not be reached in time, or the setup is incomplete.
 */

const GRPC_UNAVAILABLE = 14;

export class Unreachable extends Error {
  override name = 'Unreachable';
}

export interface Failure {
  message: string;
  exitCode: 1 | 2;
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

/** Every distinct message down the cause chain: Temporal's own reason sits under the SDK's summary. */
export function withCauses(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message && !messages.some((m) => m.includes(e.message))) messages.push(e.message);
  }
  return clipQuoted(messages.join(': ') || String(err));
}

/** Quoted values inside a message (commander's, Temporal's) are cut like every rejected value is. */
export function clipQuoted(message: string): string {
  return message.replace(/'([^']{100})[^']+'/g, (_all, head: string) => `'${head}…'`).replace(/"([^"]{100})[^"]+"/g, (_all, head: string) => `"${head}…"`);
}

function grpcCode(err: unknown): number | undefined {
  // The gRPC status sits under the SDK's own error, in the cause chain.
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

export function classify(err: unknown, options: CommonOptions): Failure {
  if (err instanceof Refused) return { message: err.message, exitCode: 1, details: err.details };
  if (err instanceof InvalidInputError) return { message: err.message, exitCode: 1 };
  if (err instanceof SetupError) return { message: err.message, exitCode: 2 };
  if (err instanceof AccessDenied || err instanceof ErasedError) return { message: err.message, exitCode: 1 };
  // The validator's message already names the decision and the field.
  if (err instanceof WorkflowUpdateFailedError) return { message: err.cause?.message ?? err.message, exitCode: 1 };
  if (err instanceof WorkflowNotFoundError) return { message: `operation "${err.workflowId}" not found in namespace "${options.namespace}"`, exitCode: 1 };
  if (err instanceof NamespaceNotFoundError) return { message: `namespace "${err.namespace}" not found at ${options.address}`, exitCode: 1 };
  if (err instanceof Unreachable) return { message: err.message, exitCode: 2 };
  const noWorker = `no answer within ${CALL_TIMEOUT_MS / 1000} s: is a worker polling the operation's task queue?`;
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return { message: `${noWorker} The decision may still be applied when one does; check with \`los show\``, exitCode: 2 };
  }
  if (isGrpcDeadlineError(err)) return { message: noWorker, exitCode: 2 };
  if (grpcCode(err) === GRPC_UNAVAILABLE) return { message: `lost the connection to Temporal at ${options.address}: ${(err as Error).message}`, exitCode: 2 };
  return { message: withCauses(err), exitCode: 1 };
}
