import { createHash } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { z } from 'zod';
import { Role } from '../domain/index.js';
import type { AuditLog } from './audit.js';
import { ErasedError, sealedOperations, type KeyStore } from './keys.js';

/**
 * Who may read what (docs: README, "Who can see what"), decided in one place for the codec server and
 * `los show`. Tokens are JWTs checked with `jose` against the issuer's public key; a dev issuer makes them
 * for the demo and the tests.
 * - coordinator: everything about operations of the municipality in the token's `municipality` claim.
 * - steering_group: the record with outcome sums; sealed fields stay sealed.
 * - operator: nothing (403); operators read the readable summary, details and search attributes.
 * - auditor, administrator: nothing personal (403); an auditor reads the access log, an administrator rotates keys.
 */

/** The roles live with the decision's author (domain/authorship.ts); re-exported for the vault's callers. */
export { Role };

export const ReaderClaims = z.object({
  sub: z.string().min(1),
  role: Role,
  municipality: z.string().min(1).optional(),
});
export type Reader = z.infer<typeof ReaderClaims>;

export const TOKEN_ISSUER = 'los-dev-issuer';
export const TOKEN_AUDIENCE = 'los-codec';

export class AccessDenied extends Error {
  override name = 'AccessDenied';
}

export interface TokenVerifier {
  verify(token: string): Promise<Reader>;
}

/** Verifies tokens signed by the issuer whose public key (JWK) is given. */
export async function tokenVerifier(publicJwk: JWK, issuer = TOKEN_ISSUER, audience = TOKEN_AUDIENCE): Promise<TokenVerifier> {
  const key = await importJWK(publicJwk, publicJwk.alg ?? 'EdDSA');
  return {
    async verify(token: string): Promise<Reader> {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, { issuer, audience }));
      } catch (err) {
        throw new AccessDenied(`token refused: ${(err as Error).message}`);
      }
      const claims = ReaderClaims.safeParse(payload);
      if (!claims.success) throw new AccessDenied(`token refused: ${claims.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (claims.data.role === 'coordinator' && !claims.data.municipality)
        throw new AccessDenied('token refused: a coordinator token must name its municipality');
      return claims.data;
    },
  };
}

/** A development token issuer (EdDSA). In production an OIDC provider issues the tokens; the verifier is the same. */
export interface DevIssuer {
  publicJwk: JWK;
  mint(reader: Reader, ttl?: string): Promise<string>;
}

export async function createDevIssuer(): Promise<DevIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), alg: 'EdDSA' };
  return {
    publicJwk,
    mint: (reader, ttl = '1h') =>
      new SignJWT({ role: reader.role, ...(reader.municipality ? { municipality: reader.municipality } : {}) })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(reader.sub)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(ttl)
        .sign(privateKey),
  };
}

export function fingerprint(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export interface ReadRequest<T> {
  reader: Reader;
  action: 'decode' | 'show' | 'register';
  values: T[];
  /** Fingerprints of what was asked for, for the log. */
  payloads: { index: number; sha256: string }[];
  /** The operation, when the caller knows it (`los show`); otherwise taken from the sealed values. */
  operationId?: string;
}

/**
 * Reads values as `reader` may: unseals for an entitled coordinator, leaves sealed fields sealed for the
 * steering group, refuses operators and other municipalities' coordinators. Every attempt, allowed or not,
 * is in the access log before anything is returned. A destroyed key reads as "erased on <date>".
 */
export async function readAs<T>(keys: KeyStore, audit: AuditLog, request: ReadRequest<T>): Promise<T[]> {
  const { reader } = request;
  const operations = new Set<string>(request.operationId ? [request.operationId] : []);
  for (const value of request.values) sealedOperations(value, operations);
  const log = async (allowed: boolean, detail: string) => {
    const at = new Date().toISOString();
    const targets = operations.size > 0 ? [...operations] : [undefined];
    for (const operationId of targets) {
      await audit.record({
        at,
        who: reader.sub,
        role: reader.role,
        ...(operationId ? { operationId } : {}),
        action: request.action,
        payloads: request.payloads,
        allowed,
        detail,
      });
    }
  };
  if (reader.role === 'operator') {
    await log(false, 'refused: operators decode nothing');
    throw new AccessDenied('operators may not decode personal data: they read phase, deadlines and summary without a key');
  }
  if (reader.role === 'auditor' || reader.role === 'administrator') {
    await log(false, `refused: ${reader.role}s decode nothing`);
    throw new AccessDenied(`role ${reader.role} may not decode personal data`);
  }
  if (reader.role === 'steering_group') {
    await log(true, 'sums only: sealed fields left sealed');
    return request.values;
  }
  for (const operationId of operations) {
    const info = await keys.dataKeyInfo(operationId);
    if (info?.municipality !== reader.municipality) {
      await log(false, `refused: operation ${operationId} is not in ${reader.municipality}`);
      throw new AccessDenied(`coordinators of ${reader.municipality} may not read operation ${operationId}`);
    }
  }
  await log(true, 'plaintext');
  return Promise.all(
    request.values.map((value) =>
      keys.unsealDeep(
        value,
        () => true,
        (err: ErasedError) => err.message,
      ),
    ),
  );
}
