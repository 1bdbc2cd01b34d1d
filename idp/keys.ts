import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/**
 * The provider's secrets, kept in its data directory: the key that signs tokens (so a restart keeps every issued
 * token valid) and the keys that sign its cookies (so a restart keeps people signed in at it).
 */

/** Tokens are signed with ES256: short signatures, and every JOSE library and browser verifies it. */
export const SIGNING_ALG = 'ES256';

export interface ProviderSecrets {
  /** Private JWKs, the signing key first. */
  jwks: { keys: JWK[] };
  cookieKeys: string[];
}

function writePrivate(file: string, content: string): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, content, { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, file);
}

/** Loads the secrets from `dataDir`, making them the first time. */
export async function loadOrCreateSecrets(dataDir: string): Promise<ProviderSecrets> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const jwksFile = join(dataDir, 'jwks.json');
  const cookieFile = join(dataDir, 'cookie-keys.json');
  if (!existsSync(jwksFile)) {
    const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: SIGNING_ALG, use: 'sig' };
    writePrivate(jwksFile, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);
  }
  if (!existsSync(cookieFile)) writePrivate(cookieFile, `${JSON.stringify([randomBytes(32).toString('base64url')])}\n`);
  const jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: JWK[] };
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0 || !jwks.keys.every((key) => typeof key.d === 'string')) {
    throw new Error(`${jwksFile} must be a JWK set of private keys ({"keys": [...]}): remove it to make a new one`);
  }
  const cookieKeys = JSON.parse(readFileSync(cookieFile, 'utf8')) as string[];
  if (!Array.isArray(cookieKeys) || cookieKeys.length === 0 || !cookieKeys.every((key) => typeof key === 'string' && key.length >= 32)) {
    throw new Error(`${cookieFile} must be a JSON array of secrets of at least 32 characters: remove it to make a new one`);
  }
  return { jwks, cookieKeys };
}
