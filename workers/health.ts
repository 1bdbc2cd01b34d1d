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
  /**
   * Answers the bridge holds unsettled, per agency, and whether that has only grown over the window: a flooding
   * agency shows here while the others' stay near 0. Agencies with nothing held and no history are left out.
   */
  agencies?: Record<string, { backlog: number; growing: boolean }>;
}

/** One BacklogMonitor per agency, fed with what the bridge holds per agency. */
export class AgencyBacklogs {
  private readonly monitors = new Map<string, BacklogMonitor>();
  constructor(private readonly windowMs: number) {}

  record(atMs: number, held: Record<string, number>): void {
    for (const agency of Object.keys(held)) if (!this.monitors.has(agency)) this.monitors.set(agency, new BacklogMonitor(this.windowMs));
    for (const [agency, monitor] of this.monitors) monitor.record({ atMs, backlog: held[agency] ?? 0 });
  }

  report(): NonNullable<HealthReport['agencies']> {
    const agencies: NonNullable<HealthReport['agencies']> = {};
    for (const [agency, monitor] of [...this.monitors].sort(([a], [b]) => a.localeCompare(b))) {
      const { backlog, backlogGrowing } = monitor.report(true);
      agencies[agency || 'no_agency'] = { backlog: backlog ?? 0, growing: backlogGrowing };
    }
    return agencies;
  }
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
