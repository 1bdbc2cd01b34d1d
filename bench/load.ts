import { performance } from 'node:perf_hooks';
import { sleep } from './stats.js';

/**
 * Two ways to offer load, shared by the LOS operations and the baseline workflow so their figures are
 * computed the same way. Times are performance.now() milliseconds.
 */

export interface Completion {
  ok: boolean;
  startedAt: number;
  finishedAt: number;
  error?: string;
}

export interface LoadResult<S extends Completion> {
  mode: 'open' | 'closed';
  samples: S[];
  startedAt: number;
  /** No operation was started after this. */
  arrivalsEndedAt: number;
  /** The last operation finished. */
  drainedAt: number;
  completed: number;
  failed: number;
  /**
   * Steady-state completion rate: operations that finished between the first completion and the end of
   * arrivals, over that interval. The ramp-up (no operation can finish sooner than one lifecycle) and the
   * drain (no new arrivals) are left out, so short and long runs measure the same thing. When that window
   * holds too few completions (a phase not much longer than one lifecycle), it falls back to all
   * completions over the whole phase, ramp-up and drain included, which understates the rate.
   */
  throughputPerSecond: number;
  throughputMethod: 'steady window' | 'whole phase';
  windowSeconds: number;
}

/** Fewer completions than this in the steady window say more about batching than about rate. */
const MIN_IN_WINDOW = 10;

function summarise<S extends Completion>(mode: LoadResult<S>['mode'], samples: S[], startedAt: number, arrivalsEndedAt: number): LoadResult<S> {
  const done = samples.filter((s) => s.ok);
  const drainedAt = Math.max(startedAt, ...samples.map((s) => s.finishedAt));
  const firstDone = Math.min(...done.map((s) => s.finishedAt));
  const windowMs = arrivalsEndedAt - firstDone;
  const inWindow = done.filter((s) => s.finishedAt > firstDone && s.finishedAt <= arrivalsEndedAt).length;
  const steady = inWindow >= MIN_IN_WINDOW && windowMs > 0;
  const wholeMs = drainedAt - startedAt;
  return {
    mode,
    samples,
    startedAt,
    arrivalsEndedAt,
    drainedAt,
    completed: done.length,
    failed: samples.length - done.length,
    throughputPerSecond: steady ? inWindow / (windowMs / 1000) : wholeMs > 0 ? done.length / (wholeMs / 1000) : 0,
    throughputMethod: steady ? 'steady window' : 'whole phase',
    windowSeconds: (steady ? windowMs : wholeMs) / 1000,
  };
}

/** Operations arrive at a fixed rate whether or not earlier ones have finished, as tips do. */
export async function openLoop<S extends Completion>(
  ratePerSecond: number,
  durationSeconds: number,
  runOne: (index: number) => Promise<S>,
): Promise<LoadResult<S>> {
  const total = Math.max(1, Math.round(ratePerSecond * durationSeconds));
  const startedAt = performance.now();
  const running: Promise<S>[] = [];
  for (let index = 0; index < total; index++) {
    const wait = startedAt + (index * 1000) / ratePerSecond - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(runOne(index));
  }
  const arrivalsEndedAt = Math.max(performance.now(), startedAt + durationSeconds * 1000);
  return summarise('open', await Promise.all(running), startedAt, arrivalsEndedAt);
}

/** `concurrency` operations in flight at all times: each loop starts the next as soon as its last one ends. */
export async function closedLoop<S extends Completion>(
  concurrency: number,
  durationSeconds: number,
  runOne: (index: number) => Promise<S>,
): Promise<LoadResult<S>> {
  const startedAt = performance.now();
  const endAt = startedAt + durationSeconds * 1000;
  let next = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    const samples: S[] = [];
    while (performance.now() < endAt) {
      const sample = await runOne(next++);
      samples.push(sample);
      // A failing stack fails fast; do not spin on it.
      if (!sample.ok) await sleep(500);
    }
    return samples;
  });
  const samples = (await Promise.all(loops)).flat();
  return summarise('closed', samples, startedAt, endAt);
}
