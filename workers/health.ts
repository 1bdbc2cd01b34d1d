/**
 * The bridge's health as an orchestrator sees it: unhealthy while nats-server is out of reach, or while the
 * answers waiting for it keep growing (the bridge is falling behind, whatever the reason).
 */
export interface BacklogSample {
  atMs: number;
  /** Answers stored in LOS_IN and not yet settled by the bridge. */
  backlog: number;
}

/**
 * Pure: whether the backlog has grown without a single fall over the last `windowMs`. A backlog that stays
 * level or shrinks at any point is being worked off; one that only rises for that long is not.
 */
export function backlogKeepsGrowing(samples: readonly BacklogSample[], windowMs: number): boolean {
  const last = samples.at(-1);
  if (!last) return false;
  const window = samples.filter((s) => s.atMs >= last.atMs - windowMs);
  const first = window[0]!;
  // The samples must reach back over (nearly) the whole window before growth can be called lasting.
  if (last.atMs - first.atMs < windowMs * 0.9 || last.backlog <= first.backlog) return false;
  return window.every((s, i) => i === 0 || s.backlog >= window[i - 1]!.backlog);
}

export interface HealthReport {
  healthy: boolean;
  nats: 'connected' | 'disconnected';
  backlog: number | null;
  backlogGrowing: boolean;
}

export class BacklogMonitor {
  private readonly samples: BacklogSample[] = [];
  constructor(private readonly windowMs: number) {}

  record(sample: BacklogSample): void {
    this.samples.push(sample);
    while (this.samples.length > 2 && this.samples[1]!.atMs < sample.atMs - this.windowMs) this.samples.shift();
  }

  report(natsConnected: boolean): HealthReport {
    const growing = backlogKeepsGrowing(this.samples, this.windowMs);
    return {
      healthy: natsConnected && !growing,
      nats: natsConnected ? 'connected' : 'disconnected',
      backlog: this.samples.at(-1)?.backlog ?? null,
      backlogGrowing: growing,
    };
  }
}
