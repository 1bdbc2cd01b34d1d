import type { RegisterOptions } from '../coordinator/index.js';
import type { Sealed } from '../domain/index.js';

/**
 * The coordinator's side of the engine as it was before confidentiality (issue 9), to measure what encryption
 * costs: no data key, and each personal field goes to Temporal as its plaintext (the workflow takes either).
 * Only the benchmark uses it, with a worker and a bridge run with LOS_ENCRYPTION=off and a client without the
 * payload codec. The bridge's key still comes from the key store: answers are signed either way.
 */
export function plaintextKeys(keys: RegisterOptions['keys']): RegisterOptions['keys'] {
  return {
    createDataKey: async () => undefined,
    seal: async (_operationId: string, value: unknown) => value as Sealed,
    bridgePublicKey: () => keys.bridgePublicKey(),
  };
}
