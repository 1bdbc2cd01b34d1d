import { readFileSync } from 'node:fs';
import { SUBJECTS } from '../domain/index.js';

/**
 * Need to know, enforced by nats-server rather than by the goodwill of each agency system: one user per
 * agency that can read only its own durable consumer and answer only as itself, and one engine user for the
 * worker, the bridge and the JetStream topology. Everything here is single-account (`authorization { users }`),
 * so it works on nats-server 2.9.
 *
 * Passwords are rendered in plain text. That is acceptable for the dev stack, where the file is written with
 * mode 0600; a production deployment should put bcrypt hashes (natscli: `nats server passwd`) in the file
 * instead and keep the plain passwords only in the clients' secrets.
 */

export interface NatsUserPermissions {
  publish: string[];
  subscribe: string[];
}

export interface NatsPasswords {
  engine: string;
  agencies: Record<string, string>;
}

export interface NatsAuthOptions {
  agencies: readonly string[];
  engine: { user: string; password: string };
  /** One password per agency in `agencies`; the agency's NATS user name is its agency id. */
  agencyPasswords: Readonly<Record<string, string>>;
}

export const DEFAULT_ENGINE_USER = 'los_engine';
export const ENGINE_PASSWORD_ENV = 'LOS_NATS_ENGINE_PASSWORD';
export const MIN_PASSWORD_LENGTH = 16;

export function agencyPasswordEnv(agency: string): string {
  return `LOS_NATS_PASSWORD_${agency.toUpperCase()}`;
}

/** The inbox prefix `connectAgency` uses; an agency may subscribe to nothing else. */
export function agencyInboxPrefix(agency: string): string {
  return `_INBOX_${agency}`;
}

// An id becomes a subject token: a dot, `*` or `>` in it would grant other agencies' subjects.
const AGENCY_TOKEN = /^[a-z][a-z0-9_]*$/;
const USER_NAME = /^[A-Za-z0-9_-]+$/;
// Passwords are written inside double quotes. Quotes and backslashes are lexer syntax and `$` marks variables
// in nats-server config: refusing them (and whitespace) is safer than proving each one is taken literally.
const PASSWORD = /^[A-Za-z0-9._~+/=:@%!*,^&()[\]{}<>?|-]+$/;

export function agencyPermissions(agency: string): NatsUserPermissions {
  assertAgencyToken(agency);
  const consumer = SUBJECTS.agencyConsumer(agency);
  const stream = SUBJECTS.streamOut;
  return {
    publish: [
      // `js.consumers.get()` looks the consumer up before `consume()` starts pulling.
      `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      // nats-server 2.9 acks as $JS.ACK.<stream>.<consumer>.<counts…>; ack, nak and term all publish here.
      `$JS.ACK.${stream}.${consumer}.>`,
      // An answer is los.v1.from.<agency>.<event>, exactly five tokens: the bridge rejects anything longer.
      SUBJECTS.fromAgency(agency, '*'),
    ],
    // Pull deliveries, heartbeats and publish acks all arrive on the agency's own inbox.
    subscribe: [`${agencyInboxPrefix(agency)}.>`],
  };
}

/**
 * The engine creates and updates streams and consumers, so it needs the whole JetStream API. It publishes
 * only outbound events and dead letters: an agency's answer must come from that agency's own user.
 */
export function enginePermissions(): NatsUserPermissions {
  return {
    // $KV.LOS_KEYS: the key store (workers/keys.ts); los.v1.audit: the decode access log (workers/audit.ts).
    publish: ['$JS.API.>', '$JS.ACK.>', SUBJECTS.allOut, SUBJECTS.allDeadLetter, '$KV.LOS_KEYS.>', 'los.v1.audit.>'],
    subscribe: ['_INBOX.>'],
  };
}

/** Renders the `authorization { users = [...] }` block for nats-server's config file. */
export function natsAuthConfig(options: NatsAuthOptions): string {
  const engineUser = options.engine.user;
  if (!USER_NAME.test(engineUser)) throw new Error(`NATS engine user "${engineUser}" must use only letters, digits, "_" and "-"`);
  assertPassword(options.engine.password, `the engine user "${engineUser}"`);
  const users: string[] = [renderUser(engineUser, options.engine.password, enginePermissions())];
  const seen = new Set<string>();
  for (const agency of options.agencies) {
    assertAgencyToken(agency);
    if (agency === engineUser) throw new Error(`NATS engine user "${engineUser}" has the same name as an agency; choose another engine user name`);
    if (seen.has(agency)) throw new Error(`agency "${agency}" is listed twice; each agency has exactly one NATS user`);
    seen.add(agency);
    const password = options.agencyPasswords[agency];
    if (password === undefined) throw new Error(`no NATS password given for agency "${agency}"`);
    assertPassword(password, `agency "${agency}"`);
    users.push(renderUser(agency, password, agencyPermissions(agency)));
  }
  return [
    '# Need to know: each agency user reads only its own consumer and answers only as itself.',
    '# Passwords are in plain text (dev stack); keep this file private (mode 0600).',
    'authorization {',
    '  users = [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
}

export interface NatsServerConfigOptions extends NatsAuthOptions {
  /** `host:port` clients connect to. */
  listen: string;
  /** Where JetStream keeps the streams. */
  storeDir: string;
}

/** A complete nats-server config: listener, JetStream and the users. */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  return [
    `listen: ${quoted(options.listen, 'listen address')}`,
    'jetstream {',
    `  store_dir: ${quoted(options.storeDir, 'JetStream store directory')}`,
    '}',
    natsAuthConfig(options),
  ].join('\n');
}

export interface LoadNatsPasswordsOptions {
  agencies: readonly string[];
  /** A JSON file `{ "engine": "…", "agencies": { "<agency id>": "…" } }`; when given, the environment is not read. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The passwords for the engine and every agency, from a JSON file or from `LOS_NATS_ENGINE_PASSWORD` and
 * `LOS_NATS_PASSWORD_<AGENCY>`. Never defaulted: a missing password is an error naming where to put it.
 */
export function loadNatsPasswords(options: LoadNatsPasswordsOptions): NatsPasswords {
  if (options.file !== undefined) return passwordsFromFile(options.file, options.agencies);
  const env = options.env ?? process.env;
  const required = (name: string, whose: string) => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`NATS password missing: set ${name} (the password for ${whose})`);
    return value;
  };
  const agencies: Record<string, string> = {};
  for (const agency of options.agencies) agencies[agency] = required(agencyPasswordEnv(agency), `agency ${agency}`);
  return { engine: required(ENGINE_PASSWORD_ENV, 'the engine user'), agencies };
}

function passwordsFromFile(path: string, agencies: readonly string[]): NatsPasswords {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`NATS password file ${path} could not be read: ${(err as Error).message}`);
  }
  const file = (json ?? {}) as { engine?: unknown; agencies?: Record<string, unknown> };
  if (typeof file.engine !== 'string' || file.engine === '') throw new Error(`NATS password file ${path} has no "engine" password`);
  const out: Record<string, string> = {};
  for (const agency of agencies) {
    const value = file.agencies?.[agency];
    if (typeof value !== 'string' || value === '') throw new Error(`NATS password file ${path} has no password for agency ${agency} (at "agencies.${agency}")`);
    out[agency] = value;
  }
  return { engine: file.engine, agencies: out };
}

function renderUser(user: string, password: string, permissions: NatsUserPermissions): string {
  const list = (subjects: string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  return [
    '    {',
    `      user: ${JSON.stringify(user)}`,
    `      password: "${password}"`,
    '      permissions: {',
    `        publish: { allow: ${list(permissions.publish)} }`,
    `        subscribe: { allow: ${list(permissions.subscribe)} }`,
    '      }',
    '    }',
  ].join('\n');
}

function quoted(value: string, what: string): string {
  if (/["\\$\r\n]/.test(value)) throw new Error(`${what} "${value}" contains a quote, backslash, "$" or line break, which the nats-server config cannot hold`);
  return `"${value}"`;
}

function assertAgencyToken(agency: string): void {
  if (!AGENCY_TOKEN.test(agency)) throw new Error(`agency id "${agency}" cannot be a NATS subject token: use lower-case letters, digits and "_"`);
}

function assertPassword(password: string, whose: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`NATS password for ${whose} is too short: use at least ${MIN_PASSWORD_LENGTH} characters`);
  if (!PASSWORD.test(password)) {
    throw new Error(`NATS password for ${whose} contains a character the nats-server config cannot hold literally (quote, backslash, "$" or whitespace)`);
  }
}
