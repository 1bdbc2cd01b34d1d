import { createHash } from 'node:crypto';
import { Role } from '../domain/index.js';
import type { AuditLog } from './audit.js';
import { ErasedError, sealedOperations, type KeyStore } from './keys.js';

/**
 * Who may read what (docs: README, "Who can see what"), decided in one place for the codec server and the API
 * (`los show`). Who the reader is, the API decides (api/auth.ts: the provider's access token or the API's
 * session); this decides what that reader may see.
 * - coordinator: everything about operations of the municipality in their token's municipality claim.
 * - steering_group: the record with outcome sums; sealed fields stay sealed.
 * - operator: nothing (403); operators read the readable summary, details and search attributes.
 * - auditor, administrator: nothing personal (403); an auditor reads the access log, an administrator rotates keys.
 */

/** The roles live with the decision's author (domain/authorship.ts); re-exported for the vault's callers. */
export { Role };

/** Who reads: the person the API (or the codec server) identified; `municipality` for a coordinator. */
export interface Reader {
  sub: string;
  role: Role;
  municipality?: string;
}

export class AccessDenied extends Error {
  override name = 'AccessDenied';
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
  /** Where the request came from and what it asked, for the log. */
  origin?: { address?: string; asked?: string };
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
        ...request.origin,
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
