import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
 * Compressed before it is encrypted (ciphertext does not compress): the encrypted body starts with one format
 * byte, authenticated with the rest, that says how the Payload after it is stored: as it is (FORMAT_PLAIN), or
 * deflated against the codec's dictionary (FORMAT_DEFLATE_D1) when that makes it smaller. The marker costs the
 * history no metadata. The dictionary (payload-dictionary.bin, made by scripts/payload-dictionary.ts) holds what
 * every payload repeats (field names, event, stage, agency and tool ids, the national catalogue's legal grounds)
 * and no data of any operation, so even a receipt of 80 bytes deflates to a few, and the first fan-out of an
 * operation costs what its later ones do. The personal fields in a payload are sealed already (ciphertext, which
 * deflate cannot shorten or tell apart), so the compressed length says nothing about them. Most of a fan-out is the
 * same sealed fields repeated for every agency, which deflate stores once.
 */

export const ENCODING_ENCRYPTED = 'binary/encrypted';
/** The first byte of the decrypted body: the Payload follows as it is. */
export const FORMAT_PLAIN = 0;
/** The first byte of the decrypted body: the Payload follows deflated (raw) against PAYLOAD_DICTIONARY. */
export const FORMAT_DEFLATE_D1 = 1;
/**
 * Never changed once payloads are stored with it: they need it to be read. A better dictionary is a new file
 * with a new format byte, and decode keeps this one.
 */
export const PAYLOAD_DICTIONARY = readFileSync(new URL('./payload-dictionary.bin', import.meta.url));
/** Level 9: against the dictionary it costs no more time than the fastest level did without one, and stores less. */
const DEFLATE = { level: zlib.Z_BEST_COMPRESSION, memLevel: 9, dictionary: PAYLOAD_DICTIONARY } as const;
const INFLATE = { dictionary: PAYLOAD_DICTIONARY } as const;

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
        const deflated = deflateRawSync(plain, DEFLATE);
        const body = deflated.length < plain.length ? [Uint8Array.of(FORMAT_DEFLATE_D1), deflated] : [Uint8Array.of(FORMAT_PLAIN), plain];
        const data = Buffer.concat([iv, ...body.map((part) => cipher.update(part)), cipher.final(), cipher.getAuthTag()]);
        // No key id: there is one payload key, and a constant id would cost every payload its bytes. A rotation
        // would name the new key in its payloads; one that names none is the first key's.
        const metadata: Record<string, Uint8Array> = { encoding: encoder.encode(ENCODING_ENCRYPTED) };
        return { metadata, data };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (metadataString(payload, 'encoding') !== ENCODING_ENCRYPTED) return payload; // readable metadata, undefined
        const box = Buffer.from(payload.data ?? new Uint8Array());
        const key = await this.payloadKey();
        const decipher = createDecipheriv('aes-256-gcm', secretKeyOf(key), box.subarray(0, 12));
        decipher.setAuthTag(box.subarray(box.length - 16));
        const body = Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]);
        const stored = body.subarray(1);
        if (body[0] === FORMAT_PLAIN) return temporal.api.common.v1.Payload.decode(stored) as Payload;
        if (body[0] === FORMAT_DEFLATE_D1) return temporal.api.common.v1.Payload.decode(inflateRawSync(stored, INFLATE)) as Payload;
        throw new Error(`payload stored in format ${body[0] ?? '(none)'}, which this codec cannot read`);
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
