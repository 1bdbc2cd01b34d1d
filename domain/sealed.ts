import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { shared } from './shared.js';

/**
 * Confidential by design: personal data (the tip's entity, description and source reference, every free
 * text a coordinator or an agency writes) is sealed before it reaches Temporal, with the operation's own data
 * key. A sealed value stands in the data exactly where the plaintext would be, so the workflow carries it
 * without ever reading it; only the notify activity (to an agency entitled to it) and an entitled reader
 * (the codec server, `los show`) unseal it. Destroying the operation's data key erases it everywhere.
 *
 * Pure and sandbox-safe: the workflow validates the Sealed shape here; sealing itself (AES-256-GCM with
 * node:crypto) lives in vault/keys.ts.
 */

export const SEALED_VERSION = 'los.v1';

const Base64Url = shared('sealed.Base64Url', () => z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'));

/** AES-256-GCM over the JSON of the value; `op` is bound as additional data, so it cannot be moved to another operation. */
export const Sealed = shared('sealed.Sealed', () =>
  z
    .object({
      sealed: z.literal(SEALED_VERSION),
      op: z.string().min(1).max(200),
      /** 12 bytes. */
      iv: Base64Url.length(16, 'must be a 12-byte IV'),
      /** Ciphertext followed by the 16-byte GCM tag. */
      ct: Base64Url.min(22, 'is too short to hold a GCM tag'),
    })
    .strict(),
);
export type Sealed = z.infer<typeof Sealed>;

export function isSealed(value: unknown): value is Sealed {
  return Sealed.safeParse(value).success;
}

/** Anything that looks like it means to be sealed is checked as Sealed, so a broken one is named as such. */
function looksSealed(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'sealed' in value;
}

/**
 * A field that holds personal data: the plaintext schema (validated at the client or the bridge, before
 * sealing, with its own messages) or a Sealed value in its place (all the workflow can check).
 */
export function Sealable<S extends z.ZodType>(plain: S): z.ZodType<z.output<S> | Sealed, z.input<S> | Sealed> {
  const schema = z.unknown().transform((value, ctx): z.output<S> | Sealed => {
    const result = (looksSealed(value) ? Sealed : plain).safeParse(value);
    if (result.success) return result.data as z.output<S> | Sealed;
    for (const issue of result.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });
  // Typed by what it accepts: a coordinator writes the plaintext's input; the workflow may get a Sealed.
  return schema as unknown as z.ZodType<z.output<S> | Sealed, z.input<S> | Sealed>;
}

/** The type with every Sealed stripped out: what an entitled reader sees after unsealing. */
export type Plain<T> = T extends Sealed ? never : T extends readonly (infer U)[] ? Plain<U>[] : T extends object ? { [K in keyof T]: Plain<T[K]> } : T;

/** The type with every string allowed to be Sealed: what the workflow may hold where plaintext would be. */
export type MaySeal<T> = T extends string
  ? T | Sealed
  : T extends readonly (infer U)[]
    ? MaySeal<U>[]
    : T extends object
      ? { [K in keyof T]: MaySeal<T[K]> }
      : T;

/** The named fields of T may hold a Sealed value in place of their plaintext. */
export type SealFields<T, K extends PropertyKey> = Omit<T, K & keyof T> & { [P in K & keyof T]: T[P] | Sealed };

/** True when a Sealed value appears anywhere in a JSON value. */
export function containsSealed(value: unknown): boolean {
  if (isSealed(value)) return true;
  if (Array.isArray(value)) return value.some(containsSealed);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsSealed);
  return false;
}

/**
 * Free text for the timeline: plaintext as it is, a sealed value as an inline token that an entitled reader
 * (`unsealDeep`) replaces with the text. The record stays a string and holds no plaintext.
 */
export function inline(value: string | Sealed): string {
  return typeof value === 'string' ? value : `⟦${value.sealed}:${value.op}:${value.iv}:${value.ct}⟧`;
}

export const INLINE_SEALED = /⟦(los\.v1):([^:⟧]+):([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)⟧/g;

// --- signed answers --------------------------------------------------------------------------------------

/** JSON with object keys sorted: the exact bytes the bridge signs and the workflow verifies. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding; written out because the workflow sandbox has no Buffer and no atob. */
export function base64UrlToBytes(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let buffer = 0;
  for (const char of text) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`"${char}" is not base64url`);
    buffer = (buffer << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

export function bytesToBase64Url(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (6 - bits)) & 0x3f];
  return out;
}

/** What the bridge signs: the forwarded answers in their order, as canonical UTF-8 JSON. */
export function signedBatchBytes(answers: readonly Record<string, unknown>[]): Uint8Array {
  return new TextEncoder().encode(canonicalJson(answers));
}

/** Several answers to one operation, signed once as a whole by the bridge. */
export interface SignedAnswers<A = Record<string, unknown>> {
  answers: A[];
  signature: string;
}

/**
 * Only the bridge, which read the answers under each agency's own NATS identity, holds the signing key: answers
 * sent to Temporal by anyone else carry no valid signature and are refused with the reason. One signature
 * covers the whole batch, so the workflow verifies once, not once per answer.
 */
export function verifyAnswerBatch(raw: unknown, bridgePublicKey: string): { ok: true; answers: unknown[] } | { ok: false; reason: string } {
  const batch = raw as Partial<SignedAnswers> | null;
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.answers) || batch.answers.some((a) => typeof a !== 'object' || a === null)) {
    return { ok: false, reason: 'expected { answers: [...], signature }' };
  }
  const answers = batch.answers as Record<string, unknown>[];
  if (typeof batch.signature !== 'string' || batch.signature.length === 0) {
    return { ok: false, reason: 'batch carries no bridge signature: agency answers are taken only from the NATS bridge, never from a Temporal client' };
  }
  let valid = false;
  try {
    valid = ed25519.verify(base64UrlToBytes(batch.signature), signedBatchBytes(answers), base64UrlToBytes(bridgePublicKey));
  } catch {
    valid = false;
  }
  return valid
    ? { ok: true, answers }
    : { ok: false, reason: "the batch's signature does not verify with the bridge's key: it was not forwarded by the NATS bridge, or was altered" };
}
