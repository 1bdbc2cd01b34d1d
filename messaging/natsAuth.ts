import { readFileSync } from 'node:fs';
import { createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import { InboundEventName, SUBJECTS } from '../domain/index.js';
import { ERASURE_SUBJECT } from './erasure.js';

/**
 * Need to know, enforced by nats-server rather than by the goodwill of each agency system. Every agency has an
 * account of its own, and the engine has one (LOS_ENGINE) that holds every stream. The engine account exports
 * to each agency exactly four things, privately: publishing its answers (`los.v1.from.<agency>.*`, into LOS_IN,
 * with the acknowledgement as the response), the info and next-message requests of its own durable consumer,
 * and acknowledging that consumer's messages. Nothing else crosses: a reply subject an agency names is a subject
 * in its own account, which has no streams, so no response can be reflected into another agency's stream or
 * the engine's. Agency accounts have no JetStream of their own and a payload limit, so no agency can fill the
 * disk; the engine account's JetStream has a storage budget.
 *
 * Every identity logs in with an NKEY: the config holds only public keys, and each seed stays with its owner.
 */

/** The engine's identities, each with only the rights it uses. */
export const ENGINE_IDENTITIES = ['worker', 'bridge', 'operator', 'steering_group', 'coordinator'] as const;
export type EngineIdentity = (typeof ENGINE_IDENTITIES)[number];
export type NatsIdentity = EngineIdentity | `agency:${string}`;

export const ENGINE_ACCOUNT = 'LOS_ENGINE';
export function agencyAccount(agency: string): string {
  return `AGENCY_${agency.toUpperCase()}`;
}

/** An agency's public key, or its keys during a rotation; an empty list when its credentials are revoked. */
export type AgencyKeys = string | readonly string[];

/** An agency's keys as a list: none when revoked, two during a rotation. */
export function agencyKeyList(keys: AgencyKeys | undefined): readonly string[] {
  return keys === undefined ? [] : typeof keys === 'string' ? [keys] : keys;
}

export interface NatsUserPermissions {
  publish: string[];
  subscribe: string[];
}

// An id becomes a subject token: a dot, `*` or `>` in it would grant other agencies' subjects.
const AGENCY_TOKEN = /^[a-z][a-z0-9_]*$/;

/**
 * What reading one durable pull consumer of LOS_OUT takes: its info, its next messages, acking them. `api` is
 * `$JS.API` inside the engine account, and SUBJECTS.agencyApiPrefix for an agency, whose account imports these.
 */
function consumerReader(consumer: string, api = '$JS.API'): string[] {
  const stream = SUBJECTS.streamOut;
  return [`${api}.CONSUMER.INFO.${stream}.${consumer}`, `${api}.CONSUMER.MSG.NEXT.${stream}.${consumer}`, `$JS.ACK.${stream}.${consumer}.>`];
}

export function agencyPermissions(agency: string): NatsUserPermissions {
  assertAgencyToken(agency);
  return {
    // An answer is los.v1.from.<agency>.<answer>, one subject per answer it can send: each has its own inbound
    // quota in LOS_IN, so a subject of the agency's own invention would be a quota of its own invention.
    publish: [
      ...consumerReader(SUBJECTS.agencyConsumer(agency), SUBJECTS.agencyApiPrefix),
      ...InboundEventName.options.map((answer) => SUBJECTS.fromAgency(agency, answer)),
    ],
    // Pull deliveries, heartbeats and publish acks all arrive on the agency's own inbox.
    subscribe: [`${SUBJECTS.inboxPrefix(agency)}.>`],
  };
}

/** Each engine identity's rights inside the engine account. */
export function enginePermissions(identity: EngineIdentity): NatsUserPermissions {
  switch (identity) {
    // The worker sets up the topology and publishes the outbound events; it never answers as an agency.
    // $KV.LOS_KEYS is the key store (vault/keys.ts) and los.v1.erasures its record of erasures (messaging/erasure.ts),
    // los.v1.audit the decode access log (vault/audit.ts). The codec
    // server and the API run as this identity too; $KV.LOS_API_SESSIONS holds the API's browser sessions (api/auth.ts).
    case 'worker':
      return {
        publish: ['$JS.API.>', SUBJECTS.allOut, '$KV.LOS_KEYS.>', ERASURE_SUBJECT, '$KV.LOS_API_SESSIONS.>', 'los.v1.audit.>'],
        subscribe: ['_INBOX.>'],
      };
    // The bridge sets up the topology too (whichever starts first), reads LOS_IN and the advisories, writes dead
    // letters and tells agencies about answers not applied; no other outbound event.
    case 'bridge':
      return {
        publish: [
          '$JS.API.>',
          `$JS.ACK.${SUBJECTS.streamIn}.${SUBJECTS.bridgeConsumer}.>`,
          '$JS.ACK.LOS_ADVISORIES.>',
          SUBJECTS.allDeadLetter,
          SUBJECTS.toAgency('*', 'answer_not_applied'),
          '$KV.LOS_KEYS.>',
          ERASURE_SUBJECT,
        ],
        subscribe: ['_INBOX.>'],
      };
    // Read-only: stream and consumer state, and the dead letters; never the events themselves.
    case 'operator':
      return {
        publish: [
          '$JS.API.INFO',
          '$JS.API.STREAM.NAMES',
          '$JS.API.STREAM.LIST',
          '$JS.API.STREAM.INFO.*',
          '$JS.API.CONSUMER.NAMES.*',
          '$JS.API.CONSUMER.LIST.*',
          '$JS.API.CONSUMER.INFO.*.*',
          `$JS.API.STREAM.MSG.GET.${SUBJECTS.streamDeadLetter}`,
        ],
        subscribe: ['_INBOX.>'],
      };
    case 'steering_group':
      return { publish: consumerReader(SUBJECTS.steeringConsumer), subscribe: [`${SUBJECTS.inboxPrefix('steering_group')}.>`] };
    case 'coordinator':
      return { publish: consumerReader(SUBJECTS.coordinatorConsumer), subscribe: [`${SUBJECTS.inboxPrefix('coordinator')}.>`] };
  }
}

/** The JetStream and payload limits of each account. */
export interface AccountLimits {
  /**
   * Disk the engine account's streams may use in all.
   * @default 8 GiB
   */
  engineMaxFileBytes?: number;
  /**
   * The largest message an agency may publish; an answer is at most 64 KiB of JSON.
   * @default 65536
   */
  agencyMaxPayload?: number;
  /**
   * Connections an agency's account may hold at once (its system, a second during a rotation, a few tools).
   * @default 16
   */
  agencyMaxConnections?: number;
  /**
   * Subscriptions an agency's account may hold at once (each connection needs its inbox and a pull or two).
   * @default 256
   */
  agencyMaxSubscriptions?: number;
}

export const DEFAULT_ACCOUNT_LIMITS = {
  engineMaxFileBytes: 8 * 1024 ** 3,
  agencyMaxPayload: 64 * 1024,
  agencyMaxConnections: 16,
  agencyMaxSubscriptions: 256,
} as const satisfies Required<AccountLimits>;

export interface NatsAccountsOptions {
  agencies: readonly string[];
  /**
   * The NKEY public key (`U…`) of every engine identity and agency. An agency may have two during a rotation (the
   * old and the new key, both valid until the switch-over ends), and none once revoked: its account stays, so
   * its consumer and its events are kept, but nobody can log in to it.
   */
  publicKeys: { engine: Record<EngineIdentity, string>; agencies: Readonly<Record<string, AgencyKeys>> };
  /** Public keys that must never log in again (revoked agencies' and rotated-out keys): rendering one is refused. */
  revokedKeys?: readonly string[];
  limits?: AccountLimits;
}

/** Renders the `accounts { … }` block: one account per agency and the engine's, with NKEY users. */
export function natsAccountsConfig(options: NatsAccountsOptions): string {
  const limits = { ...DEFAULT_ACCOUNT_LIMITS, ...options.limits };
  const seen = new Set<string>();
  const keys = new Set<string>();
  const revoked = new Set(options.revokedKeys ?? []);
  const userKey = (key: string | undefined, whose: string) => {
    if (key === undefined) throw new Error(`no NKEY public key given for ${whose}`);
    assertUserPublicKey(key, whose);
    if (revoked.has(key)) throw new Error(`the NKEY public key of ${whose} has been revoked and cannot log in again: issue a new one`);
    if (keys.has(key)) throw new Error(`the NKEY public key of ${whose} is used twice: each identity needs its own key`);
    keys.add(key);
    return key;
  };
  const engineUsers = ENGINE_IDENTITIES.map((identity) =>
    renderUser(userKey(options.publicKeys.engine[identity], `the engine's ${identity}`), enginePermissions(identity)),
  );
  const agencyUsers = (agency: string) => {
    const given = options.publicKeys.agencies[agency];
    if (given === undefined) throw new Error(`no NKEY public key given for agency "${agency}" (an empty list if its credentials are revoked)`);
    const list = agencyKeyList(given);
    if (list.length > 2) throw new Error(`agency "${agency}" has ${list.length} NKEY public keys: at most two, the old and the new during a rotation`);
    return list.map((key) => renderUser(userKey(key, `agency "${agency}"`), agencyPermissions(agency)));
  };
  const exports: string[] = [];
  const agencyAccounts: string[] = [];
  for (const agency of options.agencies) {
    assertAgencyToken(agency);
    if (seen.has(agency)) throw new Error(`agency "${agency}" is listed twice; each agency has exactly one account`);
    seen.add(agency);
    const account = agencyAccount(agency);
    const consumer = SUBJECTS.agencyConsumer(agency);
    // [subject in the engine account, subject in the agency's account, response type]
    const api = (call: string) =>
      [`$JS.API.${call}.${SUBJECTS.streamOut}.${consumer}`, `${SUBJECTS.agencyApiPrefix}.${call}.${SUBJECTS.streamOut}.${consumer}`] as const;
    const services: [string, string, string?][] = [
      [SUBJECTS.fromAgency(agency, '*'), SUBJECTS.fromAgency(agency, '*')],
      [...api('CONSUMER.INFO')],
      [...api('CONSUMER.MSG.NEXT'), 'stream'],
      [`$JS.ACK.${SUBJECTS.streamOut}.${consumer}.>`, `$JS.ACK.${SUBJECTS.streamOut}.${consumer}.>`],
    ];
    for (const [subject, , responseType] of services) {
      exports.push(`      { service: ${JSON.stringify(subject)}, accounts: [${account}]${responseType ? `, response_type: ${responseType}` : ''} }`);
    }
    agencyAccounts.push(
      [
        `  ${account}: {`,
        // What one agency can take of the server; its inbound quota is LOS_IN's, per answer subject (messaging/jetstream.ts).
        `    limits: { max_payload: ${limits.agencyMaxPayload}, max_connections: ${limits.agencyMaxConnections}, max_subscriptions: ${limits.agencyMaxSubscriptions} }`,
        // No users once revoked: the account, its imports and the engine's consumer for it stay, nobody logs in.
        '    users: [',
        ...agencyUsers(agency),
        '    ]',
        '    imports: [',
        ...services.map(
          ([subject, to]) =>
            `      { service: { account: ${ENGINE_ACCOUNT}, subject: ${JSON.stringify(subject)} }${to !== subject ? `, to: ${JSON.stringify(to)}` : ''} }`,
        ),
        '    ]',
        '  }',
      ].join('\n'),
    );
  }
  return [
    '# Need to know: one account per agency and one for the engine; users log in with NKEYs (public keys only here).',
    'accounts {',
    `  ${ENGINE_ACCOUNT}: {`,
    `    jetstream: { max_file: ${limits.engineMaxFileBytes}, max_mem: 268435456 }`,
    '    users: [',
    ...engineUsers,
    '    ]',
    '    exports: [',
    ...exports,
    '    ]',
    '  }',
    ...agencyAccounts,
    '}',
    '',
  ].join('\n');
}

export interface NatsTls {
  certFile: string;
  keyFile: string;
  /** The CA clients' certificates would be checked against; the server's own chain for clients to trust. */
  caFile?: string;
}

export interface NatsServerConfigOptions extends NatsAccountsOptions {
  /** `host:port` clients connect to. */
  listen: string;
  /** Where JetStream keeps the streams. */
  storeDir: string;
  /** Required in production; the embedded dev stack listens on loopback only and goes without. */
  tls?: NatsTls;
  /** This node's place in a JetStream cluster; without it the server runs alone. */
  cluster?: NatsClusterNode;
}

/** One node of a JetStream cluster: every node names all the others' route URLs. */
export interface NatsClusterNode {
  /** The cluster's name, the same on every node, e.g. "los". */
  name: string;
  /** This node's name, unique in the cluster (JetStream places replicas by it), e.g. "los-1". */
  serverName: string;
  /** `host:port` the other nodes connect to. */
  listen: string;
  /** The other nodes' route URLs, e.g. `nats-route://nats-2:6222`. */
  routes: readonly string[];
  /**
   * TLS on the routes: each node presents this certificate to the others and, with `caFile`, requires theirs to be
   * signed by that CA (mutual TLS), so only the cluster's own nodes can join it.
   */
  tls?: NatsTls;
}

/** A complete nats-server config: listener, TLS, JetStream and the accounts. */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const tls = options.tls ? tlsBlock(options.tls, '', 'client') : [];
  const cluster = options.cluster
    ? [
        `server_name: ${quoted(options.cluster.serverName, 'server name')}`,
        'cluster {',
        `  name: ${quoted(options.cluster.name, 'cluster name')}`,
        `  listen: ${quoted(options.cluster.listen, 'cluster listen address')}`,
        `  routes: [${options.cluster.routes.map((route) => quoted(route, 'route URL')).join(', ')}]`,
        ...(options.cluster.tls ? tlsBlock(options.cluster.tls, '  ', 'route') : []),
        '}',
      ]
    : [];
  return [
    `listen: ${quoted(options.listen, 'listen address')}`,
    ...tls,
    ...cluster,
    'jetstream {',
    `  store_dir: ${quoted(options.storeDir, 'JetStream store directory')}`,
    '}',
    natsAccountsConfig(options.cluster ? { ...options, limits: clusteredLimits(options.limits, options.cluster.routes.length + 1) } : options),
  ].join('\n');
}

/** A `tls { }` block; on routes, with a CA, the other node's certificate is required and checked too. */
function tlsBlock(tls: NatsTls, indent: string, side: 'client' | 'route'): string[] {
  return [
    'tls {',
    `  cert_file: ${quoted(tls.certFile, 'TLS certificate file')}`,
    `  key_file: ${quoted(tls.keyFile, 'TLS key file')}`,
    ...(tls.caFile ? [`  ca_file: ${quoted(tls.caFile, 'TLS CA file')}`] : []),
    ...(side === 'route' && tls.caFile ? ['  verify: true'] : []),
    '  timeout: 2',
    '}',
  ].map((line) => indent + line);
}

/**
 * In a cluster a stream's storage counts once per copy against its account, and a stream may keep a copy on
 * every node: the engine's budget is per copy, as on a single server.
 */
function clusteredLimits(limits: AccountLimits | undefined, nodes: number): AccountLimits {
  const perCopy = limits?.engineMaxFileBytes ?? DEFAULT_ACCOUNT_LIMITS.engineMaxFileBytes;
  return { ...limits, engineMaxFileBytes: perCopy * nodes };
}

/** NKEY seeds for every identity: made fresh for the dev stack, read from files in production. */
export interface NatsSeeds {
  engine: Record<EngineIdentity, string>;
  agencies: Record<string, string>;
}

export function freshSeeds(agencies: readonly string[]): NatsSeeds {
  const seed = () => new TextDecoder().decode(createUser().getSeed());
  return {
    engine: Object.fromEntries(ENGINE_IDENTITIES.map((identity) => [identity, seed()])) as Record<EngineIdentity, string>,
    agencies: Object.fromEntries(agencies.map((agency) => [agency, seed()])),
  };
}

export function publicKeyOf(seed: string): string {
  return fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey();
}

export function publicKeys(seeds: NatsSeeds): NatsAccountsOptions['publicKeys'] {
  return {
    engine: Object.fromEntries(ENGINE_IDENTITIES.map((identity) => [identity, publicKeyOf(seeds.engine[identity])])) as Record<EngineIdentity, string>,
    agencies: Object.fromEntries(Object.entries(seeds.agencies).map(([agency, seed]) => [agency, publicKeyOf(seed)])),
  };
}

/**
 * Where an identity's seed lives in a keys directory: the engine's under `engine/`, the agencies' under
 * `agencies/`, so the engine's processes can be given the one without the other.
 */
export function seedFileName(identity: NatsIdentity): string {
  return identity.startsWith('agency:') ? `agencies/${identity.slice('agency:'.length)}.nk` : `engine/${identity}.nk`;
}

/** Reads a seed file (what NATS_NKEY_SEED_FILE names), refusing anything that is not a user seed. */
export function readSeedFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`NKEY seed file ${path} could not be read: ${(err as Error).message}`);
  }
  if (!text.startsWith('SU')) throw new Error(`NKEY seed file ${path} does not hold a user seed (it should start with "SU")`);
  publicKeyOf(text);
  return text;
}

function renderUser(nkey: string, permissions: NatsUserPermissions): string {
  const list = (subjects: string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  return [
    '      {',
    `        nkey: ${nkey}`,
    '        permissions: {',
    `          publish: { allow: ${list(permissions.publish)} }`,
    `          subscribe: { allow: ${list(permissions.subscribe)} }`,
    '        }',
    '      }',
  ].join('\n');
}

function assertUserPublicKey(key: string, whose: string): void {
  try {
    if (!key.startsWith('U')) throw new Error('not a user key');
    fromPublic(key);
  } catch {
    throw new Error(`the NKEY public key of ${whose} is not a user public key ("U…", 56 characters)`);
  }
}

function quoted(value: string, what: string): string {
  if (/["\\$\r\n]/.test(value)) throw new Error(`${what} "${value}" contains a quote, backslash, "$" or line break, which the nats-server config cannot hold`);
  return `"${value}"`;
}

function assertAgencyToken(agency: string): void {
  if (!AGENCY_TOKEN.test(agency)) throw new Error(`agency id "${agency}" cannot be a NATS subject token: use lower-case letters, digits and "_"`);
}
