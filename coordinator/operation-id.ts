import { createHash, randomBytes } from 'node:crypto';
import { slug, tipIdentity, type PlainTip } from '../domain/index.js';

/**
 * The operation ID: a hash of the tip's identity, so registering the same tip twice finds the same operation,
 * and the ID (which operators see everywhere) carries no org number or other personal data. The coordinator
 * computes it with Node's crypto before the workflow starts; the workflow only receives it.
 */
export function operationIdFor(tip: PlainTip): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(tipIdentity(tip)))
    .digest('hex');
  return `los-${slug(tip.entity.municipality)}-${digest.slice(0, 20)}`;
}

/**
 * The Temporal update id of one decision: random like the SDK's own, but 14 characters instead of a 36-character
 * UUID, since the history writes an update's id four times. Kept for the call's retries, as the SDK keeps its own.
 */
export function decisionUpdateId(): string {
  return `d-${randomBytes(9).toString('base64url')}`;
}
