import type { JetStreamManager } from '@nats-io/jetstream';
import { eraseOperationMessages } from '../messaging/index.js';
import type { KeyStore } from '../vault/index.js';

/**
 * The key store as workflows see it. The result is in the history, so a replay sees the same erasure date.
 * With `jsm`, an erasure also overwrites what the NATS streams still hold about the operation.
 */
export function createKeyActivities(keys: Pick<KeyStore, 'destroyDataKey' | 'bridgePublicKey' | 'apiPublicKey'>, jsm?: JetStreamManager) {
  return {
    /**
     * The engine's public keys, which an operation learns in its first moments: the API's, to verify the
     * decisions it signs, and the bridge's, to verify agency answers. From the key store, never from a client.
     */
    async engineKeys(): Promise<{ bridgeKey: string; apiKey: string }> {
      const [bridgeKey, apiKey] = await Promise.all([keys.bridgePublicKey(), keys.apiPublicKey()]);
      return { bridgeKey, apiKey };
    },
    /**
     * Erasure: destroys the operation's data key, keeping a tombstone with the date, then overwrites every event,
     * answer and dead letter about it still stored in NATS (one an agency never fetched, one nobody acknowledged).
     */
    async destroyDataKey(operationId: string): Promise<{ erasedAt: string }> {
      const erased = await keys.destroyDataKey(operationId);
      if (jsm) await eraseOperationMessages(jsm, operationId);
      return erased;
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
