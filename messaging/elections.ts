import { JetStreamApiError } from '@nats-io/jetstream';
import { RequestError, TimeoutError } from '@nats-io/transport-node';

/**
 * When the NATS node holding a stream's (or the cluster's meta) leader dies, the surviving replicas elect a new
 * one within seconds. Until then JetStream requests time out, find no responder, or are answered "JetStream
 * system temporarily unavailable" (503). Each of these passes; any other error does not.
 */
export function passesWithElection(err: unknown): boolean {
  if (err instanceof TimeoutError) return true;
  if (err instanceof RequestError && err.isNoResponders()) return true;
  return err instanceof JetStreamApiError && err.status === 503;
}

/** How long a JetStream request is tried again while a leader is elected; far longer than an election takes. */
export const ELECTION_PATIENCE_MS = 30_000;

/**
 * Runs a JetStream request, trying it again with backoff while an election passes (see passesWithElection), up to
 * `patienceMs`; then, or on any other error, it throws what the last try threw.
 */
export async function waitOutElection<T>(request: () => Promise<T>, patienceMs = ELECTION_PATIENCE_MS): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let delay = 250; ; delay = Math.min(2 * delay, 2_000)) {
    try {
      return await request();
    } catch (err) {
      if (!passesWithElection(err) || Date.now() + delay > deadline) throw err;
      await new Promise((resolveLater) => setTimeout(resolveLater, delay));
    }
  }
}
