import { log } from '@temporalio/activity';
import type { JetStreamManager } from '@nats-io/jetstream';
import { eraseOperationMessages } from '../messaging/index.js';
import type { AuditLog, KeyStore } from '../vault/index.js';

/** Who the access log names for an erasure the reconciliation caught up: the engine, not a person. */
export const ERASURE_RECONCILIATION = { who: 'erasure reconciliation', role: 'engine' } as const;

/** What one reconciliation found and did. */
export interface ErasureReconciliation {
  /** The operations whose data key it destroyed because their erasure was overdue, oldest due first. */
  caughtUp: { operationId: string; eraseAt: string; erasedAt: string }[];
}

/**
 * The key store as workflows see it. The result is in the history, so a replay sees the same erasure date.
 * With `jsm`, an erasure also overwrites what the NATS streams still hold about the operation; with `audit`, the
 * reconciliation puts each erasure it caught up on the access log.
 */
export function createKeyActivities(
  keys: Pick<KeyStore, 'destroyDataKey' | 'bridgePublicKey' | 'apiPublicKey' | 'overdueErasures'>,
  jsm?: JetStreamManager,
  audit?: Pick<AuditLog, 'record'>,
) {
  /**
   * Erasure: destroys the operation's data key, keeping a tombstone with the date, then overwrites every event,
   * answer and dead letter about it still stored in NATS (one an agency never fetched, one nobody acknowledged).
   */
  const destroyDataKey = async (operationId: string): Promise<{ erasedAt: string }> => {
    const erased = await keys.destroyDataKey(operationId);
    if (jsm) await eraseOperationMessages(jsm, operationId);
    return erased;
  };
  return {
    /**
     * The engine's public keys, which an operation learns in its first moments: the API's, to verify the
     * decisions it signs, and the bridge's, to verify agency answers. From the key store, never from a client.
     */
    async engineKeys(): Promise<{ bridgeKey: string; apiKey: string }> {
      const [bridgeKey, apiKey] = await Promise.all([keys.bridgePublicKey(), keys.apiPublicKey()]);
      return { bridgeKey, apiKey };
    },
    destroyDataKey,
    /**
     * Erasure must not depend on one workflow surviving: every data key whose erasure date passed more than
     * `graceMs` ago (its erasure workflow was terminated, cancelled or never ran) is destroyed here as the erasure
     * workflow would have (on the record LOS_ERASURES, its messages overwritten), and each goes on the access log.
     */
    async catchUpErasures({ graceMs }: { graceMs: number }): Promise<ErasureReconciliation> {
      const caughtUp: ErasureReconciliation['caughtUp'] = [];
      for (const { operationId, eraseAt } of await keys.overdueErasures(new Date(), graceMs)) {
        const { erasedAt } = await destroyDataKey(operationId);
        caughtUp.push({ operationId, eraseAt, erasedAt });
        await audit?.record({
          at: erasedAt,
          ...ERASURE_RECONCILIATION,
          operationId,
          action: 'erasure',
          payloads: [],
          allowed: true,
          detail: `data key destroyed by the erasure reconciliation: the erasure was due at ${eraseAt} and had not happened (its erasure workflow was terminated, cancelled or never ran)`,
        });
      }
      if (caughtUp.length > 0) {
        log.warn('erasure reconciliation caught up overdue erasures', { caughtUp: caughtUp.length });
        // One line in the security log as well, so that an auditor who reads no single operation sees it happened.
        await audit?.record({
          at: new Date().toISOString(),
          ...ERASURE_RECONCILIATION,
          action: 'erasure',
          payloads: [],
          allowed: true,
          detail: `the erasure reconciliation caught up ${caughtUp.length} overdue erasure(s): ${caughtUp
            .slice(0, 20)
            .map((c) => c.operationId)
            .join(', ')}${caughtUp.length > 20 ? ', …' : ''}`,
        });
      }
      return { caughtUp };
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
