import { randomBytes } from 'node:crypto';
import { bytesToBase64Url, decisionSigningBytes, type Author, type SignedDecision, type UnsignedDecision } from '../domain/index.js';
import type { DecisionSigner } from './keys.js';

/** What the API signs for one decision: the update it goes to, the operation, the decision and its author. */
export interface DecisionToSign<D> {
  update: string;
  operationId: string;
  decision: D;
  author: Author;
}

/**
 * Signs a decision with the API's key (domain/authorship.ts says what is bound and how the workflow checks it),
 * stamped now and with a fresh nonce, so the same decision sent again is recognised as a replay.
 */
export function signDecision<D>(signer: DecisionSigner, toSign: DecisionToSign<D>, now: Date = new Date()): SignedDecision<D> {
  const envelope: UnsignedDecision<D> = { ...toSign, issuedAt: now.toISOString(), nonce: randomBytes(18).toString('base64url') };
  return { ...envelope, signature: bytesToBase64Url(signer.sign(decisionSigningBytes(envelope))) };
}
