import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createSecretKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Kvm, type KV } from '@nats-io/kv';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import { INLINE_SEALED, SEALED_VERSION, bytesToBase64Url, isSealed, type Sealed } from '../domain/index.js';
import { ERASURE_STREAM, ERASURE_SUBJECT, eraseMessage, isStreamNotFound, storedAt, waitOutElection } from '../messaging/index.js';

/**
 * Envelope encryption. Each operation has its own AES-256 data key; the data key is stored only wrapped
 * (AES-256-GCM) by a master key, in a JetStream key-value bucket that is part of the stack. The master key
 * comes from the environment or a file, never from the repository. Destroying an operation's data key
 * erases its personal data from every history, backup and archive at once.
 */

export const KEY_BUCKET = 'LOS_KEYS';
/** The bucket's stream, where secure erase works on the stored messages. */
export const KEY_STREAM = `KV_${KEY_BUCKET}`;

/** One erasure on the record. */
export interface ErasureRecord {
  operationId: string;
  erasedAt: string;
}
export const MASTER_KEY_ENV = 'LOS_MASTER_KEY';
export const MASTER_KEY_FILE_ENV = 'LOS_MASTER_KEY_FILE';

/** Default retention of personal data after an operation ends. */
export const DEFAULT_RETENTION = '90 days';

export interface MasterKey {
  /** A fingerprint, not the key: recorded with each wrapped data key so rotation knows what to re-wrap. */
  id: string;
  key: Buffer;
}

/** The current master key first, then older ones still needed to unwrap entries a rotation has not reached. */
export type MasterKeyring = [MasterKey, ...MasterKey[]];

export function masterKey(key: Buffer): MasterKey {
  if (key.length !== 32) throw new Error(`master key rejected: must be 32 bytes (base64 of 32 random bytes), got ${key.length}`);
  return { id: `mk-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, key };
}

export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * `LOS_MASTER_KEY` (base64; several separated by commas, current first) or `LOS_MASTER_KEY_FILE` (one base64
 * key per line, current first). Key material is never echoed in an error.
 */
export function readMasterKeyring(env: Record<string, string | undefined> = process.env): MasterKeyring {
  let text = env[MASTER_KEY_ENV];
  if (!text && env[MASTER_KEY_FILE_ENV]) {
    try {
      text = readFileSync(env[MASTER_KEY_FILE_ENV]!, 'utf8');
    } catch (err) {
      throw new Error(`${MASTER_KEY_FILE_ENV}: cannot read ${env[MASTER_KEY_FILE_ENV]}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (!text) throw new Error(`no master key: set ${MASTER_KEY_ENV} (base64 of 32 random bytes) or ${MASTER_KEY_FILE_ENV}`);
  const keys = text
    .split(/[\s,]+/)
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const bytes = Buffer.from(line, 'base64');
      if (bytes.length !== 32) throw new Error(`master key ${i + 1} rejected: must be base64 of 32 bytes`);
      return masterKey(bytes);
    });
  return keys as MasterKeyring;
}

/** "erased on <date>": the operation's data key was destroyed after its retention. */
export class ErasedError extends Error {
  override name = 'ErasedError';
  constructor(
    readonly operationId: string,
    readonly erasedAt: string,
  ) {
    super(`erased on ${erasedAt}`);
  }
}

/**
 * A key in the store is wrapped by a master key this process was not given: the key store was made with another
 * master key (a lost or replaced key file), or a rotation's old key was dropped too soon.
 */
export class UnknownMasterKeyError extends Error {
  override name = 'UnknownMasterKeyError';
  constructor(
    readonly keyName: string,
    readonly masterKeyId: string,
  ) {
    super(`${keyName} is wrapped by master key ${masterKeyId}, which this process does not hold`);
  }
}

export class NoDataKeyError extends Error {
  override name = 'NoDataKeyError';
}

interface WrappedEntry {
  kind: 'data_key' | 'bridge_signing_key' | 'api_signing_key' | 'payload_key';
  masterKeyId: string;
  /** iv | ciphertext | tag, base64url, AES-256-GCM under the master key with the KV key name as additional data. */
  wrapped: string;
  createdAt: string;
  rotatedAt?: string;
  /** Data keys: whose coordinators may read the operation. */
  municipality?: string;
  /**
   * Data keys: when the operation's erasure is due, set when the operation ended (its final fan-out). The erasure
   * reconciliation destroys a key whose date has passed, whatever became of the erasure workflow.
   */
  eraseAt?: string;
  /** Bridge and API signing keys: the public half, readable by the worker without unwrapping anything. */
  publicKey?: string;
}

interface Tombstone {
  kind: 'erased';
  municipality?: string;
  erasedAt: string;
}

type Entry = WrappedEntry | Tombstone;

const opKey = (operationId: string) => `op.${operationId}`;
const BRIDGE_KEY = 'bridge.signing';
const API_KEY = 'api.signing';
const PAYLOAD_KEY = 'codec.payload';
/** How far the bucket has checked the erasure record (its stream sequence). */
const ERASURES_CHECKED = 'erasures.checked';

const secretKeys = new WeakMap<Buffer, KeyObject>();

/**
 * A long-lived key (a master key, the payload key) as a KeyObject, made once per Buffer: Node checks a raw key
 * anew on every cipher it makes, which costs about three times the cipher itself on a short payload.
 */
export function secretKeyOf(raw: Buffer): KeyObject {
  let key = secretKeys.get(raw);
  if (!key) secretKeys.set(raw, (key = createSecretKey(raw)));
  return key;
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string, iv: Buffer = randomBytes(12)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', secretKeyOf(key), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, box: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', secretKeyOf(key), box.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(box.subarray(box.length - 16));
  return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]);
}

export interface KeyStoreOptions {
  nc: NatsConnection;
  keyring: MasterKeyring;
  /** Replicas of the bucket; 1 on a single nats-server. */
  replicas?: number;
}

export interface DataKeyInfo {
  operationId: string;
  municipality?: string;
  state: 'active' | 'erased';
  masterKeyId?: string;
  erasedAt?: string;
  /** An active key of an operation that has ended: when its erasure is due. */
  eraseAt?: string;
}

/** An active data key whose erasure date has passed. */
export interface OverdueErasure {
  operationId: string;
  eraseAt: string;
}

export class KeyStore {
  private readonly payloadKeyCache = new Map<string, Buffer>();
  private bridgeKeyCache?: BridgeSigningKey;
  private apiKeyCache?: BridgeSigningKey;

  /** How many erasures on the record the last open found undone (a restored key store) and did again. */
  reappliedAtOpen = 0;

  private constructor(
    private readonly kv: KV,
    private keyring: MasterKeyring,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
  ) {}

  /**
   * Opens the bucket and the erasure record, creating them on first use, and re-applies every erasure on the record
   * that the bucket does not show (it was restored from a backup older than them).
   *
   * The bucket keeps two values per key, for a moment only: a key is overwritten (a tombstone, a re-wrap) by
   * writing the new value first and then erasing the one before it with JetStream's secure erase. With one value
   * per key the server would drop the old one itself, but without overwriting it: the wrapped key would stay in the
   * block file on disk until compaction.
   */
  static async open(options: KeyStoreOptions): Promise<KeyStore> {
    const replicas = options.replicas ?? 1;
    // Reads go to the stream's leader: a direct get may be answered by a replica that has not yet stored the key
    // this process created a moment ago, and a missing data key cannot be told from one never made.
    const kv = await waitOutElection(() => new Kvm(options.nc).create(KEY_BUCKET, { history: 2, replicas, allow_direct: false }));
    const jsm = await waitOutElection(() => jetstreamManager(options.nc));
    // A bucket made with one value per key (before erasure overwrote) keeps two from now on.
    const { config } = await waitOutElection(() => jsm.streams.info(KEY_STREAM));
    if (config.max_msgs_per_subject !== 2) await waitOutElection(() => jsm.streams.update(KEY_STREAM, { ...config, max_msgs_per_subject: 2 }));
    await waitOutElection(async () => {
      try {
        await jsm.streams.info(ERASURE_STREAM);
      } catch (err) {
        if (!isStreamNotFound(err)) throw err;
        await jsm.streams.add({
          name: ERASURE_STREAM,
          subjects: [ERASURE_SUBJECT],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.New,
          deny_delete: true,
          deny_purge: true,
          num_replicas: replicas,
          duplicate_window: 24 * 60 * 60 * 1_000_000_000,
        });
      }
    });
    const store = new KeyStore(kv, options.keyring, jsm, jetstream(options.nc));
    store.reappliedAtOpen = await store.reapplyErasures();
    return store;
  }

  get currentMasterKeyId(): string {
    return this.keyring[0].id;
  }

  /** The engine picks up a new keyring (after a rotation) without restarting. */
  useKeyring(keyring: MasterKeyring) {
    this.keyring = keyring;
  }

  private async read(name: string): Promise<{ entry: Entry; revision: number } | undefined> {
    const stored = await waitOutElection(() => this.kv.get(name));
    if (!stored || stored.operation !== 'PUT' || stored.length === 0) return undefined;
    return { entry: stored.json<Entry>(), revision: stored.revision };
  }

  private wrap(name: string, secret: Buffer): Pick<WrappedEntry, 'masterKeyId' | 'wrapped'> {
    const current = this.keyring[0];
    return { masterKeyId: current.id, wrapped: encrypt(current.key, secret, name).toString('base64url') };
  }

  private unwrap(name: string, entry: WrappedEntry): Buffer {
    const master = this.keyring.find((k) => k.id === entry.masterKeyId);
    if (!master) throw new UnknownMasterKeyError(name, entry.masterKeyId);
    return decrypt(master.key, Buffer.from(entry.wrapped, 'base64url'), name);
  }

  /** A secret kept in the bucket, created on first use; concurrent creators agree on the first one stored. */
  private async sharedSecret(
    name: string,
    kind: WrappedEntry['kind'],
    make: () => { secret: Buffer; publicKey?: string },
  ): Promise<{ secret: Buffer; entry: WrappedEntry }> {
    for (;;) {
      const found = await this.read(name);
      if (found) {
        if (found.entry.kind === 'erased') throw new Error(`${name} was destroyed`);
        return { secret: this.unwrap(name, found.entry), entry: found.entry };
      }
      const made = make();
      const entry: WrappedEntry = {
        kind,
        ...this.wrap(name, made.secret),
        createdAt: new Date().toISOString(),
        ...(made.publicKey ? { publicKey: made.publicKey } : {}),
      };
      try {
        await this.kv.create(name, JSON.stringify(entry));
        return { secret: made.secret, entry };
      } catch {
        // Another process created it first: use theirs.
      }
    }
  }

  /** Creates the operation's data key, or finds the one a registration of the same tip created before. */
  async createDataKey(operationId: string, municipality: string): Promise<void> {
    const name = opKey(operationId);
    const found = await this.read(name);
    if (found?.entry.kind === 'erased') throw new ErasedError(operationId, found.entry.erasedAt);
    if (found) return;
    const entry: WrappedEntry = { kind: 'data_key', ...this.wrap(name, randomBytes(32)), municipality, createdAt: new Date().toISOString() };
    try {
      await this.kv.create(name, JSON.stringify(entry));
    } catch (err) {
      if (!(await this.read(name))) throw err;
    }
  }

  /**
   * Seals with the operation's key, or leaves the value as it is when the operation has no key because it was
   * started without the typed client (the Temporal CLI or UI: it already holds plaintext; its payloads are
   * protected by the codec).
   */
  async sealIfKeyed(operationId: string, value: string): Promise<string | Sealed> {
    try {
      return await this.seal(operationId, value);
    } catch (err) {
      if (err instanceof NoDataKeyError) return value;
      throw err;
    }
  }

  async dataKeyInfo(operationId: string): Promise<DataKeyInfo | undefined> {
    const found = await this.read(opKey(operationId));
    if (!found) return undefined;
    const { entry } = found;
    return entry.kind === 'erased'
      ? { operationId, state: 'erased', erasedAt: entry.erasedAt, ...(entry.municipality ? { municipality: entry.municipality } : {}) }
      : {
          operationId,
          state: 'active',
          masterKeyId: entry.masterKeyId,
          ...(entry.municipality ? { municipality: entry.municipality } : {}),
          ...(entry.eraseAt ? { eraseAt: entry.eraseAt } : {}),
        };
  }

  /**
   * Notes on the operation's data key when its erasure is due (the operation has ended), so that the key store
   * itself knows which keys must go: the erasure workflow is one way they go, the reconciliation the other. An
   * operation without a key (started without the typed client) or whose key is gone has nothing to note.
   */
  async markErasureDue(operationId: string, eraseAt: string): Promise<void> {
    const name = opKey(operationId);
    for (;;) {
      const found = await this.read(name);
      if (!found || found.entry.kind !== 'data_key' || found.entry.eraseAt === eraseAt) return;
      try {
        await this.kv.update(name, JSON.stringify({ ...found.entry, eraseAt } satisfies WrappedEntry), found.revision);
      } catch {
        continue; // changed meanwhile (a rotation, an erasure): read it again
      }
      // The value before (the same wrapped key) is overwritten on disk, as after every change of a key.
      await this.eraseEarlierValues(name);
      return;
    }
  }

  /**
   * The data keys still there although their erasure was due more than `graceMs` before `now`: an erasure workflow
   * terminated, cancelled or lost. Reads every operation's entry once.
   */
  async overdueErasures(now: Date, graceMs = 0): Promise<OverdueErasure[]> {
    const names: string[] = [];
    for await (const name of await this.kv.keys('op.>')) names.push(name);
    const overdue: OverdueErasure[] = [];
    for (const name of names) {
      const found = await this.read(name);
      if (found?.entry.kind !== 'data_key' || found.entry.eraseAt === undefined) continue;
      if (Date.parse(found.entry.eraseAt) + graceMs <= now.getTime()) overdue.push({ operationId: name.slice('op.'.length), eraseAt: found.entry.eraseAt });
    }
    return overdue.sort((a, b) => a.eraseAt.localeCompare(b.eraseAt));
  }

  private async dataKey(operationId: string): Promise<Buffer> {
    const name = opKey(operationId);
    const found = await this.read(name);
    if (!found) throw new NoDataKeyError(`operation "${operationId}" has no data key in ${KEY_BUCKET}`);
    if (found.entry.kind === 'erased') throw new ErasedError(operationId, found.entry.erasedAt);
    return this.unwrap(name, found.entry);
  }

  /**
   * Erasure: the erasure goes on the record first (LOS_ERASURES, which outlives this bucket), then the wrapped data
   * key is replaced by a tombstone that keeps only the date and the municipality, and the wrapped key's message is
   * overwritten on disk (secure erase), so no copy of it is left to put back.
   */
  async destroyDataKey(operationId: string, at: Date = new Date()): Promise<{ erasedAt: string }> {
    const found = await this.read(opKey(operationId));
    if (found?.entry.kind === 'erased') {
      await this.eraseEarlierValues(opKey(operationId));
      return { erasedAt: found.entry.erasedAt };
    }
    const erasedAt = at.toISOString();
    const record: ErasureRecord = { operationId, erasedAt };
    // Once per operation: a retried erasure within the dedupe window is not a second record.
    await this.js.publish(ERASURE_SUBJECT, JSON.stringify(record), { msgID: `erasure.${operationId}` });
    await this.tombstone(operationId, erasedAt, found);
    return { erasedAt };
  }

  private async tombstone(operationId: string, erasedAt: string, found: { entry: Entry; revision: number } | undefined): Promise<void> {
    const name = opKey(operationId);
    const tombstone: Tombstone = { kind: 'erased', erasedAt, ...(found?.entry.municipality ? { municipality: found.entry.municipality } : {}) };
    await this.kv.put(name, JSON.stringify(tombstone));
    await this.eraseEarlierValues(name);
  }

  /** Overwrites every stored value of the key but its latest: a re-wrapped or destroyed key leaves no copy on disk. */
  private async eraseEarlierValues(name: string): Promise<void> {
    const subject = `$KV.${KEY_BUCKET}.${name}`;
    const latest = await waitOutElection(() => this.jsm.streams.getMessage(KEY_STREAM, { last_by_subj: subject }));
    if (!latest) return;
    for (let seq = 1; ;) {
      const earlier = await storedAt(this.jsm, KEY_STREAM, { seq, next_by_subj: subject });
      if (!earlier || earlier.seq >= latest.seq) return;
      await eraseMessage(this.jsm, KEY_STREAM, earlier.seq);
      seq = earlier.seq + 1;
    }
  }

  /**
   * Every erasure on the record that this bucket does not show is done again: after the key store was restored
   * from a backup, the keys erased since come back, and go again here before anything reads them. The bucket
   * remembers how far it has checked the record (`erasures.checked`); a restored bucket remembers the backup's
   * point, so exactly the erasures made since are checked.
   */
  async reapplyErasures(): Promise<number> {
    const checked = await this.kv.get(ERASURES_CHECKED);
    let seq = checked?.operation === 'PUT' && checked.length > 0 ? (checked.json<{ seq: number }>().seq ?? 0) + 1 : 1;
    let reapplied = 0;
    let last: number | undefined;
    for (;;) {
      const stored = await storedAt(this.jsm, ERASURE_STREAM, { seq, next_by_subj: ERASURE_SUBJECT });
      if (!stored) break;
      const record = stored.json<ErasureRecord>();
      const found = await this.read(opKey(record.operationId));
      if (found?.entry.kind !== 'erased') {
        await this.tombstone(record.operationId, record.erasedAt, found);
        reapplied += 1;
      }
      last = stored.seq;
      seq = stored.seq + 1;
    }
    if (last !== undefined) await this.kv.put(ERASURES_CHECKED, JSON.stringify({ seq: last }));
    return reapplied;
  }

  /**
   * Master-key rotation: every entry wrapped by an older master key is unwrapped and wrapped again by the
   * current one. The data keys themselves do not change, so running operations and their histories are
   * untouched. Compare-and-set on the revision: an entry changed meanwhile (e.g. erased) is read again.
   */
  async rotate(): Promise<{ rewrapped: number; entries: number }> {
    let rewrapped = 0;
    let entries = 0;
    const names: string[] = [];
    for await (const name of await this.kv.keys()) if (name !== ERASURES_CHECKED) names.push(name);
    for (const name of names) {
      for (;;) {
        const found = await this.read(name);
        if (!found) break;
        entries += 1;
        if (found.entry.kind === 'erased' || found.entry.masterKeyId === this.currentMasterKeyId) break;
        const secret = this.unwrap(name, found.entry);
        const entry: WrappedEntry = { ...found.entry, ...this.wrap(name, secret), rotatedAt: new Date().toISOString() };
        try {
          await this.kv.update(name, JSON.stringify(entry), found.revision);
          // The copy wrapped by the old master key is overwritten on disk, not left for compaction.
          await this.eraseEarlierValues(name);
          rewrapped += 1;
          break;
        } catch {
          entries -= 1; // changed meanwhile: read it again
        }
      }
    }
    return { rewrapped, entries };
  }

  /** Master-key ids still in use, by count: after a rotation only the current one should remain. */
  async masterKeysInUse(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for await (const name of await this.kv.keys()) {
      if (name === ERASURES_CHECKED) continue;
      const found = await this.read(name);
      if (found && found.entry.kind !== 'erased') counts[found.entry.masterKeyId] = (counts[found.entry.masterKeyId] ?? 0) + 1;
    }
    return counts;
  }

  /** The bridge's Ed25519 key: the bridge signs what it forwards; the workflow verifies with the public half. */
  async bridgeSigningKey(): Promise<BridgeSigningKey> {
    if (this.bridgeKeyCache) return this.bridgeKeyCache;
    const { secret, entry } = await this.sharedSecret(BRIDGE_KEY, 'bridge_signing_key', () => {
      const secretKey = ed25519.utils.randomSecretKey();
      return { secret: Buffer.from(secretKey), publicKey: bytesToBase64Url(ed25519.getPublicKey(secretKey)) };
    });
    this.bridgeKeyCache = new BridgeSigningKey(new Uint8Array(secret), entry.publicKey!);
    return this.bridgeKeyCache;
  }

  async bridgePublicKey(): Promise<string> {
    return (await this.bridgeSigningKey()).publicKey;
  }

  /**
   * The API's Ed25519 key: the API signs every decision it forwards, naming the person who took it; the
   * workflow verifies with the public half, which it learns from this store through an activity.
   */
  async apiSigningKey(): Promise<BridgeSigningKey> {
    if (this.apiKeyCache) return this.apiKeyCache;
    const { secret, entry } = await this.sharedSecret(API_KEY, 'api_signing_key', () => {
      const secretKey = ed25519.utils.randomSecretKey();
      return { secret: Buffer.from(secretKey), publicKey: bytesToBase64Url(ed25519.getPublicKey(secretKey)) };
    });
    this.apiKeyCache = new BridgeSigningKey(new Uint8Array(secret), entry.publicKey!);
    return this.apiKeyCache;
  }

  async apiPublicKey(): Promise<string> {
    return (await this.apiSigningKey()).publicKey;
  }

  /** The payload codec's key (not per operation: the codec sees payloads, not operations). */
  async payloadKey(): Promise<Buffer> {
    const cached = this.payloadKeyCache.get(PAYLOAD_KEY);
    if (cached) return cached;
    const { secret } = await this.sharedSecret(PAYLOAD_KEY, 'payload_key', () => ({ secret: randomBytes(32) }));
    this.payloadKeyCache.set(PAYLOAD_KEY, secret);
    return secret;
  }

  // --- sealing ----------------------------------------------------------------------------------------------

  /** Seals a JSON value with the operation's data key; the operation id is bound as additional data. */
  async seal(operationId: string, value: unknown): Promise<Sealed> {
    const key = await this.dataKey(operationId);
    const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
    // A synthetic IV (an HMAC of the plaintext under the data key): the same value sealed twice for one operation
    // gives the same sealed value, so the workflow can tell a corrected field from an unchanged one without
    // ever seeing either. Equal plaintexts reveal only that they are equal, and only within one operation.
    const iv = createHmac('sha256', key).update(operationId).update('\0').update(plaintext).digest().subarray(0, 12);
    const box = encrypt(key, plaintext, operationId, iv);
    return { sealed: SEALED_VERSION, op: operationId, iv: box.subarray(0, 12).toString('base64url'), ct: box.subarray(12).toString('base64url') };
  }

  async unseal<T = unknown>(sealed: Sealed): Promise<T> {
    const key = await this.dataKey(sealed.op);
    const box = Buffer.concat([Buffer.from(sealed.iv, 'base64url'), Buffer.from(sealed.ct, 'base64url')]);
    return JSON.parse(decrypt(key, box, sealed.op).toString('utf8')) as T;
  }

  /**
   * Replaces every Sealed value in a JSON value, and every inline sealed token in its strings, with the
   * plaintext. `may(op)` decides per operation; a value it refuses stays sealed. Throws ErasedError when an
   * operation's key was destroyed, unless `onErased` gives what to show instead.
   */
  async unsealDeep<T>(value: T, may: (operationId: string) => boolean | Promise<boolean> = () => true, onErased?: (err: ErasedError) => unknown): Promise<T> {
    const keys = new Map<string, Promise<Buffer>>();
    const keyFor = (op: string) => {
      if (!keys.has(op)) keys.set(op, this.dataKey(op));
      return keys.get(op)!;
    };
    const open = async (s: Sealed): Promise<unknown> => {
      let key: Buffer;
      try {
        key = await keyFor(s.op);
      } catch (err) {
        if (err instanceof ErasedError && onErased) return onErased(err);
        throw err;
      }
      const box = Buffer.concat([Buffer.from(s.iv, 'base64url'), Buffer.from(s.ct, 'base64url')]);
      return JSON.parse(decrypt(key, box, s.op).toString('utf8'));
    };
    const walk = async (node: unknown): Promise<unknown> => {
      if (isSealed(node)) return (await may(node.op)) ? open(node) : node;
      if (typeof node === 'string') {
        if (!node.includes('⟦')) return node;
        let out = '';
        let last = 0;
        for (const match of node.matchAll(INLINE_SEALED)) {
          const sealed: Sealed = { sealed: SEALED_VERSION, op: match[2]!, iv: match[3]!, ct: match[4]! };
          out += node.slice(last, match.index) + ((await may(sealed.op)) ? String(await open(sealed)) : match[0]);
          last = match.index! + match[0].length;
        }
        return out + node.slice(last);
      }
      if (Array.isArray(node)) return Promise.all(node.map(walk));
      if (typeof node === 'object' && node !== null) {
        const entries = await Promise.all(Object.entries(node).map(async ([k, v]) => [k, await walk(v)] as const));
        return Object.fromEntries(entries);
      }
      return node;
    };
    return (await walk(value)) as T;
  }
}

/** Every operation id a JSON value holds sealed data of: who is asking to read which operation. */
export function sealedOperations(value: unknown, found = new Set<string>()): Set<string> {
  if (isSealed(value)) found.add(value.op);
  else if (typeof value === 'string') for (const m of value.matchAll(INLINE_SEALED)) found.add(m[2]!);
  else if (Array.isArray(value)) for (const v of value) sealedOperations(v, found);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) sealedOperations(v, found);
  return found;
}

export interface KeyStoreConnection {
  /** One nats-server, or every node of a cluster. */
  servers: string | string[];
  /** An NKEY seed file (the engine's accounts, messaging/natsAuth.ts): the identity that may use the key store. */
  nkeySeedFile?: string;
  /** For a `tls://` server whose certificate a private CA signed: that CA. */
  tls?: { caFile: string };
  keyring: MasterKeyring;
  name?: string;
}

/**
 * Its own NATS connection (nats.js 3.x, which the key-value client needs), so the key store does not depend on
 * the rest of the engine's NATS client. Close it with `close()`.
 */
export async function openKeyStore(options: KeyStoreConnection): Promise<{ keys: KeyStore; nc: NatsConnection; close(): Promise<void> }> {
  const { connect, nkeyAuthenticator } = await import('@nats-io/transport-node');
  const seed = options.nkeySeedFile ? readFileSync(options.nkeySeedFile, 'utf8').trim() : undefined;
  const nc = await connect({
    servers: options.servers,
    name: options.name ?? 'los-keys',
    maxReconnectAttempts: -1,
    ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const keys = await KeyStore.open({ nc, keyring: options.keyring });
  return { keys, nc, close: () => nc.drain() };
}

/** PKCS #8 DER for an Ed25519 private key: this fixed prefix, then the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An Ed25519 signing key of the engine: the bridge's (agency answers) or the API's (decisions). Signing runs on node:crypto (OpenSSL), about a hundred times faster than the pure-JS
 * signer; the signature is the same Ed25519 signature the workflow verifies with @noble/curves in its sandbox.
 */
export class BridgeSigningKey {
  private readonly privateKey: KeyObject;

  constructor(
    readonly secretKey: Uint8Array,
    readonly publicKey: string,
  ) {
    this.privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.privateKey));
  }
}

/** What signs a decision: the API's key (KeyStore.apiSigningKey), or any Ed25519 signer in a test. */
export type DecisionSigner = Pick<BridgeSigningKey, 'sign'>;
