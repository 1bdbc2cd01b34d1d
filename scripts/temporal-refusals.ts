import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { AccessRecord } from '../vault/index.js';

/**
 * The Temporal server's authorisation refusals, carried to the engine's security log (LOS_AUDIT, the records that name
 * no operation: `los audit --security`, the console's access log for auditors). The server says them in two places:
 *
 * - its log (JSON lines) has an "Authorization error" for every token its claim mapper rejects (malformed, expired,
 *   signed by a foreign key, `alg: none`, for another audience), with the reason but neither the method nor the caller;
 * - its Prometheus metrics count in `service_errors_unauthorized` every call the authoriser denies (no token, or a token
 *   whose permissions do not allow the call, e.g. an operator's signal), which the server does not log at all.
 *
 * The forwarder tails the one and polls the other, and writes one record per refusal. Neither carries a token.
 */

export interface TemporalRefusal {
  at: string;
  reason: string;
}

const AUTHORIZATION_ERROR = 'Authorization error';
/** Anything shaped like a JWT (or its first segments), should a reason ever quote one. */
const TOKEN_LIKE = /eyJ[\w-]*(?:\.[\w-]*){0,2}/g;
const REASON_MAX = 200;

/** The server's "Authorization error" lines among these log lines, each with its time and reason (no token in it). */
export function refusalsInLog(lines: readonly string[]): TemporalRefusal[] {
  const refusals: TemporalRefusal[] = [];
  for (const line of lines) {
    if (!line.includes(AUTHORIZATION_ERROR)) continue;
    let entry: { msg?: unknown; ts?: unknown; error?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg !== AUTHORIZATION_ERROR) continue;
    const reason = typeof entry.error === 'string' && entry.error.trim() ? entry.error.replace(TOKEN_LIKE, '[token]').slice(0, REASON_MAX) : 'no reason given';
    refusals.push({ at: typeof entry.ts === 'string' ? entry.ts : new Date().toISOString(), reason });
  }
  return refusals;
}

/** The server's count of calls its authoriser denied: the sum of every `service_errors_unauthorized` series (0 if none yet). */
export function unauthorizedCount(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const match = /^service_errors_unauthorized(?:\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

export const TEMPORAL_TOKEN_REFUSED = 'refused by the Temporal server: the token was rejected';
export const TEMPORAL_CALL_DENIED = 'refused by the Temporal server: no token, or the token’s permissions do not allow the call (e.g. an operator’s write)';

export function tokenRefusalRecord(refusal: TemporalRefusal): AccessRecord {
  return {
    at: refusal.at,
    who: 'unauthenticated',
    role: 'none',
    action: 'temporal',
    payloads: [],
    allowed: false,
    detail: `${TEMPORAL_TOKEN_REFUSED} (${refusal.reason})`,
    asked: 'a Temporal frontend call (the server logs neither the method nor the caller’s address)',
  };
}

export function deniedCallRecord(at: string): AccessRecord {
  return {
    at,
    who: 'unknown',
    role: 'none',
    action: 'temporal',
    payloads: [],
    allowed: false,
    detail: TEMPORAL_CALL_DENIED,
    asked: 'a Temporal frontend call (the server counts these refusals but names neither the method nor the caller)',
  };
}

export interface RefusalForwarder {
  /** One round now: what the log and the metrics hold since the last. */
  poll(): Promise<void>;
  /** How far it has come: the log's offset read to, and the server's count of denied calls forwarded. */
  position(): RefusalPosition;
  /** Stops after a last round. */
  stop(): Promise<void>;
}

/**
 * Between rounds. Each reads the server's whole metrics page, so not every second: a refusal reaches the security log
 * within this (plus the round's own time).
 */
const POLL_MS = 5_000;

/** At most this many records for one round's growth of the counter; more are summed up in one record. */
const DENIED_RECORDS_PER_ROUND = 100;

export interface RefusalPosition {
  offset: number;
  denied: number;
}

export function forwardTemporalRefusals(options: {
  logFile: string;
  /** The server's Prometheus endpoint, e.g. http://127.0.0.1:9090/metrics. */
  metricsUrl?: string;
  record(entry: AccessRecord): Promise<void>;
  log(line: string): void;
  /** Where in the log to start: its size before the server started (a restarted cluster's older refusals were forwarded by the last run). */
  from: number;
  /** The server's count of denied calls already forwarded (a restarted forwarder's last position). @default 0 */
  denied?: number;
  /** @default 5000 */
  intervalMs?: number;
}): RefusalForwarder {
  let offset = options.from;
  let partial = '';
  let denied = options.denied ?? 0;
  let running: Promise<void> | undefined;
  const write = async (entry: AccessRecord) =>
    options.record(entry).catch((err: unknown) => options.log(`a Temporal refusal was not written to the security log: ${(err as Error).message}`));

  const readLog = async () => {
    const size = sizeOf(options.logFile);
    if (size < offset) offset = 0; // the file was replaced
    if (size === offset) return;
    const fd = openSync(options.logFile, 'r');
    const buffer = Buffer.alloc(size - offset);
    try {
      readSync(fd, buffer, 0, buffer.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = size;
    const lines = (partial + buffer.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const refusal of refusalsInLog(lines)) await write(tokenRefusalRecord(refusal));
  };

  const readMetrics = async () => {
    if (!options.metricsUrl) return;
    // The server is (re)starting, or too busy to answer in time: its count is read next round, and nothing is lost.
    const text = await fetch(options.metricsUrl, { signal: AbortSignal.timeout(10_000) })
      .then((response) => (response.ok ? response.text() : undefined))
      .catch(() => undefined);
    if (text === undefined) return;
    const count = unauthorizedCount(text);
    // A restarted server counts from 0 again.
    if (count < denied) denied = 0;
    const grown = count - denied;
    denied = count;
    const at = new Date().toISOString();
    for (let i = 0; i < Math.min(grown, DENIED_RECORDS_PER_ROUND); i++) await write(deniedCallRecord(at));
    if (grown > DENIED_RECORDS_PER_ROUND) {
      const rest = deniedCallRecord(at);
      await write({ ...rest, detail: `${rest.detail}; ${grown - DENIED_RECORDS_PER_ROUND} more in this round` });
    }
  };

  const poll = () => {
    // One round at a time: a slow one is waited for, never overlapped.
    running ??= (async () => {
      try {
        await readLog();
        await readMetrics();
      } catch (err) {
        options.log(`reading the Temporal server's refusals failed: ${(err as Error).message}`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void poll(), options.intervalMs ?? POLL_MS);
  timer.unref();
  return {
    poll,
    position: () => ({ offset, denied }),
    async stop() {
      clearInterval(timer);
      await running;
      await poll();
    },
  };
}

export function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
