import { createHash } from 'node:crypto';
import { slug, tipIdentity, type Tip } from '../domain/index.js';

/**
 * The operation ID: a hash of the tip's identity, so registering the same tip twice finds the same operation,
 * and the ID (which operators see everywhere) carries no org number or other personal data. The coordinator
 * computes it with Node's crypto before the workflow starts; the workflow only receives it.
 */
export function operationIdFor(tip: Tip): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(tipIdentity(tip)))
    .digest('hex');
  return `los-${slug(tip.entity.municipality)}-${digest.slice(0, 20)}`;
}
