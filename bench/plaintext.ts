import type { DirectDriverOptions } from './drivers.js';
import type { Sealed } from '../domain/index.js';
import { FAILURE_CONVERTER_PATH } from '../vault/index.js';
import type { EngineVariant } from '../workers/compose.js';

/**
 * The engine without encryption, to measure what encryption costs: `npm run bench` runs its closed loop once
 * more on a worker and a bridge started by bench/plaintext-engine.ts, which hands the engine these options,
 * with tips registered through plaintextKeys: a variant of the one composition root (workers/compose.ts). Only the
 * benchmark uses it; the engine itself always encrypts.
 */

/** The coordinator's side: no data key, and each personal field goes to Temporal as its plaintext (the workflow takes either). */
export function plaintextKeys(keys: DirectDriverOptions['keys']): DirectDriverOptions['keys'] {
  return {
    createDataKey: async () => undefined,
    seal: async (_operationId: string, value: unknown) => value as Sealed,
    sealIfKeyed: async (_operationId: string, value: string) => value,
    apiSigningKey: () => keys.apiSigningKey(),
  };
}

/**
 * The engine's side: Temporal's plain data converter (no payload codec) for the worker and the bridge's client,
 * and a bridge that leaves answers' free text unsealed. Answers are still signed: signing is what keeps forged
 * answers out, not encryption.
 */
export const PLAINTEXT_ENGINE: EngineVariant = {
  workerDataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
  clientDataConverter: {},
  bridgeKeys: (keys) => ({ sealIfKeyed: async (_operationId: string, value: string) => value, bridgeSigningKey: () => keys.bridgeSigningKey() }),
};

/** The script that starts such a worker or bridge: `node --import tsx bench/plaintext-engine.ts worker|bridge`. */
export const PLAINTEXT_ENGINE_ENTRY = new URL('./plaintext-engine.ts', import.meta.url).pathname;
