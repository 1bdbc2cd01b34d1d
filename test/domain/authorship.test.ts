import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  DECISION_FRESHNESS_MS,
  bytesToBase64Url,
  decisionSigningBytes,
  rememberNonce,
  verifyDecision,
  type Author,
  type DecisionExpectation,
} from '../../domain/index.js';
import { BridgeSigningKey, signDecision } from '../../vault/index.js';

/** The rule the workflow's validator applies to every decision, without a server. */
const secretKey = ed25519.utils.randomSecretKey();
const apiKey = bytesToBase64Url(ed25519.getPublicKey(secretKey));
const signer = new BridgeSigningKey(secretKey, apiKey);

const NOW = Date.parse('2026-12-07T10:00:00Z');
const anna: Author = { sub: 'anna@umea', name: 'Anna Lindqvist', role: 'coordinator', municipality: 'Umeå' };
const expected: DecisionExpectation = { operationId: 'los-umeå-1', update: 'assess', municipality: 'Umeå', nowMs: NOW };
const proceed = { decision: 'proceed' };
const signed = (overrides: Partial<{ operationId: string; update: string; author: Author }> = {}, at = new Date(NOW)) =>
  signDecision(signer, { update: 'assess', operationId: 'los-umeå-1', decision: proceed, author: anna, ...overrides }, at);

const reason = (raw: unknown, expectation: DecisionExpectation = expected) => {
  const result = verifyDecision(raw, apiKey, expectation);
  return result.ok ? 'taken' : result.reason;
};

describe('verifyDecision', () => {
  it('takes a decision the API signed for this operation and update, by a coordinator of its municipality, now, once', () => {
    const result = verifyDecision(signed(), apiKey, expected);
    expect(result).toMatchObject({ ok: true, decision: proceed, author: anna });
  });

  it('refuses a decision with no signature', () => {
    expect(reason(proceed)).toMatch(/^the decision carries no signature of the API/);
    expect(reason(null)).toMatch(/^the decision carries no signature of the API/);
  });

  it('refuses a malformed envelope, naming the field', () => {
    expect(reason({ ...signed(), nonce: 'short' })).toBe('the signed decision is malformed: nonce must be 16 to 64 base64url characters');
  });

  it('refuses a signature by another key, and a signed decision altered afterwards', () => {
    const other = new BridgeSigningKey(ed25519.utils.randomSecretKey(), apiKey);
    expect(reason(signDecision(other, { update: 'assess', operationId: 'los-umeå-1', decision: proceed, author: anna }, new Date(NOW)))).toMatch(
      /signature does not verify with the API's key/,
    );
    expect(reason({ ...signed(), decision: { decision: 'dismiss', reason: 'x' } })).toMatch(/signature does not verify/);
    expect(reason({ ...signed(), author: { ...anna, name: 'Someone Else' } })).toMatch(/signature does not verify/);
  });

  it('refuses a decision signed for another operation or another update', () => {
    expect(reason(signed({ operationId: 'los-umeå-2' }))).toBe('the decision was signed for operation los-umeå-2, not this one');
    expect(reason(signed({ update: 'cancel' }))).toBe('the decision was signed for cancel, not assess');
  });

  it('refuses every role but coordinator, and a coordinator of another municipality', () => {
    for (const role of ['steering_group', 'auditor', 'operator', 'administrator'] as const)
      expect(reason(signed({ author: { ...anna, role } }))).toBe(`role ${role} takes no decisions: only a coordinator does`);
    expect(reason(signed({ author: { ...anna, municipality: 'Malmö' } }))).toBe('a coordinator of Malmö takes no decision on an operation of Umeå');
    const { municipality: _, ...nowhere } = anna;
    expect(reason(signed({ author: nowhere }))).toBe('a coordinator of no municipality takes no decision on an operation of Umeå');
  });

  it('refuses a decision signed more than five minutes before or after the workflow clock', () => {
    expect(reason(signed({}, new Date(NOW - DECISION_FRESHNESS_MS)))).toBe('taken');
    expect(reason(signed({}, new Date(NOW - DECISION_FRESHNESS_MS - 1)))).toMatch(/more than 5 minutes from the operation's clock$/);
    expect(reason(signed({}, new Date(NOW + DECISION_FRESHNESS_MS + 1)))).toMatch(/more than 5 minutes from the operation's clock$/);
  });

  it('refuses a nonce already seen (a replay)', () => {
    const once = signed();
    expect(reason(once, { ...expected, seen: (nonce) => nonce === once.nonce })).toBe('the decision was already taken: its nonce was seen (a replay)');
    expect(reason(signed(), { ...expected, seen: (nonce) => nonce === once.nonce })).toBe('taken');
  });

  it('signs canonical bytes: the same envelope with its keys in another order verifies', () => {
    const envelope = signed();
    const reordered = {
      signature: envelope.signature,
      nonce: envelope.nonce,
      issuedAt: envelope.issuedAt,
      author: envelope.author,
      decision: envelope.decision,
      operationId: envelope.operationId,
      update: envelope.update,
    };
    expect(reason(reordered)).toBe('taken');
    expect(new TextDecoder().decode(decisionSigningBytes(envelope))).toMatch(/^los\.decision\.v1\n\{"author":/);
  });
});

describe('rememberNonce', () => {
  it('keeps the nonces a replay could still pass the freshness check with, and forgets older ones', () => {
    const old = { nonce: 'old', issuedAt: new Date(NOW - DECISION_FRESHNESS_MS - 1).toISOString() };
    const recent = { nonce: 'recent', issuedAt: new Date(NOW - 1_000).toISOString() };
    const taken = { nonce: 'new', issuedAt: new Date(NOW).toISOString() };
    expect(rememberNonce([old, recent], taken, NOW).map((s) => s.nonce)).toEqual(['recent', 'new']);
  });
});
