import type { KeyStore } from '../vault/index.js';

/** The key store as workflows see it. The result is in the history, so a replay sees the same erasure date. */
export function createKeyActivities(keys: Pick<KeyStore, 'destroyDataKey' | 'bridgePublicKey' | 'apiPublicKey'>) {
  return {
    /**
     * The engine's public keys, which an operation learns in its first moments: the API's, to verify the
     * decisions it signs, and the bridge's, to verify agency answers. From the key store, never from a client.
     */
    async engineKeys(): Promise<{ bridgeKey: string; apiKey: string }> {
      const [bridgeKey, apiKey] = await Promise.all([keys.bridgePublicKey(), keys.apiPublicKey()]);
      return { bridgeKey, apiKey };
    },
    /** Erasure: destroys the operation's data key, keeping a tombstone with the date. */
    async destroyDataKey(operationId: string): Promise<{ erasedAt: string }> {
      return keys.destroyDataKey(operationId);
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
