import { z } from 'zod';
import { describeIssues } from '../domain/index.js';

const HostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464');

/** The engine's configuration, read from the environment once at start and validated. */
export const EngineEnv = z.object({
  TEMPORAL_ADDRESS: HostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).optional(),
  NATS_URL: z.string().regex(/^(nats|tls):\/\/.+/, 'must be a nats:// or tls:// URL').default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** A municipality's own mandate catalogue; the national default when unset. */
  LOS_CATALOGUE: z.string().min(1).optional(),
  /** Prometheus endpoint of the worker (Temporal's own metrics), e.g. 0.0.0.0:9464. */
  METRICS_BIND_ADDRESS: HostPort.optional(),
  /** Health endpoint of the bridge, e.g. 0.0.0.0:8081. */
  HEALTH_BIND_ADDRESS: HostPort.optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /** Operations the worker keeps in memory between their events (about 2 MiB each); the rest are replayed on demand. */
  MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(250),
  /** The master key (base64 of 32 bytes; several comma-separated, current first, during a rotation). Never in the repository. */
  LOS_MASTER_KEY: z.string().min(1).optional(),
  /** Or a file holding it, one key per line, current first. */
  LOS_MASTER_KEY_FILE: z.string().min(1).optional(),
  /** Codec server: where it listens, e.g. 0.0.0.0:8234. */
  CODEC_BIND_ADDRESS: HostPort.optional(),
  /** Codec server: the Temporal UI's origin, the only one CORS answers, e.g. http://127.0.0.1:8233. */
  LOS_UI_ORIGIN: z.string().url().optional(),
  /** Codec server and `los show`: the token issuer's public key (JWK), inline or as a file. */
  LOS_TOKEN_ISSUER_JWK: z.string().min(1).optional(),
  LOS_TOKEN_ISSUER_JWK_FILE: z.string().min(1).optional(),
  /** How long a stopping worker lets in-flight activities finish. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
});
export type EngineEnv = z.infer<typeof EngineEnv>;

/** The parsed configuration, or a one-line error naming each bad variable. */
export function readEngineEnv(env: Record<string, string | undefined>): { ok: true; value: EngineEnv } | { ok: false; error: string } {
  const parsed = EngineEnv.safeParse(env);
  if (parsed.success) {
    if (parsed.data.NATS_USER && !parsed.data.NATS_PASSWORD) return { ok: false, error: 'configuration rejected: NATS_PASSWORD: required when NATS_USER is set' };
    return { ok: true, value: parsed.data };
  }
  // Values are not echoed: a variable may hold a secret.
  return { ok: false, error: `configuration rejected: ${describeIssues(parsed.error)}` };
}
