import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import {
  ENGINE_IDENTITIES,
  publicKeyOf,
  readSeedFile,
  seedFileName,
  type EngineIdentity,
  type NatsAccountsOptions,
  type NatsIdentity,
  type NatsSeeds,
} from '../messaging/index.js';

/**
 * A keys directory, as `nats-config keys` keeps it and the cluster's set-up uses it: every identity's seed
 * (`engine/<identity>.nk`, `agencies/<agency>.nk`, 0600), an agency's next seed during a rotation
 * (`agencies/<agency>.next.nk`), and `public-keys.json`, which the nats-server config is rendered from: the public
 * keys now valid and, under `revoked`, every public key that may never log in again. Nothing in public-keys.json is
 * secret. A revoked agency's seed is deleted; its account stays (its consumer, its unread events), with no user.
 */

export interface PublicKeysFile {
  engine: Record<EngineIdentity, string>;
  /** One key; two during a rotation (the old first); none once revoked. */
  agencies: Record<string, string[]>;
  /** Every public key revoked, by agency: the rendered config refuses to hold one again. */
  revoked: Record<string, string[]>;
}

const PUBLIC_KEYS = 'public-keys.json';
const nextSeedFile = (agency: string) => `agencies/${agency}.next.nk`;

function writePrivate(path: string, text: string) {
  writeFileSync(path, text, { mode: 0o600 });
  // `mode` applies only when the file is created; an older, wider-open file must be narrowed too.
  chmodSync(path, 0o600);
}

const newSeed = () => new TextDecoder().decode(createUser().getSeed());

/** The public keys file of a keys directory; before the first `keys`, none. */
export function readPublicKeysFile(dir: string): PublicKeysFile | undefined {
  const path = join(dir, PUBLIC_KEYS);
  return existsSync(path) ? parsePublicKeys(path) : undefined;
}

/** public-keys.json at a path (`nats-config config --public-keys`). */
export function parsePublicKeys(path: string): PublicKeysFile {
  let parsed: Partial<PublicKeysFile>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<PublicKeysFile>;
  } catch (err) {
    throw new Error(`public keys file ${path} could not be read: ${(err as Error).message}`);
  }
  if (!parsed.engine || !parsed.agencies) throw new Error(`public keys file ${path} has no "engine" or no "agencies"`);
  // Written before rotation and revocation existed: one key per agency, nothing revoked.
  const agencies = Object.fromEntries(Object.entries(parsed.agencies).map(([agency, keys]) => [agency, typeof keys === 'string' ? [keys] : keys]));
  return { engine: parsed.engine, agencies, revoked: parsed.revoked ?? {} };
}

/** What the config is rendered from: the keys now valid and the keys revoked. */
export function accountKeys(file: PublicKeysFile): Pick<NatsAccountsOptions, 'publicKeys' | 'revokedKeys'> {
  return { publicKeys: { engine: file.engine, agencies: file.agencies }, revokedKeys: Object.values(file.revoked).flat() };
}

/** True once an agency's credentials are revoked and no new ones issued. */
export function isRevoked(dir: string, agency: string): boolean {
  const file = readPublicKeysFile(dir);
  return file !== undefined && (file.revoked[agency]?.length ?? 0) > 0 && (file.agencies[agency]?.length ?? 0) === 0;
}

/** Recomputes public-keys.json from the seeds on disk, keeping the revoked keys. */
function writePublicKeys(dir: string, agencies: readonly string[]): PublicKeysFile {
  const before = readPublicKeysFile(dir);
  const seedAt = (relative: string) => {
    const path = join(dir, relative);
    return existsSync(path) ? publicKeyOf(readSeedFile(path)) : undefined;
  };
  const engine = Object.fromEntries(
    ENGINE_IDENTITIES.map((identity) => {
      const key = seedAt(seedFileName(identity));
      if (!key) throw new Error(`the engine's ${identity} has no seed in ${dir}: run \`nats-config keys\``);
      return [identity, key];
    }),
  ) as Record<EngineIdentity, string>;
  const file: PublicKeysFile = {
    engine,
    agencies: Object.fromEntries(
      agencies.map((agency) => [agency, [seedAt(seedFileName(`agency:${agency}`)), seedAt(nextSeedFile(agency))].filter((k): k is string => k !== undefined)]),
    ),
    revoked: before?.revoked ?? {},
  };
  writeFileSync(join(dir, PUBLIC_KEYS), `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

/**
 * Issues an NKEY to every engine identity and agency that has none yet; keys already there are kept. A revoked
 * agency gets none unless named in `reissue`: its new key is a new credential, handed over as the first was.
 */
export function issueKeys(
  dir: string,
  agencies: readonly string[],
  reissue: readonly string[] = [],
): { created: NatsIdentity[]; kept: number; revoked: string[]; file: PublicKeysFile } {
  for (const agency of reissue) {
    if (!agencies.includes(agency)) throw new Error(`agency "${agency}" is not in the catalogue, so it has no account to issue a key for`);
  }
  for (const sub of ['engine', 'agencies']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const revoked = agencies.filter((agency) => !reissue.includes(agency) && isRevoked(dir, agency));
  const identities: NatsIdentity[] = [...ENGINE_IDENTITIES, ...agencies.filter((a) => !revoked.includes(a)).map((a): NatsIdentity => `agency:${a}`)];
  const created: NatsIdentity[] = [];
  for (const identity of identities) {
    const path = join(dir, seedFileName(identity));
    if (existsSync(path)) continue;
    writePrivate(path, `${newSeed()}\n`);
    created.push(identity);
  }
  return { created, kept: identities.length - created.length, revoked, file: writePublicKeys(dir, agencies) };
}

/** The seeds of a keys directory, for the processes a set-up starts itself (a revoked agency has none). */
export function readSeeds(dir: string, agencies: readonly string[]): NatsSeeds {
  const seedOf = (identity: NatsIdentity) => readSeedFile(join(dir, seedFileName(identity)));
  return {
    engine: Object.fromEntries(ENGINE_IDENTITIES.map((identity) => [identity, seedOf(identity)])) as NatsSeeds['engine'],
    agencies: Object.fromEntries(
      agencies.filter((agency) => existsSync(join(dir, seedFileName(`agency:${agency}`)))).map((agency) => [agency, seedOf(`agency:${agency}`)]),
    ),
  };
}

function knownAgency(dir: string, agency: string): PublicKeysFile {
  const file = readPublicKeysFile(dir);
  if (!file) throw new Error(`${dir} holds no ${PUBLIC_KEYS}: run \`nats-config keys\` first`);
  if (!(agency in file.agencies)) throw new Error(`agency "${agency}" has no account in ${join(dir, PUBLIC_KEYS)}`);
  return file;
}

/**
 * Revokes every key of an agency: its seeds are deleted and its public keys move to `revoked`. The config rendered
 * next holds no user for the agency; once the servers reload it, they close its connections and refuse its logins.
 * Returns the revoked public keys.
 */
export function revokeAgencyKeys(dir: string, agency: string): string[] {
  const file = knownAgency(dir, agency);
  const keys = file.agencies[agency] ?? [];
  file.revoked[agency] = [...new Set([...(file.revoked[agency] ?? []), ...keys])];
  writeFileSync(join(dir, PUBLIC_KEYS), `${JSON.stringify(file, null, 2)}\n`);
  for (const relative of [seedFileName(`agency:${agency}`), nextSeedFile(agency)]) rmSync(join(dir, relative), { force: true });
  writePublicKeys(dir, Object.keys(file.agencies));
  return keys;
}

/**
 * Starts a rotation: a new seed for the agency beside the old one (`agencies/<agency>.next.nk`), both valid once the
 * servers reload. Returns the new seed's file, to hand to the agency.
 */
export function beginRotation(dir: string, agency: string): string {
  const file = knownAgency(dir, agency);
  if (!existsSync(join(dir, seedFileName(`agency:${agency}`))))
    throw new Error(`agency "${agency}" has no key to rotate (revoked?): issue one with \`nats-config keys --reissue ${agency}\``);
  const path = join(dir, nextSeedFile(agency));
  if (existsSync(path)) throw new Error(`agency "${agency}" is already rotating its key: finish that rotation first`);
  writePrivate(path, `${newSeed()}\n`);
  writePublicKeys(dir, Object.keys(file.agencies));
  return path;
}

/**
 * Ends a rotation: the old key is revoked and the new seed becomes the agency's seed. Returns the revoked key.
 */
export function finishRotation(dir: string, agency: string): string {
  const file = knownAgency(dir, agency);
  const next = join(dir, nextSeedFile(agency));
  if (!existsSync(next)) throw new Error(`agency "${agency}" is not rotating its key: start with \`nats-config rotate ${agency}\``);
  const current = join(dir, seedFileName(`agency:${agency}`));
  const old = publicKeyOf(readSeedFile(current));
  file.revoked[agency] = [...new Set([...(file.revoked[agency] ?? []), old])];
  writeFileSync(join(dir, PUBLIC_KEYS), `${JSON.stringify(file, null, 2)}\n`);
  renameSync(next, current);
  writePublicKeys(dir, Object.keys(file.agencies));
  return old;
}
