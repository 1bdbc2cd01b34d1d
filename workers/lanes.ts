/**
 * One lane per key, worked in order; up to `concurrency` lanes at once. The bridge keys answers by operation:
 * one operation's answers are applied one after another, in the order they arrived, while other operations go
 * ahead in their own lanes, so a burst on one cannot hold up another.
 */
export class OperationLanes<T> {
  private readonly lanes = new Map<string, T[]>();
  private readonly waiting: string[] = [];
  private active = 0;
  private stopping = false;
  private readonly idle = new Set<() => void>();

  /**
   * @param work settles the head of a lane: true when it is done with, false to leave it (and the rest of
   * the lane) unsettled because the lanes are stopping.
   */
  constructor(
    private readonly concurrency: number,
    private readonly work: (item: T) => Promise<boolean>,
  ) {}

  push(key: string, item: T): void {
    const lane = this.lanes.get(key);
    if (lane) {
      lane.push(item);
      return;
    }
    this.lanes.set(key, [item]);
    if (this.stopping) return;
    if (this.active < this.concurrency) void this.drain(key);
    else this.waiting.push(key);
  }

  /** Items taken and not yet settled, the heads being worked on included. */
  size(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.length;
    return n;
  }

  forEachHeld(visit: (item: T) => void): void {
    for (const lane of this.lanes.values()) lane.forEach(visit);
  }

  /** Lets the heads being worked on finish, starts nothing new, and returns what is left, each lane in order. */
  async stop(): Promise<T[]> {
    this.stopping = true;
    if (this.active > 0) await new Promise<void>((resolveIdle) => this.idle.add(resolveIdle));
    const left = [...this.lanes.values()].flat();
    this.lanes.clear();
    return left;
  }

  private async drain(key: string): Promise<void> {
    this.active++;
    const lane = this.lanes.get(key)!;
    try {
      while (lane.length > 0 && !this.stopping) {
        let done = false;
        try {
          done = await this.work(lane[0]!);
        } catch {
          done = false;
        }
        if (!done) break;
        lane.shift();
      }
      if (lane.length === 0) this.lanes.delete(key);
    } finally {
      this.active--;
      const next = this.stopping ? undefined : this.waiting.shift();
      if (next !== undefined) void this.drain(next);
      else if (this.active === 0) for (const resolveIdle of this.idle) resolveIdle();
    }
  }
}
