import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The pseudonymous entity reference: operations about the same business can be found together (double
 * inspections, or one the Police asked to hold back) without any org number in visibility. It is an
 * HMAC-SHA-256 of the normalised org number under a secret key the engine holds. A plain hash would not do:
 * there are only about a billion ten-digit numbers with a valid check digit, so anyone could hash them all
 * and read the reference back. Without the key the reference reveals nothing.
 */

export const ENTITY_KEY_ENV = 'LOS_ENTITY_KEY';
export const ENTITY_KEY_FILE_ENV = 'LOS_ENTITY_KEY_FILE';
/** 32 characters at least: `openssl rand -hex 32` gives 64. */
export const ENTITY_KEY_MIN_LENGTH = 32;

/** A setup problem a person fixes in the environment, not in the input; the CLI exits 2 on it. */
export class SetupError extends Error {
  override name = 'SetupError';
}

const HOW_TO_SET =
  `set ${ENTITY_KEY_ENV} to the engine's entity key, or ${ENTITY_KEY_FILE_ENV} to a file holding it ` +
  `(every coordinator of the engine uses the same key; create one with \`openssl rand -hex 32\`, and keep it out of the repository)`;

/** The key from the environment: `LOS_ENTITY_KEY`, or the file `LOS_ENTITY_KEY_FILE` names. */
export function entityKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // An empty variable counts as unset, as a shell's `LOS_ENTITY_KEY=` means.
  let key = env[ENTITY_KEY_ENV] || undefined;
  const file = env[ENTITY_KEY_FILE_ENV] || undefined;
  if (key === undefined && file !== undefined) {
    try {
      key = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SetupError(`${ENTITY_KEY_FILE_ENV} ${file}: could not be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (key === undefined) return undefined;
  key = key.trim();
  if (key.length < ENTITY_KEY_MIN_LENGTH) {
    throw new SetupError(`the entity key is too short (${key.length} characters, at least ${ENTITY_KEY_MIN_LENGTH}): ${HOW_TO_SET}`);
  }
  return key;
}

export function requireEntityKey(env: NodeJS.ProcessEnv = process.env): string {
  const key = entityKeyFromEnvironment(env);
  if (key === undefined) throw new SetupError(`no entity key: ${HOW_TO_SET}`);
  return key;
}

/** The reference for a normalised org number (the ten digits `Tip` parses to): 32 hex characters. */
export function entityReference(normalizedOrgNumber: string, key: string): string {
  return createHmac('sha256', key).update(`los-entity-v1:${normalizedOrgNumber}`).digest('hex').slice(0, 32);
}
