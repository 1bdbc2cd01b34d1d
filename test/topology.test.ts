import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AGENCY_IDS, SUBJECTS } from '../domain/index.js';
import { ensureTopology } from '../messaging/index.js';
import { startNatsServer, type NatsServer } from '../scripts/dev-stack.js';
import { eventually } from './engine.js';

/** A store made before the agencies' intakes (a demo's `.data/` kept across an update) takes the new topology. */
let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ storeDir: join(mkdtempSync(join(inject('scratchDir'), 'topology-')), 'nats') });
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('the JetStream topology over an older store', () => {
  it('takes the answer subjects from a LOS_IN that held them itself, keeps what it stored, and sources the intakes', async () => {
    const jsm = await jetstreamManager(nc);
    // LOS_IN as it was made before the intakes: it captured every agency's answer subjects.
    await jsm.streams.add({ name: SUBJECTS.streamIn, subjects: [SUBJECTS.allIn] });
    const earlier = await jetstream(nc).publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), '{"before":true}');
    expect(earlier.stream).toBe(SUBJECTS.streamIn);

    await ensureTopology(jsm, { agencies: AGENCY_IDS });

    const { config } = await jsm.streams.info(SUBJECTS.streamIn);
    expect(config.subjects ?? []).toEqual([]);
    expect((config.sources ?? []).map((source) => source.name).sort()).toEqual(AGENCY_IDS.map((agency) => SUBJECTS.agencyIntake(agency)).sort());
    // What the bridge had not read yet is still there, at its place.
    expect((await jsm.streams.getMessage(SUBJECTS.streamIn, { seq: earlier.seq }))?.json()).toEqual({ before: true });
    // A new answer lands in its agency's intake, and LOS_IN takes it from there.
    const later = await jetstream(nc).publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), '{"after":true}');
    expect(later.stream).toBe(SUBJECTS.agencyIntake('polisen'));
    const copy = await eventually(
      () => jsm.streams.getMessage(SUBJECTS.streamIn, { last_by_subj: SUBJECTS.fromAgency('polisen', 'mandate_declined') }),
      (m) => m?.seq !== earlier.seq,
    );
    expect(copy?.json()).toEqual({ after: true });
  });
});
