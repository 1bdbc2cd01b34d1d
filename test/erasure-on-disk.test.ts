import { randomUUID } from 'node:crypto';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { erasureWorkflowId, luhnCheckDigit, SUBJECTS } from '../domain/index.js';
import { ERASURE_STREAM } from '../messaging/index.js';
import { ErasedError, KEY_BUCKET, KEY_STREAM, KeyStore, generateMasterKey, readMasterKeyring, sealDecision } from '../vault/index.js';
import { assessUpdate, closeUpdate, scheduleUpdate } from '../workflows/definitions.js';
import { eventually, sampleTip, startTestEngine, untilState, type TestEngine } from './engine.js';
import { answer } from './answers.js';
import { foundOnDisk } from './storeScan.js';

/** Erasure that holds on disk: what the nats-server's own files still hold after an operation's data is erased. */
let engine: TestEngine;
const keyring = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });

beforeAll(async () => {
  engine = await startTestEngine('erasure-disk', { keyring, streamEraseIntervalMs: 500 });
  await engine.startAgencies(DEMO_BEHAVIOURS);
});
afterAll(async () => {
  await engine?.stop();
});

/** How many places of the store hold a value published to a scratch stream with the outgoing stream's storage settings; the scratch stream is deleted, files and all, before this returns. */
async function seenOnDiskWhenStoredAsOutgoing(value: string): Promise<number> {
  const jsm = await jetstreamManager(engine.nc);
  const { config } = await jsm.streams.info(SUBJECTS.streamOut);
  const name = 'SCAN_CHECK';
  await jsm.streams.add({ ...config, name, subjects: ['scan.check'], sources: undefined, mirror: undefined });
  try {
    await jetstream(engine.nc).publish('scan.check', JSON.stringify({ name: value }));
    // The server flushes its block files on its own schedule after the acknowledgement.
    const hits = await eventually(
      async () => foundOnDisk(engine.natsStoreDir, { value }),
      (found) => found.length > 0,
      10_000,
    ).catch(() => []);
    return hits.length;
  } finally {
    await jsm.streams.delete(name);
  }
}

const keyStreamDir = () => join(engine.natsStoreDir, 'jetstream', '$G', 'streams', KEY_STREAM);

/** The wrapped data key as the bucket stores it (a test reads the raw entry; the engine never hands it out). */
async function wrappedKeyOf(operationId: string): Promise<{ wrapped: string; raw: Buffer }> {
  const jsm = await jetstreamManager(engine.nc);
  const stored = await jsm.streams.getMessage(KEY_STREAM, { last_by_subj: `$KV.${KEY_BUCKET}.op.${operationId}` });
  const { wrapped } = stored!.json<{ wrapped: string }>();
  return { wrapped, raw: Buffer.from(wrapped, 'base64url') };
}

describe('an answer on disk', () => {
  it("overwrites both copies of a settled answer, its agency's intake's and LOS_IN's, at the next sweep", async () => {
    const needle = `Declined by ${randomUUID()}`;
    const jsm = await jetstreamManager(engine.nc);
    // To an operation that does not exist: settled at once (dead-lettered, which keeps a copy of its own).
    const message = answer('polisen', `los-umea-nowhere-${randomUUID()}`, 'mandate_declined', `polisen.nowhere.${randomUUID()}`, { reason: needle });
    const ack = await jetstream(engine.nc).publish(message.subject, message.body, { headers: message.headers, msgID: message.id });
    // The agency's publish is acknowledged by its own intake; LOS_IN takes a copy from there.
    expect(ack.stream).toBe(SUBJECTS.agencyIntake('polisen'));
    const stored = (stream: string, seq: number) => jsm.streams.getMessage(stream, { seq }).catch(() => null);
    const copy = await eventually(
      () => jsm.streams.getMessage(SUBJECTS.streamIn, { last_by_subj: message.subject }).catch(() => null),
      (m) => m !== null && new TextDecoder().decode(m.data).includes(needle),
    );
    await eventually(
      async () => [await stored(ack.stream, ack.seq), await stored(SUBJECTS.streamIn, copy!.seq)],
      (copies) => copies.every((c) => c === null),
      20_000,
    );
    const streamDir = (stream: string) => join(engine.natsStoreDir, 'jetstream', '$G', 'streams', stream);
    expect([streamDir(ack.stream), streamDir(SUBJECTS.streamIn)].flatMap((dir) => foundOnDisk(dir, { needle }))).toEqual([]);
  });
});

describe('the key store on disk', () => {
  it('leaves no copy of a destroyed data key, wrapped or not, in any file of the nats-server store', async () => {
    const { operationId } = await engine.register(sampleTip());
    const sealed = await engine.keys.seal(operationId, 'Storgatan 12');
    const { wrapped, raw } = await wrappedKeyOf(operationId);
    expect(foundOnDisk(keyStreamDir(), { wrapped, raw }).length).toBeGreaterThan(0);

    await engine.keys.destroyDataKey(operationId);
    await expect(engine.keys.unseal(sealed)).rejects.toThrow(ErasedError);
    expect(foundOnDisk(engine.natsStoreDir, { 'wrapped key': wrapped, 'raw wrapped key': raw })).toEqual([]);
  });

  it('erases again, at the next open, every key erased since the backup the key store was restored from', async () => {
    const { operationId } = await engine.register(sampleTip());
    const sealed = await engine.keys.seal(operationId, 'the owner lives upstairs');
    const { wrapped, raw } = await wrappedKeyOf(operationId);
    const backup = join(engine.natsStoreDir, '..', 'key-store-backup');

    // A backup of the key store's stream, copied while the server is stopped.
    let restart = await engine.pauseNats();
    cpSync(keyStreamDir(), backup, { recursive: true });
    await restart();
    const { erasedAt } = await engine.keys.destroyDataKey(operationId);

    // The backup is restored: the erased key is back in the bucket.
    restart = await engine.pauseNats();
    rmSync(keyStreamDir(), { recursive: true });
    cpSync(backup, keyStreamDir(), { recursive: true });
    rmSync(backup, { recursive: true });
    await restart();
    await eventually(
      () => engine.keys.dataKeyInfo(operationId).catch(() => undefined),
      (info) => info?.state === 'active',
    );

    // Any engine process opening the key store re-applies the erasure record, which the restore did not touch.
    const reopened = await KeyStore.open({ nc: engine.nc, keyring });
    expect(reopened.reappliedAtOpen).toBe(1);
    expect(await reopened.dataKeyInfo(operationId)).toEqual({ operationId, state: 'erased', erasedAt, municipality: 'Umeå' });
    await expect(reopened.unseal(sealed)).rejects.toThrow(new ErasedError(operationId, erasedAt).message);
    expect(foundOnDisk(engine.natsStoreDir, { 'wrapped key': wrapped, 'raw wrapped key': raw })).toEqual([]);
    // The record holds the operation and the date, nothing else, and nobody can delete or purge it.
    const jsm = await jetstreamManager(engine.nc);
    const record = await jsm.streams.getMessage(ERASURE_STREAM, { last_by_subj: 'los.v1.erasures' });
    expect(Object.keys(record!.json<object>()).sort()).toEqual(['erasedAt', 'operationId']);
    await expect(jsm.streams.purge(ERASURE_STREAM)).rejects.toThrow();
    await expect(jsm.streams.deleteMessage(ERASURE_STREAM, record!.seq)).rejects.toThrow();
  });
});

describe('personal data at rest in NATS', () => {
  it('holds none of a closed, acknowledged and erased operation in any file of the store; the protected source never', async () => {
    // Values of this test alone: no other operation in this store has them.
    const digits = `55912${String(Date.now() % 10_000).padStart(4, '0')}`;
    const orgNumber = `${digits.slice(0, 6)}-${digits.slice(6)}${luhnCheckDigit(digits)}`;
    const base = sampleTip();
    const tip = {
      ...base,
      entity: { ...base.entity, orgNumber, name: `Pizzeria Vindkraft ${digits} HB`, address: `Kvarngatan ${digits}, 903 30 Umeå` },
      description: `Cash-only pizzeria ${digits}; the back room is used for card games after hours.`,
      source: { kind: 'public' as const, protected: true, reference: `PROTECTED-SOURCE-${digits}` },
    };
    const personal = {
      'org number': orgNumber,
      'org number digits': orgNumber.replace('-', ''),
      name: tip.entity.name,
      address: tip.entity.address,
      description: tip.description,
      'source reference': tip.source.reference,
    };
    const { handle, operationId } = await engine.register(tip, {
      config: { mandateDeadline: '4s', findingsDeadline: '8s', followUpAfter: '200ms', outcomeDeadline: '8s', retention: '3s' },
    });
    await untilState(handle, (s) => s.phase === 'assessment');
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    await untilState(handle, (s) => s.phase === 'joint_action' && s.stage === 'schedule_decision', 30_000);
    await engine.decide(
      handle,
      scheduleUpdate,
      await sealDecision(engine.keys, operationId, { at: new Date(Date.now() + 1_500).toISOString(), place: 'Kvarngatan', lead: 'skatteverket' as const }),
    );
    // The briefing went out with the description; the protected source reached no stream, then or ever.
    await untilState(handle, (s) => s.stage === 'closing_decision', 40_000);
    expect(foundOnDisk(engine.natsStoreDir, { 'source reference': tip.source.reference })).toEqual([]);
    // The scan sees what the store holds: the business's name, written to a stream stored as the engine's outgoing
    // stream is, is found in its files. (The operation's own events may already be acknowledged and swept by now.)
    await expect(seenOnDiskWhenStoredAsOutgoing(tip.entity.name)).resolves.toBeGreaterThan(0);
    await engine.decide(handle, closeUpdate, await sealDecision(engine.keys, operationId, { summary: 'closed; nothing found' }));
    expect((await handle.result()).phase).toBe('closed');

    await engine.client.workflow.getHandle(erasureWorkflowId(operationId)).result();
    // Acknowledged events and settled answers go at the next sweep; what nobody acknowledged went with the erasure.
    const jsm = await jetstreamManager(engine.nc);
    await eventually(
      async () => foundOnDisk(engine.natsStoreDir, personal),
      (hits) => hits.length === 0,
      20_000,
    );
    // The streams are still there and still in use: the erasure overwrote messages, it removed no stream.
    expect((await jsm.streams.info(SUBJECTS.streamOut)).state.last_seq).toBeGreaterThan(0);
    expect((await engine.keys.dataKeyInfo(operationId))?.state).toBe('erased');
  });
});
