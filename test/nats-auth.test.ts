import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AckPolicy, connect, type NatsConnection, type Status } from 'nats';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNotifyActivities, PLAINTEXT_ONLY } from '../activities/index.js';
import { generateMasterKey, openKeyStore, readMasterKeyring } from '../workers/keys.js';
import { connectAgency, type AgencyClient } from '../agencies/index.js';
import { loadCatalogueFile } from '../coordinator/index.js';
import { SUBJECTS, type AgencyId, type OutboundDataOf } from '../domain/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from '../scripts/dev-stack.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { DEFAULT_ENGINE_USER, ENGINE_PASSWORD_ENV, agencyPasswordEnv, loadNatsPasswords, natsAuthConfig } from '../workers/natsAuth.js';
import { ORIGINAL_SUBJECT_HEADER, ensureTopology, startBridge } from '../workers/index.js';
import { createLogger } from '../workers/logger.js';
import { misconfigured, untilReady } from '../workers/startup.js';
import { eventually, readStream } from './engine.js';

/**
 * Need to know, enforced by nats-server: the config written by scripts/nats-config.ts gives each agency a user
 * that reads only its own consumer and answers only as itself. Every refusal here comes from the real server.
 */

const AGENCIES = loadCatalogueFile().agencies.map((a) => a.id);
const ENGINE_USER = DEFAULT_ENGINE_USER;
// Random per run, with every punctuation character the renderer accepts, to prove the server reads them literally.
const password = () => `${randomBytes(18).toString('base64url')}.~+/=:@%!*,^&()[]{}<>?|-`;
const passwordsEnv: Record<string, string> = { [ENGINE_PASSWORD_ENV]: password() };
for (const agency of AGENCIES) passwordsEnv[agencyPasswordEnv(agency)] = password();
const passwords = loadNatsPasswords({ agencies: AGENCIES, env: passwordsEnv });

const encoder = new TextEncoder();
const VIOLATION = { code: 'PERMISSIONS_VIOLATION' };

let scratch: string;
let configPath: string;
let fullConfigPath: string;
let nats: NatsServer;
let engine: NatsConnection;
const opened: { close(): Promise<void> }[] = [];

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
  return createNotifyActivities(engine.jetstream(), PLAINTEXT_ONLY).notifyAgency({
    operationId,
    municipality: 'Umeå',
    agency,
    event: 'mandate_requested',
    eventId: `${operationId}.${requestId}.mandate_requested`,
    time: new Date().toISOString(),
    data: mandateRequest(operationId, requestId),
  });
}

/** A bare connection as an agency user, recording what the server reports on it. */
async function connectAs(agency: AgencyId): Promise<{ nc: NatsConnection; statuses: Status[] }> {
  const nc = await connect({ servers: nats.url, user: agency, pass: passwords.agencies[agency]!, inboxPrefix: `_INBOX_${agency}` });
  opened.push(nc);
  const statuses: Status[] = [];
  void (async () => {
    for await (const status of nc.status()) statuses.push(status);
  })();
  return { nc, statuses };
}

async function agencyClient(agency: AgencyId): Promise<AgencyClient> {
  const client = await connectAgency({ agency, servers: nats.url, credentials: { user: agency, pass: passwords.agencies[agency]! } });
  opened.push(client);
  return client;
}

const violationReported = (statuses: Status[], operation: 'publish' | 'subscription', subject: string) =>
  statuses.some((s) => s.type === 'error' && s.data === 'PERMISSIONS_VIOLATION' && s.permissionContext?.operation === operation && s.permissionContext.subject === subject);

function writeNatsConfig(...args: string[]) {
  execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts', 'nats-config.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...passwordsEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

beforeAll(async () => {
  scratch = mkdtempSync(join(inject('scratchDir'), 'nats-auth-'));
  configPath = join(scratch, 'auth.conf');
  fullConfigPath = join(scratch, 'nats.conf');
  // The CLI as an operator runs it, passwords from the environment only.
  writeNatsConfig(configPath, '--auth-only');
  writeNatsConfig(fullConfigPath, '--store-dir', join(scratch, 'jetstream-full'), '--listen', '127.0.0.1:14222');
  nats = await startNatsServer({
    storeDir: join(scratch, 'jetstream'),
    logFile: join(scratch, 'nats.log'),
    args: ['-c', configPath],
    credentials: { user: ENGINE_USER, pass: passwords.engine },
  });
  engine = await connect({ servers: nats.url, user: ENGINE_USER, pass: passwords.engine, name: 'los-engine-test-nats-auth' });
  await ensureTopology(await engine.jetstreamManager(), { agencies: AGENCIES, ackWaitMs: 5_000 });
  await notify('polisen', 'los-umea-auth-1', 'mandate-1-polisen');
  await notify('skatteverket', 'los-umea-auth-1', 'mandate-1-skatteverket');
});

afterAll(async () => {
  for (const connection of opened) await connection.close().catch(() => undefined);
  await engine?.drain();
  await nats?.stop();
});

describe('NATS users rendered from the catalogue', () => {
  it('writes a complete config that nats-server accepts, readable by its owner only, with a user for the engine and each agency', () => {
    expect(statSync(fullConfigPath).mode & 0o777).toBe(0o600);
    const text = readFileSync(fullConfigPath, 'utf8');
    expect(text).toContain(`store_dir: "${join(scratch, 'jetstream-full')}"`);
    const users = [...text.matchAll(/^\s*user: "([^"]+)"$/gm)].map((m) => m[1]);
    expect(users).toEqual([ENGINE_USER, ...AGENCIES]);
    // -t: nats-server parses the whole file, users and permissions included, and exits non-zero on any error.
    const check = spawnSync(findNatsServer(), ['-t', '-c', fullConfigPath], { encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr.trim() }).toEqual({ status: 0, stderr: `nats-server: configuration file ${fullConfigPath} is valid` });
  });

  it('names the environment variable that is missing', () => {
    const env = { ...passwordsEnv };
    delete env.LOS_NATS_PASSWORD_KRONOFOGDEN;
    expect(() => loadNatsPasswords({ agencies: AGENCIES, env })).toThrow('NATS password missing: set LOS_NATS_PASSWORD_KRONOFOGDEN (the password for agency kronofogden)');
  });

  it('refuses an agency id that would widen a subject permission, and a password the config cannot hold', () => {
    const engineUser = { user: ENGINE_USER, password: password() };
    expect(() => natsAuthConfig({ agencies: ['skatte*'], engine: engineUser, agencyPasswords: { 'skatte*': password() } })).toThrow(
      'agency id "skatte*" cannot be a NATS subject token',
    );
    expect(() => natsAuthConfig({ agencies: ['polisen'], engine: engineUser, agencyPasswords: { polisen: 'pa$$word"with quotes' } })).toThrow(
      'NATS password for agency "polisen" contains a character',
    );
    expect(() => natsAuthConfig({ agencies: ['polisen'], engine: engineUser, agencyPasswords: {} })).toThrow('no NATS password given for agency "polisen"');
  });
});

describe('need to know, enforced by nats-server', () => {
  it('delivers an agency its own events through its own consumer and takes its answer', async () => {
    const polisen = await agencyClient('polisen');
    const received: string[] = [];
    polisen.on('mandate_requested', async (event, agency) => {
      received.push(event.operationId);
      await agency.answer('mandate_accepted', event.operationId, { correlation: event.data.correlation, tools: ['criminal_investigation'], contactFunction: 'underrättelseenheten' });
    });
    await polisen.start();

    await eventually(async () => received, (r) => r.includes('los-umea-auth-1'));
    const jsm = await engine.jetstreamManager();
    const answer = await eventually(
      () => jsm.streams.getMessage(SUBJECTS.streamIn, { last_by_subj: SUBJECTS.fromAgency('polisen', 'mandate_accepted') }).catch(() => undefined),
      (m) => m !== undefined,
    );
    expect(answer!.json<{ data: { correlation: { requestId: string } } }>().data.correlation.requestId).toBe('mandate-1-polisen');
    // The acknowledgement reached the server too, so the event is not offered again.
    await eventually(() => jsm.consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen')), (c) => c.num_ack_pending === 0 && c.num_pending === 0);
  });

  it("refuses an agency another agency's consumer, which hands out nothing", async () => {
    const { nc, statuses } = await connectAs('polisen');
    const info = `$JS.API.CONSUMER.INFO.LOS_OUT.agency_skatteverket`;
    await expect(nc.jetstream().consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'))).rejects.toMatchObject({
      ...VIOLATION,
      message: expect.stringContaining(`Permissions Violation for Publish to "${info}"`),
    });
    const next = '$JS.API.CONSUMER.MSG.NEXT.LOS_OUT.agency_skatteverket';
    await expect(nc.request(next, encoder.encode(JSON.stringify({ batch: 1, expires: 1_000_000_000 })), { timeout: 2_000 })).rejects.toMatchObject(VIOLATION);
    await eventually(async () => statuses, (s) => violationReported(s, 'publish', info) && violationReported(s, 'publish', next));

    const skatteverket = await (await engine.jetstreamManager()).consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'));
    expect(skatteverket.delivered.consumer_seq).toBe(0);
    expect(skatteverket.num_pending).toBe(1);
  });

  it("refuses an agency a subscription to another agency's subject", async () => {
    const { nc, statuses } = await connectAs('polisen');
    const subject = 'los.v1.to.skatteverket.>';
    const sub = nc.subscribe(subject);
    const outcome = (async () => {
      for await (const msg of sub) return `received ${msg.subject}`;
      return 'closed without error';
    })();
    const refused = expect(outcome).rejects.toMatchObject({ ...VIOLATION, message: expect.stringContaining(`Permissions Violation for Subscription to "${subject}"`) });
    await notify('skatteverket', 'los-umea-auth-2', 'mandate-1-skatteverket');
    await refused;
    expect(violationReported(statuses, 'subscription', subject)).toBe(true);
  });

  it('refuses an agency answering as another, and LOS_IN does not grow', async () => {
    const { nc, statuses } = await connectAs('polisen');
    const jsm = await engine.jetstreamManager();
    const before = await jsm.streams.info(SUBJECTS.streamIn);
    const forged = SUBJECTS.fromAgency('skatteverket', 'mandate_accepted');
    await expect(nc.jetstream().publish(forged, encoder.encode('{}'))).rejects.toMatchObject({ ...VIOLATION, message: expect.stringContaining(`Permissions Violation for Publish to "${forged}"`) });
    nc.publish(forged, encoder.encode('{}'));
    // A round trip after both attempts: the server has handled them by the time it answers.
    await nc.flush();
    expect(violationReported(statuses, 'publish', forged)).toBe(true);
    const after = await jsm.streams.info(SUBJECTS.streamIn, { subjects_filter: SUBJECTS.allIn });
    expect(after.state.messages).toBe(before.state.messages);
    expect(Object.keys(after.state.subjects ?? {})).not.toContain(forged);
  });

  it('refuses the engine answering as an agency: answers come from agency users only', async () => {
    await expect(engine.jetstream().publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), encoder.encode('{}'))).rejects.toMatchObject(VIOLATION);
  });

  it('refuses an agency creating or deleting consumers and streams', async () => {
    const { nc } = await connectAs('polisen');
    // Even the JetStream account check is outside an agency's rights.
    await expect(nc.jetstreamManager()).rejects.toMatchObject(VIOLATION);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    await expect(jsm.consumers.add(SUBJECTS.streamOut, { durable_name: 'copy_of_skatteverket', ack_policy: AckPolicy.Explicit, filter_subject: 'los.v1.to.skatteverket.>' })).rejects.toMatchObject(
      VIOLATION,
    );
    await expect(jsm.consumers.add(SUBJECTS.streamOut, { ack_policy: AckPolicy.None, filter_subject: 'los.v1.to.skatteverket.>' })).rejects.toMatchObject(VIOLATION);
    await expect(jsm.consumers.delete(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('skatteverket'))).rejects.toMatchObject(VIOLATION);
    await expect(jsm.consumers.delete(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen'))).rejects.toMatchObject(VIOLATION);
    await expect(jsm.streams.delete(SUBJECTS.streamOut)).rejects.toMatchObject(VIOLATION);

    const consumers: string[] = [];
    for await (const c of (await engine.jetstreamManager()).consumers.list(SUBJECTS.streamOut)) consumers.push(c.name);
    expect(consumers.sort()).toEqual([...AGENCIES.map((a) => SUBJECTS.agencyConsumer(a)), SUBJECTS.steeringConsumer, SUBJECTS.coordinatorConsumer].sort());
  });

  it('stops an engine process given an agency user at once, instead of waiting for rights it will never get', async () => {
    const { nc } = await connectAs('polisen');
    const warnings: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void warnings.push(line) } });
    const setup = untilReady('JetStream topology', async () => ensureTopology(await nc.jetstreamManager(), { agencies: AGENCIES }), logger, {
      permanent: misconfigured.nats,
    });
    const outcome = await Promise.race([setup.then(() => 'set up', (err: unknown) => err), new Promise((resolveLater) => setTimeout(() => resolveLater('still waiting'), 5_000))]);
    expect(outcome).toMatchObject(VIOLATION);
    expect(warnings).toEqual([]);
  });

  it('lets the bridge, as the engine user, read an answer and dead-letter it when its operation is unknown', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const deadLetters: string[] = [];
    // The key store, as the engine user: the bridge seals and signs what it forwards.
    const store = await openKeyStore({ servers: nats.url, user: ENGINE_USER, pass: passwords.engine, keyring: readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }) });
    const bridge = await startBridge({ nc: engine, client: new Client({ connection }), keys: store.keys, retryDelayMs: 500, onDeadLetter: (_reason, subject) => deadLetters.push(subject) });
    try {
      const arbetsmiljoverket = await agencyClient('arbetsmiljoverket');
      await arbetsmiljoverket.answer('mandate_declined', 'los-umea-nowhere', { correlation: { operationId: 'los-umea-nowhere', requestId: 'mandate-1-arbetsmiljoverket' }, reason: 'No workplace on site.' });
      const subject = SUBJECTS.fromAgency('arbetsmiljoverket', 'mandate_declined');
      await eventually(async () => deadLetters, (d) => d.includes(subject));
      // The bridge works on several messages at once, so earlier answers may be dead-lettered around this one.
      const letters = await readStream(engine, SUBJECTS.streamDeadLetter);
      expect(letters.map((m) => m.header(ORIGINAL_SUBJECT_HEADER))).toContain(subject);
    } finally {
      await bridge.stop();
      await store.close();
      await connection.close();
    }
  });
});
