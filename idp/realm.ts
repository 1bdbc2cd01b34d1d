import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The realm: who may sign in at the embedded identity provider, and which clients may ask it for tokens. A
 * municipality with its own provider has no realm file here; the engine only knows an issuer URL.
 */

export const ROLES = ['coordinator', 'steering_group', 'auditor', 'operator', 'administrator'] as const;

/** `scrypt$<N>$<r>$<p>$<salt, base64url>$<key, base64url>`, as `npm run idp -- --hash-password` prints it. */
const PASSWORD_HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** The claims a token carries about a person or a machine client (names as the engine expects them by default). */
export const LosClaims = z.object({
  name: z.string().min(1),
  los_role: z.enum(ROLES),
  los_municipality: z.string().min(1).optional(),
});
export type LosClaims = z.infer<typeof LosClaims>;

/**
 * What a person or a machine client may do on the Temporal server: `<namespace>:<role>` as the server's default JWT
 * claim mapper reads its `permissions` claim, the role one of read, write, worker or admin (`temporal-system:admin`
 * for the whole cluster). They go only into tokens for Temporal's audience.
 */
export const TEMPORAL_ROLES = ['read', 'write', 'worker', 'admin'] as const;
export const TemporalPermissions = z
  .array(
    z.string().regex(/^[A-Za-z0-9._-]+:(read|write|worker|admin)$/, 'a Temporal permission reads <namespace>:<role>, the role read, write, worker or admin'),
  )
  .min(1);

export const Person = LosClaims.extend({
  username: z.string().regex(/^[a-z0-9._-]+$/, 'a username is lower-case letters, digits, ".", "_" or "-"'),
  password: z.string().regex(PASSWORD_HASH, 'password must be a scrypt hash ("scrypt$N$r$p$salt$key"): make one with `npm run idp -- --hash-password`'),
  sub: z.string().min(1),
  temporal_permissions: TemporalPermissions.optional(),
});
export type Person = z.infer<typeof Person>;

const ClientBase = z.object({
  client_id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a client_id is letters, digits, ".", "_" or "-"'),
  client_name: z.string().min(1).optional(),
  /** Seconds an access token for this client lives; the provider's default (10 minutes) otherwise. */
  access_token_ttl: z.number().int().positive().optional(),
});

/** A web application signing people in with the authorization code flow and PKCE (the engine's API). */
const WebClient = ClientBase.extend({
  kind: z.literal('web'),
  client_secret: z.string().min(16, 'client_secret must be at least 16 characters'),
  /** More redirect URIs besides the `--api-url <url>/auth/callback` ones given at start. */
  redirect_uris: z.array(z.url()).default([]),
});

/** What people of a role may do on Temporal through a client, besides their own temporal_permissions. */
const RolePermissions = z.partialRecord(z.enum(ROLES), TemporalPermissions).default({});

/**
 * The Temporal Web UI server signing people in with the authorization code flow (confidential; the UI server sends
 * no PKCE, so it has state, nonce and its secret instead). Its access tokens are for Temporal's audience only and
 * carry the person's Temporal permissions and, for the codec server, their role and municipality.
 */
const TemporalUiClient = ClientBase.extend({
  kind: z.literal('temporal-ui'),
  client_secret: z.string().min(16, 'client_secret must be at least 16 characters'),
  /** More redirect URIs besides the `--temporal-ui-url <url>/auth/sso/callback` ones given at start. */
  redirect_uris: z.array(z.url()).default([]),
  role_permissions: RolePermissions,
});

/**
 * A command-line tool signing a person in with the device authorization grant: a public client, no secret. Its
 * tokens for Temporal's audience (`los token --for temporal`, for the Temporal CLI's `--api-key` and `--codec-auth`)
 * carry the person's Temporal permissions (their own and their role's here) and, for the codec server, their role
 * and municipality, as the Temporal UI's do.
 */
const DeviceClient = ClientBase.extend({ kind: z.literal('device'), role_permissions: RolePermissions });

/**
 * A system acting as itself with client credentials; its tokens for the API carry the claims given here, its tokens
 * for Temporal the Temporal permissions (the engine's own processes have only those).
 */
const MachineClient = ClientBase.extend({
  kind: z.literal('machine'),
  client_secret: z.string().min(16, 'client_secret must be at least 16 characters'),
  claims: LosClaims.optional(),
  temporal_permissions: TemporalPermissions.optional(),
}).refine((client) => client.claims || client.temporal_permissions, {
  message: 'a machine client needs claims (for the API), temporal_permissions (for Temporal), or both',
  path: ['claims'],
});

export const RealmClient = z.discriminatedUnion('kind', [WebClient, TemporalUiClient, DeviceClient, MachineClient]);
export type RealmClient = z.infer<typeof RealmClient>;

export const Realm = z
  .object({
    people: z.array(Person),
    clients: z.array(RealmClient).min(1),
  })
  .superRefine((realm, ctx) => {
    const seen = (key: 'username' | 'sub') => {
      const names = new Set<string>();
      realm.people.forEach((person, index) => {
        if (names.has(person[key])) ctx.addIssue({ code: 'custom', path: ['people', index, key], message: `${key} "${person[key]}" appears twice` });
        names.add(person[key]);
      });
    };
    seen('username');
    seen('sub');
    const ids = new Set<string>();
    realm.clients.forEach((client, index) => {
      if (ids.has(client.client_id))
        ctx.addIssue({ code: 'custom', path: ['clients', index, 'client_id'], message: `client_id "${client.client_id}" appears twice` });
      ids.add(client.client_id);
    });
  });
export type Realm = z.infer<typeof Realm>;

/** Reads and checks a realm file; the error names the file and every field that is wrong. */
export function loadRealm(file: string): Realm {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`realm file ${file} cannot be read: ${(err as Error).message}`);
  }
  const parsed = Realm.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`realm file ${file} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * A client's secret: from the environment when set (`LOS_IDP_CLIENT_SECRET_LOS_API` for `los-api`), so a deployment
 * need not keep it in the realm file; from the realm otherwise.
 */
export function clientSecretEnvName(clientId: string): string {
  return `LOS_IDP_CLIENT_SECRET_${clientId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

// scrypt's cost: N = 2^15 takes ~50 ms and 32 MiB, enough to make guessing a stolen hash slow.
const SCRYPT = { N: 32768, r: 8, p: 1, keyLength: 32 } as const;

function scryptKey(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolveKey, reject) => scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolveKey(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptKey(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = PASSWORD_HASH.exec(hash);
  if (!match) return false;
  const [, N, r, p, salt, key] = match;
  const expected = Buffer.from(key!, 'base64url');
  const actual = await scryptKey(password, Buffer.from(salt!, 'base64url'), Number(N), Number(r), Number(p), expected.length);
  return timingSafeEqual(actual, expected);
}
