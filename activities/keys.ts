import type { KeyStore } from '../workers/keys.js';

/**
 * The key store as the workflows see it. Results are in the history, so a replay sees the same bridge key
 * and the same erasure date.
 */
export function createKeyActivities(keys: Pick<KeyStore, 'bridgePublicKey' | 'destroyDataKey'>) {
  return {
    /** The public half of the bridge's signing key: only answers it signed are applied. */
    async bridgePublicKey(): Promise<string> {
      return keys.bridgePublicKey();
    },
    /** Erasure: destroys the operation's data key, keeping a tombstone with the date. */
    async destroyDataKey(operationId: string): Promise<{ erasedAt: string }> {
      return keys.destroyDataKey(operationId);
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
