import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import protobufs from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { ENCODING_ENCRYPTED, FORMAT_DEFLATE_D1, FORMAT_PLAIN, LosPayloadCodec } from '../vault/index.js';

/**
 * The payload codec compresses before it encrypts: a history carries the deflated size, and every reader
 * with the key (the worker, the codec server, `los`) gets the payload back byte for byte.
 */
const key = randomBytes(32);
const codec = new LosPayloadCodec({ payloadKey: async () => key });
/** The decrypted body of a stored payload: its format byte, then the Payload as stored. */
function opened(p: Payload): Buffer {
  const box = Buffer.from(p.data!);
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, 12));
  decipher.setAuthTag(box.subarray(box.length - 16));
  return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]);
}
/** Encrypts a body as the codec would, whatever it holds. */
function sealedBody(body: Uint8Array): Payload {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
  return { metadata: { encoding: new TextEncoder().encode(ENCODING_ENCRYPTED) }, data };
}

/** A fan-out as the workflow hands it to the notify activity: the same sealed fields for every agency. */
function fanOut(agencies: number): Payload {
  const sealed = (n: number) => ({
    sealed: 'los.v1',
    op: 'op-umea-1a2b3c',
    iv: randomBytes(12).toString('base64url'),
    ct: randomBytes(n).toString('base64url'),
  });
  const entity = { orgNumber: sealed(27), name: sealed(38), address: sealed(40) };
  const events = Array.from({ length: agencies }, (_, i) => ({
    to: `agency_${i}`,
    event: 'mandate_requested',
    eventId: `op-umea-1a2b3c.mandate.1.agency_${i}.mandate_requested`,
    data: { correlation: { operationId: 'op-umea-1a2b3c', requestId: `mandate.1.agency_${i}` }, entity, categories: ['unlicensed_alcohol'], tools: ['x'] },
  }));
  return defaultPayloadConverter.toPayload({ operationId: 'op-umea-1a2b3c', municipality: 'Umeå', events })!;
}

describe('payload codec', () => {
  it('stores a large payload compressed and encrypted, well below its plain size, and gives it back unchanged', async () => {
    const plain = fanOut(8);
    const plainSize = protobufs.temporal.api.common.v1.Payload.encode(plain).finish().length;
    const [encoded] = await codec.encode([plain]);
    // The only metadata is the encoding: how the body is stored is its first byte, under the encryption.
    expect(Object.keys(encoded!.metadata!)).toEqual(['encoding']);
    expect(new TextDecoder().decode(encoded!.metadata!.encoding)).toBe(ENCODING_ENCRYPTED);
    expect(opened(encoded!)[0]).toBe(FORMAT_DEFLATE_D1);
    // Eight agencies hold the same sealed entity: stored once, the payload is under half its plain size.
    expect(encoded!.data!.length).toBeLessThan(plainSize / 2);
    const [decoded] = await codec.decode([encoded!]);
    expect(Buffer.from(decoded!.data!)).toEqual(Buffer.from(plain.data!));
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(defaultPayloadConverter.fromPayload(plain));
  });

  it('deflates even a small payload against the dictionary (a decision receipt to a few bytes), and still encrypts it', async () => {
    const receipt = defaultPayloadConverter.toPayload({ phase: 'joint_action', stage: 'schedule_decision', waitingFor: 'schedule decision' })!;
    const plainSize = protobufs.temporal.api.common.v1.Payload.encode(receipt).finish().length;
    const [encoded] = await codec.encode([receipt]);
    expect(opened(encoded!)[0]).toBe(FORMAT_DEFLATE_D1);
    expect(opened(encoded!).length).toBeLessThan(plainSize / 3);
    expect(Buffer.from(encoded!.data!).includes(Buffer.from('schedule'))).toBe(false);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([encoded!]))[0]!)).toEqual(defaultPayloadConverter.fromPayload(receipt));
  });

  it('stores a payload deflate cannot shorten as it is, marked so, and reads it back', async () => {
    const noise: Payload = { metadata: {}, data: randomBytes(64) };
    const [encoded] = await codec.encode([noise]);
    expect(opened(encoded!)[0]).toBe(FORMAT_PLAIN);
    expect(Buffer.from((await codec.decode([encoded!]))[0]!.data!)).toEqual(Buffer.from(noise.data!));
  });

  it('stores undefined (a void result) as it is, since it holds nothing, and encrypts an empty object or array', async () => {
    const nothing = defaultPayloadConverter.toPayload(undefined)!;
    const [stored] = await codec.encode([nothing]);
    expect(stored).toEqual(nothing);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([stored!]))[0]!)).toBeUndefined();
    for (const empty of [{}, []]) {
      const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(empty)!]);
      expect(new TextDecoder().decode(encoded!.metadata!.encoding)).toBe(ENCODING_ENCRYPTED);
    }
  });

  it('leaves the workflow metadata query answer readable (the UI current details), and encrypts anything shaped otherwise', async () => {
    const definition = {
      type: 'losOperation',
      queryDefinitions: [{ name: 'state', description: 'The operation' }],
      signalDefinitions: [],
      updateDefinitions: [{ name: 'assess' }],
    };
    const answer = defaultPayloadConverter.toPayload({ definition, currentDetails: '**Phase:** assessment' })!;
    const [stored] = await codec.encode([answer]);
    expect(stored).toEqual(answer);
    const encrypted = async (value: unknown) =>
      new TextDecoder().decode((await codec.encode([defaultPayloadConverter.toPayload(value)!]))[0]!.metadata!.encoding);
    for (const other of [
      { definition, currentDetails: '**Phase:** assessment', tip: { name: 'Norrsken AB' } },
      { definition: { ...definition, tip: 'Norrsken AB' } },
      { definition: { ...definition, queryDefinitions: [{ name: 'state', value: 'Norrsken AB' }] } },
      { definition, currentDetails: { name: 'Norrsken AB' } },
      { tip: { name: 'Norrsken AB' }, definition },
    ])
      expect(await encrypted(other), JSON.stringify(other)).toBe(ENCODING_ENCRYPTED);
  });

  it('refuses a format it does not know, naming it', async () => {
    const body = protobufs.temporal.api.common.v1.Payload.encode(fanOut(5)).finish();
    await expect(codec.decode([sealedBody(Buffer.concat([Uint8Array.of(7), body]))])).rejects.toThrow(
      'payload stored in format 7, which this codec cannot read',
    );
  });
});
