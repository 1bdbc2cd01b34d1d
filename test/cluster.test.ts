import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { dirname, join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AGENCY_IDS, SUBJECTS } from '../domain/index.js';
import { acceptedLogin, refusedLogin } from '../scripts/dev-stack.js';
import { makeDevTls, type DevTls } from '../scripts/dev-tls.js';
import { startNatsCluster, type NatsCluster } from '../scripts/nats-cluster.js';
import { freeTemporalPorts, postgresFromEnvironment, temporalDatabases, temporalServerConfig, STANDARD_TEMPORAL_PORTS } from '../scripts/temporal-server.js';
import {
  agencyKeyList,
  eraseAcknowledged,
  ensureTopology,
  freshSeeds,
  natsServerConfig,
  publicKeys,
  publishCloudEvent,
  waitOutElection,
} from '../messaging/index.js';
import { KEY_BUCKET, KeyStore, generateMasterKey, readMasterKeyring } from '../vault/index.js';
import { parse } from 'yaml';
import { foundOnDisk } from './storeScan.js';

/**
 * The pieces of the production topology (scripts/cluster.ts) that run without PostgreSQL and the Temporal
 * server: the NATS cluster with the agency accounts, and the settings the cluster script derives. The whole
 * topology is exercised by the chaos suite with LOS_CHAOS_TOPOLOGY=cluster.
 */

/**
 * A TLS handshake with a node's route port: 'plaintext' if it answers without TLS, 'refused' if it ends the handshake,
 * else 'secure' (the handshake completed and the connection is still up a moment later).
 */
function routeHandshake(routeUrl: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<'secure' | 'refused'> {
  const { hostname, port } = new URL(routeUrl.replace(/^nats-route:/, 'http:'));
  return new Promise((resolveHandshake) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), servername: 'localhost', ...options });
    const done = (outcome: 'secure' | 'refused') => {
      socket.destroy();
      resolveHandshake(outcome);
    };
    socket.setTimeout(5_000, () => done('refused'));
    socket.on('error', () => done('refused'));
    socket.on('close', () => done('refused'));
    // TLS 1.3 reports a refused client certificate only after the handshake: wait for the server's first bytes.
    socket.on('data', () => done('secure'));
  });
}

describe('a three-node NATS cluster with the agency accounts', () => {
  const seeds = freshSeeds(AGENCY_IDS);
  let scratch: string;
  let cluster: NatsCluster;
  let engine: NatsConnection;
  let tls: DevTls;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'los-nats-cluster-'));
    // TLS for clients and routes, as scripts/cluster.ts starts it: a CA made here, the nodes' certificate for loopback.
    tls = makeDevTls(join(scratch, 'tls'), ['localhost', '127.0.0.1']);
    cluster = await startNatsCluster({ dataDir: scratch, agencies: AGENCY_IDS, keys: { publicKeys: publicKeys(seeds) }, tls, probeSeed: seeds.engine.worker });
    engine = await connect({
      servers: cluster.urls,
      tls: { caFile: tls.caFile },
      authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.engine.worker)),
      maxReconnectAttempts: -1,
    });
    await ensureTopology(await jetstreamManager(engine, { timeout: 20_000 }), { agencies: AGENCY_IDS, replicas: 3 });
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('takes clients over TLS only: a plaintext client and one that does not trust the CA are refused on every node', async () => {
    const polisen = { authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.agencies.polisen!)), inboxPrefix: SUBJECTS.inboxPrefix('polisen') };
    for (const node of cluster.nodes) {
      expect(node.url).toMatch(/^tls:\/\//);
      const plain = node.url.replace(/^tls:/, 'nats:');
      // A client that will not do TLS is turned away before it can even present its key.
      await expect(connect({ servers: plain, ...polisen, reconnect: false, timeout: 2_000, tls: null })).rejects.toThrow(/tls|secure/i);
      await expect(connect({ servers: node.url, ...polisen, reconnect: false, timeout: 2_000 })).rejects.toThrow();
      const nc = await connect({ servers: node.url, ...polisen, reconnect: false, timeout: 5_000, tls: { caFile: tls.caFile } });
      expect(nc.info?.tls_required).toBe(true);
      await nc.close();
    }
    // The routes between the nodes are TLS too, each node's certificate checked against the CA.
    const config = readFileSync(cluster.nodes[0]!.configFile, 'utf8');
    expect(config).toMatch(/cluster \{[^]*\n {2}tls \{[^]*verify: true[^]*\n {2}\}\n\}/);
    // A route port takes only a TLS peer with a certificate the CA signed: a node of this cluster.
    const ca = readFileSync(tls.caFile);
    for (const node of cluster.nodes) {
      expect(await routeHandshake(node.routeUrl, { ca }), `${node.name} without a certificate`).toBe('refused');
      expect(await routeHandshake(node.routeUrl, { ca, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }), node.name).toBe('secure');
    }
  });

  it('refuses a revoked agency on every node once reconfigured, and lets every other identity in', async () => {
    const revokedSeed = seeds.agencies.kronofogden!;
    const keys = publicKeys(seeds);
    await cluster.reconfigure(
      { publicKeys: { ...keys, agencies: { ...keys.agencies, kronofogden: [] } }, revokedKeys: agencyKeyList(keys.agencies.kronofogden) },
      (url) => refusedLogin(url, revokedSeed, { caFile: tls.caFile }),
    );
    for (const node of cluster.nodes) {
      await refusedLogin(node.url, revokedSeed, { caFile: tls.caFile });
      await acceptedLogin(node.url, seeds.agencies.polisen!, { caFile: tls.caFile });
    }
  });

  it('keeps every stream and consumer in three copies, one on each node', async () => {
    const jsm = await jetstreamManager(engine);
    for (const stream of [SUBJECTS.streamOut, SUBJECTS.streamIn, SUBJECTS.streamDeadLetter]) {
      const info = await jsm.streams.info(stream);
      expect(info.config.num_replicas, stream).toBe(3);
      expect([info.cluster!.leader, ...info.cluster!.replicas!.map((r) => r.name)].sort(), stream).toEqual(cluster.nodes.map((n) => n.name).sort());
    }
    const consumer = await jsm.consumers.info(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen'));
    expect(1 + (consumer.cluster?.replicas?.length ?? 0)).toBe(3);
  });

  it("delivers an agency its event through its own account while the stream's leader is dead, and takes the node back", async () => {
    const jsm = await jetstreamManager(engine);
    const leader = (await jsm.streams.info(SUBJECTS.streamOut)).cluster!.leader!;
    const index = cluster.nodes.findIndex((node) => node.name === leader);
    await cluster.kill(index);
    const js = jetstream(engine, { timeout: 20_000 });
    // Until the two survivors have elected a new leader the publish finds no responder, and is sent again, as the
    // delivery activity's retries do; the same message id keeps it one message.
    await vi.waitFor(() => js.publish(SUBJECTS.toAgency('polisen', 'cluster_probe'), '{}', { msgID: 'cluster-probe-1', timeout: 5_000 }), {
      timeout: 30_000,
      interval: 500,
    });
    // As the agency, through its own account: the one consumer the engine account exports to it.
    const reader = await connect({
      servers: cluster.urls,
      tls: { caFile: tls.caFile },
      inboxPrefix: SUBJECTS.inboxPrefix('polisen'),
      authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.agencies.polisen!)),
    });
    try {
      // The consumer's own leader may have died with the node too: its lookup and the pull wait that election out.
      const js = jetstream(reader, { apiPrefix: SUBJECTS.agencyApiPrefix, timeout: 10_000 });
      const consumer = await waitOutElection(() => js.consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer('polisen')));
      const message = await vi.waitFor(
        async () => {
          const next = await consumer.next({ expires: 5_000 });
          if (!next) throw new Error('nothing delivered yet');
          return next;
        },
        { timeout: 60_000, interval: 500 },
      );
      expect(message.subject).toBe(SUBJECTS.toAgency('polisen', 'cluster_probe'));
      message.ack();
    } finally {
      await reader.close();
    }
    await cluster.start(index);
    // The node is back as a replica, and catches up with the leader.
    await vi.waitFor(
      async () => {
        const after = await jsm.streams.info(SUBJECTS.streamOut);
        expect(after.cluster!.replicas!.map((replica) => [replica.name, replica.current])).toContainEqual([leader, true]);
      },
      { timeout: 60_000, interval: 500 },
    );
  }, 240_000);

  it("reads a key while the key store's leader is dead: the read waits out the election instead of failing", async () => {
    const keyring = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });
    const writer = await KeyStore.open({ nc: engine, keyring, replicas: 3 });
    const payloadKey = await writer.payloadKey();
    const jsm = await jetstreamManager(engine);
    const leader = (await jsm.streams.info(`KV_${KEY_BUCKET}`)).cluster!.leader!;
    const index = cluster.nodes.findIndex((node) => node.name === leader);
    await cluster.kill(index);
    try {
      // A fresh store, as in a worker just started: nothing cached, the first read goes to the bucket at once.
      const reader = await KeyStore.open({ nc: engine, keyring, replicas: 3 });
      expect(await reader.payloadKey()).toEqual(payloadKey);
    } finally {
      await cluster.start(index);
    }
  }, 240_000);

  it("overwrites an erased data key and an acknowledged event in every node's copy of the streams, followers' too; only the raft logs keep them, until each node's next snapshot", async () => {
    const jsm = await jetstreamManager(engine);
    const keys = await KeyStore.open({ nc: engine, keyring: readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }), replicas: 3 });
    const operationId = `scan-${randomUUID()}`;
    await keys.createDataKey(operationId, 'Umeå');
    const stored = await jsm.streams.getMessage(`KV_${KEY_BUCKET}`, { last_by_subj: `$KV.${KEY_BUCKET}.op.${operationId}` });
    const { wrapped } = stored!.json<{ wrapped: string }>();
    // An event to an agency, published as the notify activity does, with a value of this test alone.
    const description = `Cash-only pizzeria ${randomUUID()}; the back room is used for card games after hours.`;
    const agency = 'skatteverket';
    await publishCloudEvent(jetstream(engine), SUBJECTS.toAgency(agency, 'briefing'), {
      id: `scan-event-${operationId}`,
      source: 'urn:los:test',
      name: 'briefing',
      subject: operationId,
      time: new Date().toISOString(),
      data: { description },
    });
    const needles = { 'wrapped key': wrapped, 'raw wrapped key': Buffer.from(wrapped, 'base64url'), description };
    // A node's raft log for a replicated stream: every entry it was sent, until the node snapshots the stream.
    const inRaftLog = (hit: string) => /\/\$SYS\/_js_\/S-R3F-[^/]+\/msgs\//.test(hit);
    // The scan sees them: once flushed, every node holds both values in its copy of the streams and in its raft logs.
    await vi.waitFor(
      () => {
        for (const node of cluster.nodes) {
          const hits = foundOnDisk(dirname(node.configFile), { wrapped, description });
          expect(hits.filter((hit) => !inRaftLog(hit)).length, node.name).toBe(2);
          expect(hits.filter(inRaftLog).length, node.name).toBe(2);
        }
      },
      { timeout: 20_000, interval: 500 },
    );

    // The agency reads and acknowledges the event through its own account; the sweep erases it; the data key is destroyed.
    const reader = await connect({
      servers: cluster.urls,
      tls: { caFile: tls.caFile },
      inboxPrefix: SUBJECTS.inboxPrefix(agency),
      authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.agencies[agency]!)),
    });
    try {
      const consumer = await jetstream(reader, { apiPrefix: SUBJECTS.agencyApiPrefix }).consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer(agency));
      for (;;) {
        const message = await consumer.next({ expires: 5_000 });
        if (!message) throw new Error('the event was not delivered');
        await message.ackAck();
        if (message.subject === SUBJECTS.toAgency(agency, 'briefing')) break;
      }
    } finally {
      await reader.close();
    }
    await vi.waitFor(async () => expect(await eraseAcknowledged(jsm, SUBJECTS.streamOut)).toBeGreaterThan(0), { timeout: 10_000, interval: 500 });
    await keys.destroyDataKey(operationId);

    // The erase is replicated as an erase: the leader's copy and both followers' are overwritten, in every file.
    await vi.waitFor(() => expect(foundOnDisk(scratch, needles).filter((hit) => !inRaftLog(hit))).toEqual([]), { timeout: 20_000, interval: 500 });
    // What is left is in the raft logs, which nats-server 2.15 truncates only when a node snapshots the stream: every
    // two to three minutes, a timer no client request can advance (README, "Erased means gone from disk").
  }, 60_000);

  // Last in this suite: what the header does to the flooder's own intake is the server's business (README).
  it("keeps taking every other agency's answers after one agency publishes with a Nats-Expected-Last-Msg-Id that does not match", async () => {
    const jsm = await jetstreamManager(engine);
    const asAgency = (agency: string) =>
      connect({
        servers: cluster.urls,
        tls: { caFile: tls.caFile },
        inboxPrefix: SUBJECTS.inboxPrefix(agency),
        authenticator: nkeyAuthenticator(new TextEncoder().encode(seeds.agencies[agency]!)),
      });
    // What LOS_IN stored after `after`, read message by message (a sourced stream's per-subject counts can lag a minute).
    const storedSince = async (after: number) => {
      const bodies: string[] = [];
      for (let seq = after + 1; seq <= (await jsm.streams.info(SUBJECTS.streamIn)).state.last_seq; seq++) {
        const message = await jsm.streams.getMessage(SUBJECTS.streamIn, { seq }).catch(() => null);
        if (message) bodies.push(`${message.subject} ${new TextDecoder().decode(message.data)}`);
      }
      return bodies;
    };
    const hostile = await asAgency('polisen');
    const honest = await asAgency('skatteverket');
    try {
      const honestSubject = SUBJECTS.fromAgency('skatteverket', 'information_provided');
      const before = (await jsm.streams.info(SUBJECTS.streamIn)).state.last_seq;
      const run = randomUUID();
      const header = headers();
      header.set('Nats-Expected-Last-Msg-Id', `nothing-${randomUUID()}`);
      // Refused or not, and whatever it does to the stream that stored it: the sender's own intake, never LOS_IN.
      await jetstream(hostile, { timeout: 5_000 })
        .publish(SUBJECTS.fromAgency('polisen', 'mandate_declined'), '{}', { headers: header, msgID: `wedge-${randomUUID()}` })
        .catch(() => undefined);
      const honestJs = jetstream(honest, { timeout: 5_000 });
      for (let i = 0; i < 3; i++) {
        await vi.waitFor(() => honestJs.publish(honestSubject, `{"run":"${run}","n":${i}}`, { msgID: `honest-${randomUUID()}` }), {
          timeout: 30_000,
          interval: 500,
        });
      }
      const sent = [0, 1, 2].map((i) => `${honestSubject} {"run":"${run}","n":${i}}`);
      // Eventually, not at once: after the leader kills above, LOS_IN's sources resume after nats-server's back-off,
      // which took 5 s alone and 25–30 s with two other test files on the same two cores.
      await vi.waitFor(async () => expect((await storedSince(before)).filter((body) => body.includes(run))).toEqual(sent), { timeout: 90_000, interval: 500 });
      const losIn = await jsm.streams.info(SUBJECTS.streamIn);
      expect(losIn.cluster?.leader).toBeTruthy();
      expect(losIn.config.subjects ?? []).toEqual([]);
    } finally {
      await hostile.close();
      await honest.close();
    }
  }, 120_000);
});

describe('what the cluster script derives', () => {
  it('says what PostgreSQL it needs when LOS_POSTGRES_URL cannot be used, and reads user and password from it', () => {
    expect(postgresFromEnvironment({})).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres' });
    expect(postgresFromEnvironment({ LOS_POSTGRES_URL: 'postgres://temporal:s%40cret@db.example:6432' })).toEqual({
      host: 'db.example',
      port: 6432,
      user: 'temporal',
      password: 's@cret',
    });
    expect(() => postgresFromEnvironment({ LOS_POSTGRES_URL: 'db:5432' })).toThrow(/LOS_POSTGRES_URL should read postgres:\/\/USER\[:PASSWORD\]@HOST:PORT/);
    expect(() => postgresFromEnvironment({ LOS_POSTGRES_URL: 'not a url' })).toThrow(/LOS_POSTGRES_URL is not a URL/);
  });

  it('names both databases with the prefix, and refuses a prefix that is not a plain identifier', () => {
    expect(temporalDatabases('los_chaos_1a')).toEqual({ main: 'los_chaos_1a_temporal', visibility: 'los_chaos_1a_temporal_visibility' });
    expect(() => temporalDatabases('x; drop database postgres')).toThrow(/database prefix/);
  });

  it('gives the Temporal services free ports, membership ports below 32768 (PostgreSQL stores them as smallint)', async () => {
    const ports = await freeTemporalPorts();
    expect(new Set(Object.values(ports)).size).toBe(Object.keys(STANDARD_TEMPORAL_PORTS).length);
    for (const name of ['frontendMembership', 'historyMembership', 'matchingMembership', 'workerMembership'] as const) expect(ports[name]).toBeLessThan(32_768);
    const config = parse(
      temporalServerConfig({ postgres: { host: '127.0.0.1', port: 5432, user: 'postgres' }, databasePrefix: 'los_x', ports, bindAddress: '127.0.0.1' }),
    ) as { persistence: { datastores: Record<string, { sql: { databaseName: string } }> }; services: { history: { rpc: { membershipPort: number } } } };
    expect(Object.values(config.persistence.datastores).map((d) => d.sql.databaseName)).toEqual(['los_x_temporal', 'los_x_temporal_visibility']);
    expect(config.services.history.rpc.membershipPort).toBe(ports.historyMembership);
  });

  it("budgets the engine account's storage per copy: three nodes hold three copies", () => {
    const options = { agencies: ['polisen'], publicKeys: publicKeys(freshSeeds(['polisen'])), listen: '127.0.0.1:4222', storeDir: '/tmp/x' };
    const single = natsServerConfig(options);
    const node = natsServerConfig({
      ...options,
      cluster: { name: 'los', serverName: 'los-1', listen: '127.0.0.1:6222', routes: ['nats-route://a:6222', 'nats-route://b:6222'] },
    });
    const maxFile = (config: string) => Number(/max_file: (\d+)/.exec(config)![1]);
    expect(maxFile(node)).toBe(3 * maxFile(single));
    expect(node).toContain('server_name: "los-1"');
    expect(node).toContain('routes: ["nats-route://a:6222", "nats-route://b:6222"]');
  });
});
