import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants as zlib, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import protobufs from '@temporalio/proto';
import { DefaultFailureConverter } from '@temporalio/common';
import { secretKeyOf, type KeyStore } from './keys.js';

// CommonJS: a named ESM import of it fails under plain Node (the `los` launcher).
const { temporal } = protobufs;

/**
 * The payload codec: defence in depth around the sealed fields, and the only protection for what is not
 * sealed (failure details, decisions sent in plaintext from the Temporal CLI). Failure messages and stack traces
 * are not payloads and stay readable (failure-converter.cjs): the engine's messages name fields, not values.
 *
 * Which payloads it encrypts: every payload except the user metadata, the answer to the workflow metadata query and
 * `undefined`. The user metadata (the static summary and details set by the API at the start, timers' and
 * activities' summaries) is a bare JSON string; the answer to `__temporal_workflow_metadata`, which the Temporal UI
 * ("Current Details") and `temporal workflow metadata` read, is the SDK's own object: the workflow's type, its
 * query, signal and update names and descriptions (code), and the current details the workflow sets. All of it is
 * built from operator-visible facts only (phase, what it waits for, deadlines, municipality, categories, urgency),
 * so operators read it without any key. The SDK builds that answer itself (a RawValue, past the interceptors and the
 * payload converter), so nothing can flag it on its way out: the codec recognises it by its exact shape, and any
 * other key or value in it gets it encrypted like the rest (isWorkflowMetadata). Workflow and update inputs,
 * results, activity inputs, other query results and failure details are encrypted. A payload that is not
 * encrypted is decoded unchanged, so histories recorded before this codec existed still replay.
 *
 * Compressed before it is encrypted (ciphertext does not compress): a payload of COMPRESS_FROM bytes or more
 * is deflated when that makes it smaller, and says so in its metadata (`compression: deflate-raw`), so decode
 * knows to inflate it after decrypting; a payload without the marker is taken as it is. The personal fields
 * in it are sealed already (ciphertext, which deflate cannot shorten or tell apart), so the compressed length
 * says nothing about them. Most of a fan-out is the same sealed fields repeated for every agency, which deflate
 * stores once.
 */

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_COMPRESSION = 'compression';
export const COMPRESSION_DEFLATE = 'deflate-raw';
/** Below this the deflate header and a short text gain nothing worth the CPU. */
export const COMPRESS_FROM = 256;
/**
 * The fastest level: on a 13-agency fan-out (10 KB) it deflates in about half the time of zlib's default and
 * stores 4% more (673 bytes against 646), since what repeats is whole sealed fields, which any level finds.
 */
const DEFLATE = { level: zlib.Z_BEST_SPEED } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function metadataString(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? decoder.decode(value) : undefined;
}

/** A plain JSON string payload: user metadata, readable by operators. */
export function isReadableMetadata(payload: Payload): boolean {
  if (metadataString(payload, 'encoding') !== 'json/plain' || !payload.data) return false;
  return payload.data[0] === 0x22; // '"': the JSON value is a string
}

const METADATA_PREFIX = encoder.encode('{"definition":{');
const DEFINITION_KEYS = new Set(['type', 'queryDefinitions', 'signalDefinitions', 'updateDefinitions']);

const isHandlerList = (value: unknown): boolean =>
  Array.isArray(value) &&
  value.every(
    (entry) =>
      typeof entry === 'object' &&
      entry !== null &&
      Object.entries(entry as Record<string, unknown>).every(
        ([key, field]) => (key === 'name' && typeof field === 'string') || (key === 'description' && (field === undefined || typeof field === 'string')),
      ),
  );

/**
 * The answer to the workflow metadata query (`__temporal_workflow_metadata`): `{ definition: { type, queryDefinitions,
 * signalDefinitions, updateDefinitions }, currentDetails? }` as the SDK writes it, and nothing else. Handler names and
 * descriptions come from the code, the current details from operator-visible facts, so it stays readable; a payload
 * with one more key or another kind of value anywhere in it is not this and is encrypted.
 */
export function isWorkflowMetadata(payload: Payload): boolean {
  const data = payload.data;
  if (metadataString(payload, 'encoding') !== 'json/plain' || !data || data.length < METADATA_PREFIX.length) return false;
  if (!METADATA_PREFIX.every((byte, i) => data[i] === byte)) return false;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return false;
  }
  const { definition, currentDetails, ...rest } = value as { definition?: Record<string, unknown>; currentDetails?: unknown };
  if (Object.keys(rest).length > 0 || (currentDetails !== undefined && typeof currentDetails !== 'string')) return false;
  if (typeof definition !== 'object' || definition === null) return false;
  return Object.entries(definition).every(([key, field]) => DEFINITION_KEYS.has(key) && (key === 'type' ? typeof field === 'string' : isHandlerList(field)));
}

/**
 * `undefined` (a void result: an activity or update with nothing to report): no data to protect, so it is
 * stored as it is, without an encryption's 28 bytes and its metadata.
 */
export function isNothing(payload: Payload): boolean {
  return metadataString(payload, 'encoding') === 'binary/null' && !payload.data?.length;
}

export class LosPayloadCodec implements PayloadCodec {
  private key?: Promise<Buffer>;

  constructor(private readonly keys: Pick<KeyStore, 'payloadKey'>) {}

  private payloadKey(): Promise<Buffer> {
    // A failed read is not kept: the next payload asks the key store again.
    this.key ??= this.keys.payloadKey().catch((err: unknown) => {
      this.key = undefined;
      throw err;
    });
    return this.key;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (isReadableMetadata(payload) || isWorkflowMetadata(payload) || isNothing(payload) || metadataString(payload, 'encoding') === ENCODING_ENCRYPTED)
          return payload;
        const key = await this.payloadKey();
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', secretKeyOf(key), iv);
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        const deflated = plain.length >= COMPRESS_FROM ? deflateRawSync(plain, DEFLATE) : undefined;
        const compressed = deflated !== undefined && deflated.length < plain.length;
        const body = compressed ? deflated : plain;
        const data = Buffer.concat([iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
        // No key id: there is one payload key, and a constant id would cost every payload its bytes. A rotation
        // would name the new key in its payloads; one that names none is the first key's.
        const metadata: Record<string, Uint8Array> = { encoding: encoder.encode(ENCODING_ENCRYPTED) };
        if (compressed) metadata[METADATA_COMPRESSION] = encoder.encode(COMPRESSION_DEFLATE);
        return { metadata, data };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (metadataString(payload, 'encoding') !== ENCODING_ENCRYPTED) return payload; // legacy or readable metadata
        const box = Buffer.from(payload.data ?? new Uint8Array());
        const key = await this.payloadKey();
        const decipher = createDecipheriv('aes-256-gcm', secretKeyOf(key), box.subarray(0, 12));
        decipher.setAuthTag(box.subarray(box.length - 16));
        const body = Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]);
        const compression = metadataString(payload, METADATA_COMPRESSION);
        if (compression !== undefined && compression !== COMPRESSION_DEFLATE)
          throw new Error(`payload compressed with "${compression}", which this codec cannot read`);
        return temporal.api.common.v1.Payload.decode(compression === undefined ? body : inflateRawSync(body)) as Payload;
      }),
    );
  }
}

/** Bundled into the workflow code and loaded by the worker: messages and stack traces readable, details encrypted. */
export const FAILURE_CONVERTER_PATH = new URL('./failure-converter.cjs', import.meta.url).pathname;

/** The data converter of every engine process and client that holds the master key. */
export function engineDataConverter(keys: Pick<KeyStore, 'payloadKey'>): DataConverter {
  return { payloadCodecs: [new LosPayloadCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The same for a Client, which takes the failure converter itself rather than a path. */
export function clientDataConverter(keys: Pick<KeyStore, 'payloadKey'>) {
  return { payloadCodecs: [new LosPayloadCodec(keys)], failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: false }) };
}
