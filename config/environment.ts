import { z } from 'zod';
import { describeIssues } from '../domain/index.js';

/** Operations a worker keeps in memory between their workflow tasks (workers/worker.ts says what each costs). */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;
/** How long the bridge holds an operation's first answer for the rest of its round (LOS_BRIDGE_BATCH_WINDOW_MS). */
export const DEFAULT_BRIDGE_BATCH_WINDOW_MS = 50;

const HostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464');

/** The engine's configuration, read from the environment once at start and validated. */
export const EngineEnv = z.object({
  TEMPORAL_ADDRESS: HostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).optional(),
  /**
   * This process's machine client at the provider (LOS_OIDC_ISSUER) for a Temporal server that authorises calls with
   * JWTs (the cluster's): the process asks for client-credentials tokens for LOS_TEMPORAL_AUDIENCE and renews them
   * before they expire. Unset: no token is sent (the dev server is open).
   */
  LOS_TEMPORAL_TOKEN_CLIENT_ID: z.string().min(1).optional(),
  LOS_TEMPORAL_TOKEN_CLIENT_SECRET: z.string().min(1).optional(),
  LOS_TEMPORAL_TOKEN_CLIENT_SECRET_FILE: z.string().min(1).optional(),
  /** The Temporal server's JWT audience (its `global.authorization.audience`), the resource the tokens are asked for. */
  LOS_TEMPORAL_AUDIENCE: z.string().min(1).default('urn:los:temporal'),
  /** The CA that signed the Temporal frontend's certificate: given, the connection is TLS. */
  LOS_TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  /** The name the frontend's certificate is checked against, when not TEMPORAL_ADDRESS's host. */
  LOS_TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** One nats:// or tls:// URL, or several comma-separated: the nodes of a cluster, any of which will do. */
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, 'must be a nats:// or tls:// URL, or several separated by commas')
    .default('nats://127.0.0.1:4222'),
  /** The file holding this process's NKEY seed (`SU…`): the worker's or the bridge's identity in the engine account. */
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  /** The CA that signed nats-server's certificate, for a `tls://` NATS_URL with a private CA. */
  NATS_TLS_CA_FILE: z.string().min(1).optional(),
  /** A municipality's own mandate catalogue; the national default when unset. */
  LOS_CATALOGUE: z.string().min(1).optional(),
  /** Prometheus endpoint of the worker (Temporal's own metrics), e.g. 0.0.0.0:9464. */
  METRICS_BIND_ADDRESS: HostPort.optional(),
  /** Health endpoint of the bridge, e.g. 0.0.0.0:8081. */
  HEALTH_BIND_ADDRESS: HostPort.optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /** Operations the worker keeps in memory between their events (about 2 MiB each); the rest are replayed on demand. */
  MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_MAX_CACHED_WORKFLOWS),
  /** How long LOS_OUT keeps an event for its reader: agencies must consume within this many days. */
  LOS_RETENTION_OUT_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** How long LOS_IN keeps an answer (the bridge settles it within seconds). */
  LOS_RETENTION_IN_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Copies of each stream, consumer and key-value bucket in a JetStream cluster (3 in the cluster topology). */
  LOS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** How long a dead letter is kept for an operator. */
  LOS_RETENTION_DEAD_LETTER_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** The most each of LOS_OUT, LOS_IN and LOS_DEAD_LETTER may hold, in MiB. */
  LOS_STREAM_MAX_MIB: z.coerce.number().int().min(16).max(1_048_576).default(1024),
  /**
   * The inbound quota: answers one agency may have stored in LOS_IN on each answer subject before the server
   * refuses more (until the bridge settles them and the sweep erases them). See messaging/jetstream.ts.
   */
  LOS_INBOUND_QUOTA: z.coerce.number().int().min(1).max(10_000_000).default(1_000),
  /**
   * How long the bridge holds an operation's first answer for the rest of its round (agencies answering the same
   * request within milliseconds; through their intakes they reach LOS_IN tens of milliseconds apart) to join it in
   * one update; 0 applies each at once. Adds at most this to an answer's latency.
   */
  LOS_BRIDGE_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_BRIDGE_BATCH_WINDOW_MS),
  /** The bridge reports itself unhealthy when its backlog has only grown for this long. */
  HEALTH_BACKLOG_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /** How often the bridge overwrites acknowledged events and settled answers in the streams (0: never; see messaging/erasure.ts). */
  LOS_STREAM_ERASE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /**
   * How often the erasure reconciliation (a Temporal Schedule the workers keep) destroys the data keys whose erasure is
   * overdue by more than this long: an erasure workflow terminated, cancelled or never run (0: no schedule).
   */
  LOS_ERASURE_RECONCILE_SECONDS: z.coerce.number().int().min(0).max(604_800).default(3_600),
  /** The master key (base64 of 32 bytes; several comma-separated, current first, during a rotation). Never in the repository. */
  LOS_MASTER_KEY: z.string().min(1).optional(),
  /** Or a file holding it, one key per line, current first. */
  LOS_MASTER_KEY_FILE: z.string().min(1).optional(),
  /** Codec server: where it listens, e.g. 0.0.0.0:8234. */
  CODEC_BIND_ADDRESS: HostPort.optional(),
  /** Codec server: https with this certificate and key (PEM files); the Temporal UI passes a person's token to https only. */
  CODEC_TLS_CERT_FILE: z.string().min(1).optional(),
  CODEC_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Codec server: the Temporal UI's origin, the only one CORS answers, e.g. http://127.0.0.1:8233. */
  LOS_UI_ORIGIN: z.string().url().optional(),
  /** The HTTP API: where it listens. */
  LOS_API_HOST: z.string().min(1).default('127.0.0.1'),
  LOS_API_PORT: z.coerce.number().int().min(0).max(65_535).default(4300),
  /** The API's origin as browsers see it (the sign-in callback and the cookies are on it); default http://127.0.0.1:<port>. */
  LOS_API_PUBLIC_URL: z.string().url().optional(),
  /** The API's resource indicator: the audience its access tokens must carry; default <public url>/v1. */
  LOS_API_AUDIENCE: z.string().min(1).optional(),
  /** The OpenID Connect provider's issuer URL (a municipality's own provider, or the embedded default); the API and the codec server trust its tokens. */
  LOS_OIDC_ISSUER: z.string().url().optional(),
  /** The API's client registration at the provider (confidential, authorisation code with PKCE). */
  LOS_OIDC_CLIENT_ID: z.string().min(1).default('los-api'),
  LOS_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  LOS_OIDC_CLIENT_SECRET_FILE: z.string().min(1).optional(),
  /** The scopes the API asks for at sign-in: the provider's scope for the API's resource among them. */
  LOS_OIDC_SCOPES: z.string().min(1).default('openid profile los'),
  /** The public client `los login` uses (device flow); the API only tells it to `los`. */
  LOS_OIDC_CLI_CLIENT_ID: z.string().min(1).default('los-cli'),
  /** The token's claims that carry the role, the municipality and the display name. */
  LOS_OIDC_ROLE_CLAIM: z.string().min(1).default('los_role'),
  LOS_OIDC_MUNICIPALITY_CLAIM: z.string().min(1).default('los_municipality'),
  LOS_OIDC_NAME_CLAIM: z.string().min(1).default('name'),
  /** Signs the session and CSRF cookies (at least 32 characters); every API process of a deployment needs the same. */
  LOS_API_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOS_API_SESSION_SECRET_FILE: z.string().min(1).optional(),
  /** How long a browser session lasts. */
  LOS_API_SESSION_HOURS: z.coerce.number().min(0.01).max(168).default(8),
  /** How long a stopping process may drain (the worker: in-flight activities) before it exits regardless. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
});
export type EngineEnv = z.infer<typeof EngineEnv>;

/** The parsed configuration, or a one-line error naming each bad variable. */
export function readEngineEnv(env: Record<string, string | undefined>): { ok: true; value: EngineEnv } | { ok: false; error: string } {
  const parsed = EngineEnv.safeParse(env);
  if (parsed.success) {
    if (parsed.data.NATS_TLS_CA_FILE && !parsed.data.NATS_URL.startsWith('tls://'))
      return { ok: false, error: 'configuration rejected: NATS_TLS_CA_FILE: given, but NATS_URL is not a tls:// URL' };
    if (parsed.data.LOS_TEMPORAL_TOKEN_CLIENT_ID && !parsed.data.LOS_OIDC_ISSUER)
      return { ok: false, error: 'configuration rejected: LOS_TEMPORAL_TOKEN_CLIENT_ID: given, but LOS_OIDC_ISSUER (the provider to ask for tokens) is not' };
    if (parsed.data.LOS_TEMPORAL_TOKEN_CLIENT_ID && !parsed.data.LOS_TEMPORAL_TOKEN_CLIENT_SECRET && !parsed.data.LOS_TEMPORAL_TOKEN_CLIENT_SECRET_FILE)
      return {
        ok: false,
        error:
          'configuration rejected: LOS_TEMPORAL_TOKEN_CLIENT_ID: given, but neither LOS_TEMPORAL_TOKEN_CLIENT_SECRET nor LOS_TEMPORAL_TOKEN_CLIENT_SECRET_FILE is',
      };
    if (Boolean(parsed.data.CODEC_TLS_CERT_FILE) !== Boolean(parsed.data.CODEC_TLS_KEY_FILE))
      return { ok: false, error: 'configuration rejected: CODEC_TLS_CERT_FILE and CODEC_TLS_KEY_FILE: give both or neither' };
    return { ok: true, value: parsed.data };
  }
  // Values are not echoed: a variable may hold a secret.
  return { ok: false, error: `configuration rejected: ${describeIssues(parsed.error)}` };
}
