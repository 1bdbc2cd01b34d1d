import { containsSealed, type PlainTip, type Sealed, type Tip } from '../domain/index.js';
import type { KeyStore } from './keys.js';

/**
 * Sealing at the coordinator's side: the tip and every decision are validated in plaintext with the domain
 * schemas first, then their personal fields are sealed with the operation's data key, so that Temporal never
 * holds them in plaintext. The municipality, categories, urgency and the source's kind stay readable: they
 * are what operators see.
 */

export type Sealer = Pick<KeyStore, 'seal'>;

export async function sealTip(keys: Sealer, operationId: string, tip: PlainTip): Promise<Tip> {
  const seal = (value: string): Promise<Sealed> => keys.seal(operationId, value);
  const [orgNumber, name, address, description] = await Promise.all([
    seal(tip.entity.orgNumber),
    seal(tip.entity.name),
    seal(tip.entity.address),
    seal(tip.description),
  ]);
  const reference = tip.source.reference === undefined ? undefined : await seal(tip.source.reference);
  return {
    ...tip,
    entity: { orgNumber, name, address, municipality: tip.entity.municipality },
    description,
    source: { ...tip.source, ...(reference ? { reference } : {}) },
  } as Tip;
}

/** Every coordinator decision's free text: a reason, a note, a question, a place, a summary. */
export const DECISION_FREE_TEXT = ['reason', 'note', 'question', 'place', 'summary'] as const;

/** Operations started without the typed client have no data key; their decisions go on in plaintext, as they hold the rest. */
export async function sealDecision<T extends object>(keys: Pick<KeyStore, 'sealIfKeyed'>, operationId: string, decision: T): Promise<T> {
  const out: Record<string, unknown> = { ...(decision as Record<string, unknown>) };
  for (const field of DECISION_FREE_TEXT) {
    const value = out[field];
    if (typeof value === 'string') out[field] = await keys.sealIfKeyed(operationId, value);
  }
  return out as T;
}

/** A coordinator writes plaintext; a sealed value in a tip file is refused rather than hashed into the ID. */
export function assertPlain(value: unknown, what: string): void {
  if (containsSealed(value)) throw new Error(`${what} rejected: holds an already sealed value; give the plaintext`);
}
