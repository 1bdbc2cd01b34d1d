import { JetStreamApiError } from '@nats-io/jetstream';
import { AuthorizationError, PermissionViolationError, RequestError } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isAuthorizationFailure, isConsumerAlreadyThere, isMessageTooLarge, isPermissionViolation, isStreamNotFound } from '../../messaging/index.js';
import { misconfigured } from '../../workers/startup.js';

const apiError = (code: number, err_code: number, description: string) => new JetStreamApiError({ code, err_code, description });
const violation = () => new PermissionViolationError('Permissions Violation for Publish to "$JS.API.INFO"', 'publish', '$JS.API.INFO');

describe('NATS failures told apart by type and JetStream API code (messaging/natsErrors.ts), never by wording', () => {
  it('knows a missing stream, an existing consumer and an oversized message by their API codes', () => {
    expect(isStreamNotFound(apiError(404, 10059, 'stream not found'))).toBe(true);
    expect(isStreamNotFound(apiError(404, 10014, 'consumer not found'))).toBe(false);
    expect(isConsumerAlreadyThere(apiError(400, 10148, 'consumer already exists'))).toBe(true);
    expect(isConsumerAlreadyThere(apiError(400, 10013, 'consumer name already in use'))).toBe(true);
    expect(isMessageTooLarge(apiError(400, 10054, 'message size exceeds maximum allowed'))).toBe(true);
    // The same words without the code are not the failure: a reworded server message changes nothing either way.
    expect(isStreamNotFound(new Error('stream not found'))).toBe(false);
    expect(isConsumerAlreadyThere(new Error('consumer already exists'))).toBe(false);
    expect(isMessageTooLarge(apiError(400, 10054, 'payload too big'))).toBe(true);
  });

  it('knows refused credentials and a permission violation, also as the cause of a failed request', () => {
    expect(isAuthorizationFailure(new AuthorizationError('Authorization Violation'))).toBe(true);
    expect(isAuthorizationFailure(new Error('Authorization Violation'))).toBe(false);
    expect(isPermissionViolation(violation())).toBe(true);
    expect(isPermissionViolation(new RequestError(violation().message, { cause: violation() }))).toBe(true);
    expect(isPermissionViolation(new RequestError('Permissions Violation for Publish to "x"'))).toBe(false);
  });

  it('stops an engine process at once on a NATS misconfiguration, and waits on anything else', () => {
    expect(misconfigured.nats(new AuthorizationError('Authorization Violation'))).toBe(true);
    expect(misconfigured.nats(new RequestError('denied', { cause: violation() }))).toBe(true);
    expect(misconfigured.nats(new Error('connection refused'))).toBe(false);
  });
});
