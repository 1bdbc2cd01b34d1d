import { performance } from 'node:perf_hooks';
import { defaultPayloadConverter } from '@temporalio/common';
import { sealTip, LosPayloadCodec } from '../vault/index.js';
import { Tip, type PlainTip } from '../domain/index.js';
import type { KeyStore } from '../vault/index.js';

/**
 * The cost of confidentiality on the client's path, with and without it, in one run: a tip's personal fields
 * sealed (one key-store read and AES-GCM per field) and the workflow input through the payload codec, against
 * the same input converted to a plain payload. The closed-loop throughput with the engine's codec is in the
 * lifecycle phase; this isolates what encryption itself adds per operation.
 */
export interface CodecCostResult {
  samples: number;
  /** Per operation, milliseconds: converting the start input to a payload, as before issue 9. */
  plainMs: { p50: number; p95: number };
  /** Per operation, milliseconds: sealing the tip and encrypting the start input with the payload codec. */
  encryptedMs: { p50: number; p95: number };
  /** How many operations per second each path sustains on one core, alone. */
  plainPerSecond: number;
  encryptedPerSecond: number;
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!;

export async function measureCodecCost(keys: KeyStore, tipInput: unknown, samples = 500): Promise<CodecCostResult> {
  const codec = new LosPayloadCodec(keys);
  const plain = Tip.parse(tipInput) as PlainTip;
  const operationId = `los-bench-codec-${Date.now()}`;
  await keys.createDataKey(operationId, plain.entity.municipality);
  const plainMs: number[] = [];
  const encryptedMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    let start = performance.now();
    defaultPayloadConverter.toPayload({ tip: plain });
    plainMs.push(performance.now() - start);

    start = performance.now();
    const sealed = await sealTip(keys, operationId, plain);
    await codec.encode([defaultPayloadConverter.toPayload({ tip: sealed })]);
    encryptedMs.push(performance.now() - start);
  }
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  await keys.destroyDataKey(operationId);
  return {
    samples,
    plainMs: { p50: quantile(plainMs, 0.5), p95: quantile(plainMs, 0.95) },
    encryptedMs: { p50: quantile(encryptedMs, 0.5), p95: quantile(encryptedMs, 0.95) },
    plainPerSecond: Math.round((samples / total(plainMs)) * 1000),
    encryptedPerSecond: Math.round((samples / total(encryptedMs)) * 1000),
  };
}
