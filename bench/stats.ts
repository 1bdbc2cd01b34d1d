/** Summaries of measured samples. Figures are reported as measured; nothing here judges them. */

export interface Percentiles {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles, so every reported value is one that was actually measured. */
export function percentiles(samples: readonly number[]): Percentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const sum = sorted.reduce((total, value) => total + value, 0);
  return { count: sorted.length, min: sorted[0]!, p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[sorted.length - 1]!, mean: sum / sorted.length };
}

export interface Spread {
  count: number;
  min: number;
  mean: number;
  max: number;
}

export function spread(samples: readonly number[]): Spread | undefined {
  if (samples.length === 0) return undefined;
  return { count: samples.length, min: Math.min(...samples), mean: samples.reduce((a, b) => a + b, 0) / samples.length, max: Math.max(...samples) };
}

export const round = (value: number, digits = 1): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export const mib = (bytes: number): number => round(bytes / (1024 * 1024), 1);

export const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));
