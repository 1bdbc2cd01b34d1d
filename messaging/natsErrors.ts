import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { AuthorizationError, PermissionViolationError, RequestError, UserAuthenticationExpiredError } from '@nats-io/transport-node';

/**
 * NATS failures told apart by their type (nats.js v3's error classes) and JetStream's API error codes, never by
 * their wording, which the server and the client may change in any release. messaging/elections.ts does the same
 * for the failures a leader election causes.
 */

/** The JetStream API error codes the engine tells apart (nats-server's errors.json); nats.js names only some. */
export const JS_API_CODES = {
  ...JetStreamApiCodes,
  /** A consumer of that name exists with another configuration (create). */
  ConsumerAlreadyExists: 10148,
  /** A consumer of that name exists (the older durable-create request). */
  ConsumerNameInUse: 10013,
  /** The message is larger than the stream's max_msg_size. */
  MessageExceedsMaximum: 10054,
} as const;

function jetStreamCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

export function isStreamNotFound(err: unknown): boolean {
  return jetStreamCode(err) === JS_API_CODES.StreamNotFound;
}

/** The stream or the consumer is not there (yet): the engine, which creates both, has not set up its topology. */
export function isNotSetUpYet(err: unknown): boolean {
  const code = jetStreamCode(err);
  return code === JS_API_CODES.StreamNotFound || code === JS_API_CODES.ConsumerNotFound;
}

/** The consumer is already there (with another configuration): update it instead. */
export function isConsumerAlreadyThere(err: unknown): boolean {
  const code = jetStreamCode(err);
  return code === JS_API_CODES.ConsumerAlreadyExists || code === JS_API_CODES.ConsumerNameInUse;
}

/** The stream refused the message as larger than its max_msg_size. */
export function isMessageTooLarge(err: unknown): boolean {
  return jetStreamCode(err) === JS_API_CODES.MessageExceedsMaximum;
}

/** The connection's user may not publish (or subscribe) there; a request fails with it as its cause. */
export function isPermissionViolation(err: unknown): boolean {
  return err instanceof PermissionViolationError || (err instanceof RequestError && err.cause instanceof PermissionViolationError);
}

/** The server refused the credentials, or they have expired. */
export function isAuthorizationFailure(err: unknown): boolean {
  return err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError;
}
