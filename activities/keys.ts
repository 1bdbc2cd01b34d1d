import type { KeyStore } from '../vault/index.js';

/** The key store as the erasure workflow sees it. The result is in the history, so a replay sees the same erasure date. */
export function createKeyActivities(keys: Pick<KeyStore, 'destroyDataKey'>) {
  return {
    /** Erasure: destroys the operation's data key, keeping a tombstone with the date. */
    async destroyDataKey(operationId: string): Promise<{ erasedAt: string }> {
      return keys.destroyDataKey(operationId);
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
