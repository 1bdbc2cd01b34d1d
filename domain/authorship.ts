import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { base64UrlToBytes, canonicalJson } from './sealed.js';
import { shared } from './shared.js';

/**
 * Who took a decision. A Temporal client is not a coordinator: a decision counts only when a signed-in person
 * entitled to it took it. The API, which verified the person's token, names them as the author and signs the
 * decision with its Ed25519 key; the workflow's validator verifies the signature and the author's right to the
 * decision here, and the timeline keeps who decided. Pure and sandbox-safe, like `verifyAnswerBatch`.
 */

/** What a person may do, from their token's role claim (the API enforces it; the workflow again for decisions). */
export const Role = shared('authorship.Role', () => z.enum(['coordinator', 'steering_group', 'auditor', 'operator', 'administrator']));
export type Role = z.infer<typeof Role>;

/** The person (or machine client) the API read from a verified token. */
export const Author = shared('authorship.Author', () =>
  z
    .object({
      /** The token's subject: the person, or the machine client's id. */
      sub: z.string().min(1).max(255),
      /** Display name, for the timeline. */
      name: z.string().min(1).max(200),
      role: Role,
      municipality: z.string().min(1).max(100).optional(),
    })
    .strict(),
);
export type Author = z.infer<typeof Author>;

/** Who stands on the timeline beside a decision: their municipality is the operation's, so it is not repeated. */
export type DecidedBy = Pick<Author, 'sub' | 'name' | 'role'>;

export function decidedBy(author: Author): DecidedBy {
  return { sub: author.sub, name: author.name, role: author.role };
}

/** How far `issuedAt` may be from the workflow's clock; a nonce is remembered for as long. */
export const DECISION_FRESHNESS_MS = 5 * 60_000;

/** The decision as the API forwards it: bound to one operation and one update, signed as a whole. */
export interface SignedDecision<D = unknown> {
  /** The update's name on the wire (the decision table's `update`, or `amendTip`). */
  update: string;
  operationId: string;
  decision: D;
  author: Author;
  /** When the API signed it (ISO instant). */
  issuedAt: string;
  /** Random, once per decision: the same signed decision sent twice is a replay. */
  nonce: string;
  /** Ed25519 over `decisionSigningBytes`, base64url. */
  signature: string;
}

export type UnsignedDecision<D = unknown> = Omit<SignedDecision<D>, 'signature'>;

/** Kept apart from every other thing the engine signs: the bytes start with what they are. */
const SIGNING_CONTEXT = 'los.decision.v1\n';

/** The exact bytes the API signs and the workflow verifies: a context line, then the envelope as canonical JSON. */
export function decisionSigningBytes(envelope: UnsignedDecision): Uint8Array {
  const { update, operationId, decision, author, issuedAt, nonce } = envelope;
  return new TextEncoder().encode(SIGNING_CONTEXT + canonicalJson({ update, operationId, decision, author, issuedAt, nonce }));
}

const Envelope = z
  .object({
    update: z.string().min(1).max(100),
    operationId: z.string().min(1).max(200),
    decision: z.unknown(),
    author: z.unknown(),
    issuedAt: z.string().min(1).max(40),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16 to 64 base64url characters'),
    signature: z.string().min(1).max(200),
  })
  .strict();

/** What the operation expects of a decision sent to it now. */
export interface DecisionExpectation {
  operationId: string;
  update: string;
  /** The operation's municipality: only its coordinators decide. */
  municipality: string;
  /** The workflow's clock (epoch ms). */
  nowMs: number;
  /** True for a nonce the operation has taken within the freshness window. */
  seen?: (nonce: string) => boolean;
}

export type VerifiedDecision = { ok: true; decision: unknown; author: Author; issuedAt: string; nonce: string } | { ok: false; reason: string };

/**
 * Checks a signed decision, in this order: the envelope, the API's signature over it, then what the signature
 * binds (operation, update), who the author is (a coordinator of the operation's municipality), and that it is
 * fresh and not a replay. The decision itself is left to the row's schema and admissibility rule.
 */
export function verifyDecision(raw: unknown, apiPublicKey: string, expected: DecisionExpectation): VerifiedDecision {
  if (typeof raw !== 'object' || raw === null || !('signature' in raw))
    return { ok: false, reason: 'the decision carries no signature of the API: decisions are taken only through the API, never from a Temporal client' };
  const envelope = Envelope.safeParse(raw);
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    return { ok: false, reason: `the signed decision is malformed: ${issue.path.join('.') || 'envelope'} ${issue.message}` };
  }
  const signed = envelope.data as SignedDecision;
  let valid = false;
  try {
    valid = ed25519.verify(base64UrlToBytes(signed.signature), decisionSigningBytes(signed), base64UrlToBytes(apiPublicKey));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: "the decision's signature does not verify with the API's key: it was not signed by the API, or was altered" };
  if (signed.operationId !== expected.operationId) return { ok: false, reason: `the decision was signed for operation ${signed.operationId}, not this one` };
  if (signed.update !== expected.update) return { ok: false, reason: `the decision was signed for ${signed.update}, not ${expected.update}` };
  const author = Author.safeParse(signed.author);
  if (!author.success) return { ok: false, reason: `the decision's author is malformed: ${author.error.issues[0]!.path.join('.') || 'author'}` };
  if (author.data.role !== 'coordinator') return { ok: false, reason: `role ${author.data.role} takes no decisions: only a coordinator does` };
  if (author.data.municipality !== expected.municipality)
    return {
      ok: false,
      reason: `a coordinator of ${author.data.municipality ?? 'no municipality'} takes no decision on an operation of ${expected.municipality}`,
    };
  const issuedMs = Date.parse(signed.issuedAt);
  if (Number.isNaN(issuedMs)) return { ok: false, reason: 'issuedAt is not an ISO 8601 date-time' };
  if (Math.abs(issuedMs - expected.nowMs) > DECISION_FRESHNESS_MS)
    return { ok: false, reason: `the decision was signed at ${signed.issuedAt}, more than 5 minutes from the operation's clock` };
  if (expected.seen?.(signed.nonce)) return { ok: false, reason: 'the decision was already taken: its nonce was seen (a replay)' };
  return { ok: true, decision: signed.decision, author: author.data, issuedAt: signed.issuedAt, nonce: signed.nonce };
}

/** A nonce the operation has taken, kept while its decision could still pass the freshness check. */
export interface SeenNonce {
  nonce: string;
  issuedAt: string;
}

/** The nonces still within the window at `nowMs`, plus the new one: older ones fail the freshness check anyway. */
export function rememberNonce(seen: readonly SeenNonce[], taken: SeenNonce, nowMs: number): SeenNonce[] {
  return [...seen.filter((s) => Date.parse(s.issuedAt) >= nowMs - DECISION_FRESHNESS_MS), taken];
}
