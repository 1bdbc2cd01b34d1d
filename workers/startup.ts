/**
 * Starting up before the servers are there. In production the worker and the bridge are started by a
 * supervisor that does not know whether nats-server and Temporal are up yet (they restart too), so a process
 * waits for them instead of exiting; once connected it keeps reconnecting for as long as it runs.
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { EngineLogger } from './logger.js';
import { isAuthorizationFailure, isPermissionViolation } from '../messaging/index.js';

export interface RetryOptions {
  /** A failure no wait can fix (a wrong namespace, a refused permission): rethrown at once. */
  permanent?: (err: Error) => boolean;
}

/** Failures of configuration rather than availability: Temporal's as it words them, NATS's by their type. */
export const misconfigured = {
  temporal: (err: Error) => /namespace .* not found|permission ?denied|unauthenticated|unauthori[sz]ed/i.test(err.message),
  nats: (err: Error) => isAuthorizationFailure(err) || isPermissionViolation(err),
};

/**
 * Runs `attempt` until it succeeds, logging each failure (the message only) with what was being tried. A
 * failure `options.permanent` recognises ends the wait at once.
 */
export async function untilReady<T>(what: string, attempt: () => Promise<T>, logger: EngineLogger, options: RetryOptions = {}): Promise<T> {
  // The pause doubles from a quarter second up to five seconds, and the wait has no end.
  let delay = 250;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (options.permanent?.(err as Error)) throw err;
      logger.warn({ what, tries, retryInMs: delay, error: (err as Error).message }, 'not ready yet, retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** An engine process's NATS connection: waits for the first connect and never stops reconnecting. */
export function connectEngineNats(options: NodeConnectionOptions): Promise<NatsConnection> {
  return connect({ waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000, ...options });
}

/** Whether the connection is up right now: false from a disconnect until the reconnect, and once closed. */
export function trackNatsConnection(nc: NatsConnection): () => boolean {
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connected = false;
      else if (status.type === 'reconnect') connected = true;
    }
  })();
  return () => connected && !nc.isClosed();
}
