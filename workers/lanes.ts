/**
 * One lane per key, worked in order; up to `concurrency` lanes at once. The bridge keys answers by operation:
 * one operation's answers are applied one after another, in the order they arrived, while other operations go
 * ahead in their own lanes, so a burst on one cannot hold up another. Whatever has queued up in a lane while
 * its head was worked on is taken next as one batch (at most `maxBatch`, in order). With a `windowMs`, a lane
 * that was empty holds its first item that long before working it, so the rest of a burst (the answers of one
 * round, sent by several agencies within milliseconds of each other) goes with it in the same batch.
 */
export class OperationLanes<T> {
  private readonly lanes = new Map<string, T[]>();
  private readonly waiting: string[] = [];
  private active = 0;
  private stopping = false;
  private readonly idle = new Set<() => void>();

  /**
   * @param work settles the front of a lane (one item, or the batch that queued up behind the last one) and says
   * how many of it, from the front, are done with; fewer than all leaves the rest (and the rest of the lane)
   * unsettled, because the lanes are stopping.
   * @param windowMs how long a lane's first item waits for others to join its batch; 0 works it at once.
   */
  constructor(
    private readonly concurrency: number,
    private readonly work: (batch: T[]) => Promise<number>,
    private readonly maxBatch = 1,
    private readonly windowMs = 0,
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
      if (this.windowMs > 0 && lane.length < this.maxBatch) await new Promise((resolveLater) => setTimeout(resolveLater, this.windowMs));
      while (lane.length > 0 && !this.stopping) {
        const batch = lane.slice(0, this.maxBatch);
        let done = 0;
        try {
          done = await this.work(batch);
        } catch {
          done = 0;
        }
        lane.splice(0, done);
        if (done < batch.length) break;
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
