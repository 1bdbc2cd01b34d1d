import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where a request's time went, for the `Server-Timing` response header (W3C Server Timing): how long checking who
 * is asking took, how long the calls into Temporal took in all, and unsealing with its access-log record. A browser's developer tools and the console
 * bench read it; it names steps and durations only, never what was read.
 */
export interface RequestTimings {
  startedAt: number;
  /** Milliseconds per step, summed over the step's calls, and how many calls. */
  steps: Map<TimedStep, { ms: number; calls: number }>;
}

/** Checking who asks; reading an operation's key record (its municipality); calls into Temporal; unsealing what is read and writing it on the access log. */
export type TimedStep = 'auth' | 'keys' | 'temporal' | 'unseal';

const current = new AsyncLocalStorage<RequestTimings>();

/** Runs the rest of a request inside its own timings (from the first hook, so every later step is counted). */
export function withRequestTimings(next: () => void): void {
  current.run({ startedAt: performance.now(), steps: new Map() }, next);
}

/** Runs one step of the request being served, and counts its time (outside a request, only runs it). */
export async function timedStep<T>(step: TimedStep, work: () => Promise<T>): Promise<T> {
  const timings = current.getStore();
  if (!timings) return work();
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    const entry = timings.steps.get(step) ?? { ms: 0, calls: 0 };
    entry.ms += performance.now() - t0;
    entry.calls += 1;
    timings.steps.set(step, entry);
  }
}

/** The header's value for the request being served: each step, then the total so far (`app`). */
export function serverTimingHeader(): string | undefined {
  const timings = current.getStore();
  if (!timings) return undefined;
  const parts = [...timings.steps].map(([step, { ms, calls }]) => `${step};dur=${ms.toFixed(1)};desc="${calls} call${calls === 1 ? '' : 's'}"`);
  parts.push(`app;dur=${(performance.now() - timings.startedAt).toFixed(1)}`);
  return parts.join(', ');
}

/**
 * A `Server-Timing` header read back, as a client (the console bench, the tests) reads it:
 * `auth;dur=1.2;desc="1 call", app;dur=3.4` → { auth: { ms: 1.2, desc: '1 call' }, app: { ms: 3.4 } }.
 */
export function parseServerTiming(header: string | null | undefined): Record<string, { ms: number; desc?: string }> {
  const steps: Record<string, { ms: number; desc?: string }> = {};
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const param = (key: string) =>
      params
        .map((p) => p.trim())
        .find((p) => p.startsWith(`${key}=`))
        ?.slice(key.length + 1);
    const dur = param('dur');
    const desc = param('desc')?.replace(/^"(.*)"$/, '$1');
    if (name && dur !== undefined && /^[\d.]+$/.test(dur)) steps[name] = { ms: Number(dur), ...(desc !== undefined ? { desc } : {}) };
  }
  return steps;
}
