import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { PermissionViolationError, connect, nkeyAuthenticator, type NatsConnection, type Status } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNotifyActivities, PLAINTEXT_ONLY } from '../activities/index.js';
import { KeyStore, generateMasterKey, readMasterKeyring } from '../vault/index.js';
import { connectAgency, type AgencyClient } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { SUBJECTS, parseInboundSubject, type AgencyId, type OutboundDataOf } from '../domain/index.js';
import { freePort, startNatsServer, type NatsServer } from '../scripts/dev-stack.js';
import { natsServerBinary } from '../scripts/nats-server-binary.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import {
  DEFAULT_RETENTION,
  MAX_MSG_SIZE,
  DEFAULT_ACCOUNT_LIMITS,
  DEFAULT_INBOUND_QUOTA,
  ENGINE_IDENTITIES,
  natsAccountsConfig,
  readSeedFile,
  seedFileName,
  type EngineIdentity,
  ensureTopology,
  isPermissionViolation,
} from '../messaging/index.js';
import { ORIGINAL_SUBJECT_HEADER, startBridge } from '../workers/index.js';
import { createLogger } from '../workers/logger.js';
import { misconfigured, untilReady } from '../workers/startup.js';
import { eventually, readStream } from './engine.js';

/**
 * Need to know, enforced by nats-server with the config `npm run nats-config` writes: one account per agency and
 * the engine's, NKEY identities, TLS. Every refusal here comes from the real server.
 */

const AGENCIES = loadCatalogueFile().agencies.map((a) => a.id);
const encoder = new TextEncoder();

let scratch: string;
let keysDir: string;
let nats: NatsServer;
let worker: NatsConnection;
const opened: { close(): Promise<void> }[] = [];

function cli(...args: string[]) {
  execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts', 'nats-config.ts'), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
const seed = (identity: EngineIdentity | `agency:${string}`) => readSeedFile(join(keysDir, seedFileName(identity)));
const auth = (identity: EngineIdentity | `agency:${string}`) => ({ authenticator: nkeyAuthenticator(encoder.encode(seed(identity))) });

function mandateRequest(operationId: string, requestId: string): OutboundDataOf<'mandate_requested'> {
  return {
    correlation: { operationId, requestId },
    entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå' },
    categories: ['money_laundering'],
    municipality: 'Umeå',
    tools: ['criminal_investigation'],
    answerBy: '2026-11-20T16:00:00Z',
  };
}

async function notify(agency: AgencyId, operationId: string, requestId: string) {
  return createNotifyActivities(jetstream(worker), PLAINTEXT_ONLY).deliver({
    operationId,
    municipality: 'Umeå',
    time: new Date().toISOString(),
    events: [
      { to: agency, event: 'mandate_requested', eventId: `${operationId}.${requestId}.mandate_requested`, data: mandateRequest(operationId, requestId) },
    ],
  });
}

/** A bare connection as an identity, recording what the server reports on it. */
async function connectAs(identity: EngineIdentity | `agency:${string}`): Promise<{ nc: NatsConnection; statuses: Status[] }> {
  const reader = identity.startsWith('agency:')
    ? identity.slice('agency:'.length)
    : identity === 'steering_group' || identity === 'coordinator'
      ? identity
      : undefined;
  const nc = await connect({ servers: nats.url, ...auth(identity), ...(reader ? { inboxPrefix: SUBJECTS.inboxPrefix(reader) } : {}) });
  opened.push(nc);
  const statuses: Status[] = [];
  void (async () => {
    for await (const status of nc.status()) statuses.push(status);
  })();
  return { nc, statuses };
}

async function agencyClient(agency: AgencyId): Promise<AgencyClient> {
  const client = await connectAgency({ agency, servers: nats.url, credentials: { nkeySeed: seed(`agency:${agency}`) } });
  opened.push(client);
  return client;
}

const violationReported = (statuses: Status[], operation: 'publish' | 'subscription', subject: string) =>
  statuses.some((s) => s.type === 'error' && s.error instanceof PermissionViolationError && s.error.operation === operation && s.error.subject === subject);

/** Every subject some stream stores for this agency, with its count: what another agency could have polluted. */
async function storedFor(agency: AgencyId) {
  const jsm = await jetstreamManager(worker);
  const count = async (stream: string, filter: string) =>
    Object.values((await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {}).reduce((a, b) => a + b, 0);
  return {
    out: await count(SUBJECTS.streamOut, `los.v1.to.${agency}.>`),
    intake: await count(SUBJECTS.agencyIntake(agency), `los.v1.from.${agency}.>`),
    in: await count(SUBJECTS.streamIn, `los.v1.from.${agency}.>`),
    deadLetters: (await jsm.streams.info(SUBJECTS.streamDeadLetter)).state.messages,
  };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(inject('scratchDir'), 'nats-auth-'));
  keysDir = join(scratch, 'keys');
  // The CLI as an operator runs it: keys (seeds stay in keysDir), development TLS, then the config.
  cli('keys', keysDir);
  cli('dev-tls', join(scratch, 'tls'), '--host', 'localhost', '127.0.0.1');
  const port = await freePort();
  cli(
    'config',
    join(scratch, 'nats.conf'),
    '--public-keys',
    join(keysDir, 'public-keys.json'),
    '--listen',
    `127.0.0.1:${port}`,
    '--store-dir',
    join(scratch, 'jetstream'),
    '--no-tls',
  );
  nats = await startNatsServer({
    storeDir: join(scratch, 'jetstream'),
    logFile: join(scratch, 'nats.log'),
    completeConfig: { path: join(scratch, 'nats.conf'), url: `nats://127.0.0.1:${port}` },
    nkeySeed: seed('worker'),
  });
  worker = await connect({ servers: nats.url, ...auth('worker'), name: 'los-worker-test-nats-auth' });
  await ensureTopology(await jetstreamManager(worker), { agencies: AGENCIES, ackWaitMs: 5_000 });
  await notify('polisen', 'los-umea-auth-1', 'mandate-1-polisen');
  await notify('skatteverket', 'los-umea-auth-1', 'mandate-1-skatteverket');
});

afterAll(async () => {
  for (const connection of opened) await connection.close().catch(() => undefined);
  await worker?.drain();
  await nats?.stop();
});

describe('the NATS config rendered from the catalogue', () => {
  it('has one account per agency and one for the engine, NKEY users only, and nothing secret in it', () => {
    const text = readFileSync(join(scratch, 'nats.conf'), 'utf8');
    const accounts = [...text.matchAll(/^ {2}(\w+): \{$/gm)].map((m) => m[1]);
    expect(accounts).toEqual(['LOS_ENGINE', ...AGENCIES.map((a) => `AGENCY_${a.toUpperCase()}`)]);
    expect([...text.matchAll(/nkey: (U[A-Z2-7]{55})$/gm)]).toHaveLength(ENGINE_IDENTITIES.length + AGENCIES.length);
    expect(text).not.toMatch(/password|\bS[UA][A-Z2-7]{50,}/);
    // The seeds are the secrets: each in its own file, readable by its owner only.
    for (const file of readdirSync(keysDir).filter((f) => f.endsWith('.nk'))) expect(statSync(join(keysDir, file)).mode & 0o777, file).toBe(0o600);
    const check = spawnSync(natsServerBinary(), ['-t', '-c', join(scratch, 'nats.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });

  it("bounds every agency account's connections, subscriptions and payload", () => {
    const text = readFileSync(join(scratch, 'nats.conf'), 'utf8');
    const { agencyMaxPayload, agencyMaxConnections, agencyMaxSubscriptions } = DEFAULT_ACCOUNT_LIMITS;
    const limits = `limits: { max_payload: ${agencyMaxPayload}, max_connections: ${agencyMaxConnections}, max_subscriptions: ${agencyMaxSubscriptions} }`;
    expect(text.split(limits)).toHaveLength(AGENCIES.length + 1);
  });

  it('refuses an agency id that would widen a subject, a key that is not a user key, and one key for two identities', () => {
    const keys = JSON.parse(readFileSync(join(keysDir, 'public-keys.json'), 'utf8'));
    expect(() => natsAccountsConfig({ agencies: ['skatte*'], publicKeys: { ...keys, agencies: { 'skatte*': keys.agencies.polisen } } })).toThrow(
      'agency id "skatte*" cannot be a NATS subject token',
    );
    expect(() => natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: 'AB' + keys.agencies.polisen.slice(2) } } })).toThrow(
      'is not a user public key',
    );
    expect(() => natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: keys.engine.worker } } })).toThrow('is used twice');
  });

  it('renders two keys for an agency during a rotation, none once revoked, and refuses a third key or a revoked one', () => {
    const keys = JSON.parse(readFileSync(join(keysDir, 'public-keys.json'), 'utf8'));
    const [old, next] = [keys.agencies.polisen[0], keys.agencies.tullverket[0]];
    const users = (text: string) => /AGENCY_POLISEN: \{\n.*\n {4}users: \[\n([^]*?)\n {4}\]/.exec(text)![1]!;
    const rotating = natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: [old, next] } } });
    expect([...users(rotating).matchAll(/nkey: (U\w+)/g)].map((m) => m[1])).toEqual([old, next]);
    const revoked = natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: [] } }, revokedKeys: [old] });
    expect(users(revoked)).not.toContain('nkey');
    // Its account stays: the engine still exports its consumer to it, so its unread events wait.
    expect(revoked).toContain('accounts: [AGENCY_POLISEN]');
    expect(() => natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: [old] } }, revokedKeys: [old] })).toThrow(
      /has been revoked and cannot log in again/,
    );
    expect(() =>
      natsAccountsConfig({ agencies: ['polisen'], publicKeys: { ...keys, agencies: { polisen: [old, next, keys.agencies.kronofogden[0]] } } }),
    ).toThrow(/at most two/);
  });

  it('requires TLS off loopback, and a TLS server takes a client that trusts its development CA', async () => {
    expect(() => cli('config', join(scratch, 'open.conf'), '--public-keys', join(keysDir, 'public-keys.json'), '--listen', '0.0.0.0:4222', '--no-tls')).toThrow(
      /only for a loopback listener/,
    );
    const port = await freePort();
    const tls = join(scratch, 'tls');
    cli(
      'config',
      join(scratch, 'tls.conf'),
      '--public-keys',
      join(keysDir, 'public-keys.json'),
      '--listen',
      `127.0.0.1:${port}`,
      '--store-dir',
      join(scratch, 'jetstream-tls'),
      '--tls-cert',
      join(tls, 'server.pem'),
      '--tls-key',
      join(tls, 'server-key.pem'),
      '--tls-ca',
      join(tls, 'ca.pem'),
    );
    const secure = await startNatsServer({
      storeDir: join(scratch, 'jetstream-tls'),
      completeConfig: { path: join(scratch, 'tls.conf'), url: `tls://127.0.0.1:${port}`, caFile: join(tls, 'ca.pem') },
      nkeySeed: seed('worker'),
    });
    try {
      const nc = await connect({
        servers: `tls://127.0.0.1:${port}`,
        tls: { caFile: join(tls, 'ca.pem') },
        ...auth('agency:polisen'),
        inboxPrefix: SUBJECTS.inboxPrefix('polisen'),
      });
      expect(nc.info?.tls_required).toBe(true);
      await nc.close();
      // A client that does not trust the CA is turned away.
      await expect(connect({ servers: `tls://127.0.0.1:${port}`, ...auth('agency:polisen'), reconnect: false, timeout: 2_000 })).rejects.toThrow();
    } finally {
      await secure.stop();
    }
  });
});

describe('retention and limits, read back from the server', () => {
  it('keeps events, answers and dead letters 30 days by default, bounded in bytes and message size', async () => {
    const jsm = await jetstreamManager(worker);
    const config = async (stream: string) => (await jsm.streams.info(stream)).config;
    const days = (nanos: number) => nanos / 1e9 / 86_400;
    for (const [stream, maxMsgSize] of [
      [SUBJECTS.streamOut, MAX_MSG_SIZE.out],
      [SUBJECTS.streamIn, MAX_MSG_SIZE.in],
      [SUBJECTS.streamDeadLetter, MAX_MSG_SIZE.deadLetter],
    ] as const) {
      expect(await config(stream), stream).toMatchObject({ max_bytes: DEFAULT_RETENTION.maxBytesPerStream, max_msg_size: maxMsgSize });
      expect(days(Number((await config(stream)).max_age)), stream).toBe(30);
    }
    expect((await config(SUBJECTS.streamIn)).max_msg_size).toBe(64 * 1024);
    // Each agency's intake holds at most its quota on each answer subject at the largest answer: 384 MiB.
    for (const agency of AGENCIES) {
      const intake = await config(SUBJECTS.agencyIntake(agency));
      expect(intake, agency).toMatchObject({ max_bytes: 6 * DEFAULT_INBOUND_QUOTA * 64 * 1024, max_msg_size: 64 * 1024 });
      expect(days(Number(intake.max_age)), agency).toBe(30);
    }
  });

  it('takes a shorter retention when configured, and gives the engine account a storage budget', async () => {
    await ensureTopology(await jetstreamManager(worker), { agencies: AGENCIES, ackWaitMs: 5_000, retention: { outMaxAgeMs: 7 * 86_400_000 } });
    const jsm = await jetstreamManager(worker);
    expect(Number((await jsm.streams.info(SUBJECTS.streamOut)).config.max_age) / 1e9 / 86_400).toBe(7);
    expect((await jsm.getAccountInfo()).limits.max_storage).toBe(DEFAULT_ACCOUNT_LIMITS.engineMaxFileBytes);
    await ensureTopology(jsm, { agencies: AGENCIES, ackWaitMs: 5_000 });
  });

  it('refuses an oversized answer before it is stored', async () => {
    const { nc } = await connectAs('agency:tullverket');
    const before = await storedFor('tullverket');
    await expect(jetstream(nc).publish(SUBJECTS.fromAgency('tullverket', 'mandate_declined'), new Uint8Array(70 * 1024))).rejects.toThrow();
    expect(await storedFor('tullverket')).toEqual(before);
  });
});

describe('the inbound quota, enforced by nats-server', () => {
  it('refuses the answers of an agency beyond its quota to that agency alone, telling it in the publish acknowledgement', async () => {
    const jsm = await jetstreamManager(worker);
    for (const agency of AGENCIES) {
      const { config } = await jsm.streams.info(SUBJECTS.agencyIntake(agency));
      expect(config, agency).toMatchObject({
        subjects: [SUBJECTS.fromAgency(agency, '*')],
        max_msgs_per_subject: DEFAULT_INBOUND_QUOTA,
        discard: 'new',
        discard_new_per_subject: true,
      });
    }
    const flooderSubject = SUBJECTS.fromAgency('lansstyrelsen', 'information_provided');
    const otherSubject = SUBJECTS.fromAgency('migrationsverket', 'information_provided');
    const intakeOf = (subject: string) => SUBJECTS.agencyIntake(parseInboundSubject(subject)!.agency);
    const stored = async (subject: string) => (await jsm.streams.info(intakeOf(subject), { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
    const quota = Math.max(await stored(flooderSubject), await stored(otherSubject)) + 5;
    await ensureTopology(jsm, { agencies: AGENCIES, ackWaitMs: 5_000, inboundQuota: quota });
    try {
      const flooder = jetstream((await connectAs('agency:lansstyrelsen')).nc);
      const room = quota - (await stored(flooderSubject));
      const outcomes: (number | Error)[] = [];
      for (let i = 0; i < room + 3; i++) {
        outcomes.push(
          await flooder.publish(flooderSubject, encoder.encode(`{"n":${i}}`), { msgID: `quota-flood-${i}` }).then(
            (ack) => ack.seq,
            (err: Error) => err,
          ),
        );
      }
      expect(outcomes.slice(0, room).filter((o) => o instanceof Error)).toEqual([]);
      const refused = outcomes.slice(room);
      expect(refused).toHaveLength(3);
      for (const err of refused) expect(String(err)).toMatch(/maximum messages per subject exceeded/i);
      expect(await stored(flooderSubject)).toBe(quota);
      // Another agency, on the same kind of answer, is not refused.
      const other = jetstream((await connectAs('agency:migrationsverket')).nc);
      const otherBefore = await stored(otherSubject);
      for (let i = 0; i < 3; i++) await other.publish(otherSubject, encoder.encode(`{"n":${i}}`), { msgID: `quota-other-${i}` });
      expect(await stored(otherSubject)).toBe(otherBefore + 3);
    } finally {
      await ensureTopology(jsm, { agencies: AGENCIES, ackWaitMs: 5_000 });
    }
  });
});

describe('need to know, enforced by nats-server', () => {
  it('delivers an agency its own events through its own consumer and takes its answer, across accounts', async () => {
    const polisen = await agencyClient('polisen');
    const received: string[] = [];
    polisen.on('mandate_requested', async (event, agency) => {
      received.push(event.operationId);
      await agency.answer('mandate_accepted', event.operationId, {
        correlation: event.data.correlation,
        tools: ['criminal_investigation'],
        contactFunction: 'underrättelseenheten',
      });
    });
    await polisen.start();

    await eventually(
      async () => received,
      (r) => r.includes('los-umea-auth-1'),
    );
    const jsm = await jetstreamManager(worker);
    const answer = await eventually(
      () => jsm.streams.getMessage(SUBJECTS.streamIn, { last_by_subj: SUBJECTS.fromAgency('polisen', 'mandate_accepted') }).catch(() => null),
      (m) => m !== null,
    );
    expect(answer!.json<{ data: { correlation: { requestId: string } } }>().data.correlation.requestId).toBe('mandate-1-polisen');
    // The acknowledgement crossed the accounts too, so the event is not offered again.
    await eventually(
      () => jsm.consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen')),
      (c) => c.num_ack_pending === 0 && c.num_pending === 0,
    );
  });

  it("refuses an agency another agency's consumer, which hands out nothing", async () => {
    const { nc, statuses } = await connectAs('agency:polisen');
    const info = 'LOS.API.CONSUMER.INFO.LOS_OUT.agency_skatteverket';
    await expect(
      jetstream(nc, { apiPrefix: SUBJECTS.agencyApiPrefix }).consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket')),
    ).rejects.toSatisfy(isPermissionViolation);
    await expect(jetstream(nc).consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'))).rejects.toSatisfy(isPermissionViolation);
    const next = 'LOS.API.CONSUMER.MSG.NEXT.LOS_OUT.agency_skatteverket';
    await expect(nc.request(next, encoder.encode(JSON.stringify({ batch: 1, expires: 1_000_000_000 })), { timeout: 2_000 })).rejects.toSatisfy(
      isPermissionViolation,
    );
    await eventually(
      async () => statuses,
      (s) => violationReported(s, 'publish', info) && violationReported(s, 'publish', next),
    );
    const skatteverket = await (await jetstreamManager(worker)).consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'));
    expect(skatteverket.delivered.consumer_seq).toBe(0);
  });

  it("refuses an agency answering as another, and a subscription to another agency's subject", async () => {
    const { nc, statuses } = await connectAs('agency:polisen');
    const before = await storedFor('skatteverket');
    const forged = SUBJECTS.fromAgency('skatteverket', 'mandate_accepted');
    await expect(jetstream(nc).publish(forged, encoder.encode('{}'))).rejects.toSatisfy(isPermissionViolation);
    nc.subscribe('los.v1.to.skatteverket.>');
    await nc.flush();
    await eventually(
      async () => statuses,
      (s) => violationReported(s, 'publish', forged) && violationReported(s, 'subscription', 'los.v1.to.skatteverket.>'),
    );
    expect(await storedFor('skatteverket')).toEqual(before);
  });

  it('refuses an agency publishing on a subject of its own that is no answer: each answer subject has its quota, no others exist', async () => {
    const { nc } = await connectAs('agency:polisen');
    await expect(jetstream(nc).publish('los.v1.from.polisen.made_up', encoder.encode('{}'))).rejects.toSatisfy(isPermissionViolation);
  });

  it('refuses the worker answering as an agency: answers come from agency accounts only', async () => {
    await expect(jetstream(worker).publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), encoder.encode('{}'))).rejects.toSatisfy(isPermissionViolation);
  });

  it('refuses an agency creating or deleting consumers and streams', async () => {
    const { nc } = await connectAs('agency:polisen');
    await expect(jetstreamManager(nc)).rejects.toSatisfy(isPermissionViolation);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await expect(
      jsm.consumers.add(SUBJECTS.streamOut, {
        durable_name: 'copy_of_skatteverket',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'los.v1.to.skatteverket.>',
      }),
    ).rejects.toSatisfy(isPermissionViolation);
    await expect(jsm.consumers.delete(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'))).rejects.toSatisfy(isPermissionViolation);
    await expect(jsm.streams.delete(SUBJECTS.streamOut)).rejects.toSatisfy(isPermissionViolation);
  });

  describe('reflection: a reply subject names a subject in the agency’s own account, never in another', () => {
    const victim: AgencyId = 'kronofogden';
    const targets = [SUBJECTS.toAgency(victim, 'briefing'), SUBJECTS.fromAgency(victim, 'mandate_accepted'), SUBJECTS.inboundDeadLetter(victim)];

    it('a publish of its own answer with a foreign reply-to leaves nothing in any other stream', async () => {
      const { nc } = await connectAs('agency:polisen');
      const before = await storedFor(victim);
      for (const reply of targets) nc.publish(SUBJECTS.fromAgency('polisen', 'readiness_confirmed'), encoder.encode('{}'), { reply });
      await nc.flush();
      // The answers themselves arrived in LOS_IN (and, being invalid, will be dead-lettered as polisen's by the bridge, not here).
      await new Promise((r) => setTimeout(r, 300));
      expect(await storedFor(victim)).toEqual(before);
    });

    it('a consumer-info request and a pull request with a foreign reply-to leave nothing in any other stream', async () => {
      const { nc } = await connectAs('agency:polisen');
      const before = await storedFor(victim);
      await notify('polisen', 'los-umea-auth-reflect', 'mandate-1-polisen');
      for (const reply of targets) {
        nc.publish(`${SUBJECTS.agencyApiPrefix}.CONSUMER.INFO.LOS_OUT.${SUBJECTS.agencyConsumer('polisen')}`, encoder.encode(''), { reply });
        nc.publish(
          `${SUBJECTS.agencyApiPrefix}.CONSUMER.MSG.NEXT.LOS_OUT.${SUBJECTS.agencyConsumer('polisen')}`,
          encoder.encode(JSON.stringify({ batch: 1, no_wait: true })),
          { reply },
        );
      }
      await nc.flush();
      await new Promise((r) => setTimeout(r, 300));
      expect(await storedFor(victim)).toEqual(before);
    });
  });

  describe('the engine’s separate identities', () => {
    it('lets the operator read stream state and dead letters, but not the events', async () => {
      const { nc } = await connectAs('operator');
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(SUBJECTS.streamOut)).state.messages).toBeGreaterThan(0);
      expect((await jsm.consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen'))).name).toBe(SUBJECTS.agencyConsumer('polisen'));
      await expect(jsm.streams.getMessage(SUBJECTS.streamOut, { seq: 1 })).rejects.toSatisfy(isPermissionViolation);
      await expect(jsm.consumers.delete(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen'))).rejects.toSatisfy(isPermissionViolation);
      await expect(jetstream(nc).publish(SUBJECTS.toAgency('polisen', 'briefing'), encoder.encode('{}'))).rejects.toSatisfy(isPermissionViolation);
    });

    it("lets the steering group read its own consumer and nobody else's", async () => {
      const { nc } = await connectAs('steering_group');
      await expect(jetstream(nc).consumers.get(SUBJECTS.streamOut, SUBJECTS.steeringConsumer)).resolves.toBeDefined();
      await expect(jetstream(nc).consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen'))).rejects.toSatisfy(isPermissionViolation);
    });

    it('stops an engine process given an agency identity at once, instead of waiting for rights it will never get', async () => {
      const { nc } = await connectAs('agency:polisen');
      const warnings: string[] = [];
      const logger = createLogger({ destination: { write: (line: string) => void warnings.push(line) } });
      const setup = untilReady('JetStream topology', async () => ensureTopology(await jetstreamManager(nc), { agencies: AGENCIES }), logger, {
        permanent: misconfigured.nats,
      });
      const outcome = await Promise.race([
        setup.then(
          () => 'set up',
          (err: unknown) => err,
        ),
        new Promise((resolveLater) => setTimeout(() => resolveLater('still waiting'), 5_000)),
      ]);
      expect(outcome).toSatisfy(isPermissionViolation);
      expect(warnings).toEqual([]);
    });

    it('lets the bridge, as its own identity, read an answer, dead-letter it and tell the agency', async () => {
      const { nc: bridgeNc } = await connectAs('bridge');
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      const deadLetters: string[] = [];
      const store = await KeyStore.open({ nc: bridgeNc, keyring: readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }) });
      const bridge = await startBridge({
        nc: bridgeNc,
        client: new Client({ connection }),
        keys: store,
        retryDelayMs: 500,
        onDeadLetter: (_reason, subject) => deadLetters.push(subject),
      });
      try {
        const arbetsmiljoverket = await agencyClient('arbetsmiljoverket');
        await arbetsmiljoverket.answer('mandate_declined', 'los-umea-nowhere', {
          correlation: { operationId: 'los-umea-nowhere', requestId: 'mandate-1-arbetsmiljoverket' },
          reason: 'No workplace on site.',
        });
        const subject = SUBJECTS.fromAgency('arbetsmiljoverket', 'mandate_declined');
        await eventually(
          async () => deadLetters,
          (d) => d.includes(subject),
        );
        const letters = await readStream(worker, SUBJECTS.streamDeadLetter);
        expect(letters.map((m) => m.header(ORIGINAL_SUBJECT_HEADER))).toContain(subject);
        const told = await eventually(
          async () => (await readStream(worker, SUBJECTS.streamOut)).filter((m) => m.subject === SUBJECTS.toAgency('arbetsmiljoverket', 'answer_not_applied')),
          (t) => t.length > 0,
        );
        // The agency knows its answer by the sequence its publish acknowledgement gave: its intake's, not LOS_IN's.
        const jsm = await jetstreamManager(worker);
        const inIntake = await jsm.streams.getMessage(SUBJECTS.agencyIntake('arbetsmiljoverket'), { last_by_subj: subject });
        const inLosIn = await jsm.streams.getMessage(SUBJECTS.streamIn, { last_by_subj: subject });
        expect(inLosIn!.seq).not.toBe(inIntake!.seq);
        expect(JSON.parse(told[0]!.text).data).toMatchObject({
          reason: 'unknown_operation',
          answerId: 'arbetsmiljoverket.los-umea-nowhere.mandate-1-arbetsmiljoverket.mandate_declined',
          streamSequence: inIntake!.seq,
        });
      } finally {
        await bridge.stop();
        await connection.close();
      }
    });
  });
});
