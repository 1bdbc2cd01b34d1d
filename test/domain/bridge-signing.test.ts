import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url, signedBatchBytes, verifyAnswerBatch } from '../../domain/index.js';
import { BridgeSigningKey } from '../../vault/index.js';

describe("the bridge's signing key", () => {
  it('signs on node:crypto exactly as Ed25519 does, so the sandbox verifier takes it and refuses an altered answer', () => {
    const secretKey = ed25519.utils.randomSecretKey();
    const key = new BridgeSigningKey(secretKey, bytesToBase64Url(ed25519.getPublicKey(secretKey)));
    const answers = [{ eventId: 'e-1', agency: 'polisen', name: 'mandate_accepted', data: { contactFunction: 'LOS desk' } }];
    const message = signedBatchBytes(answers);
    const signature = key.sign(message);
    expect(bytesToBase64Url(signature)).toBe(bytesToBase64Url(ed25519.sign(message, secretKey)));
    const signed = { answers, signature: bytesToBase64Url(signature) };
    expect(verifyAnswerBatch(signed, key.publicKey)).toEqual({ ok: true, answers });
    expect(verifyAnswerBatch({ ...signed, answers: [{ ...answers[0]!, agency: 'skatteverket' }] }, key.publicKey)).toMatchObject({ ok: false });
  });
});
