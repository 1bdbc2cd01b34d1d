/**
 * One lane per key, worked in order; up to `concurrency` lanes at once. The bridge keys answers by operation:
 * one operation's answers are applied one after another, in the order they arrived, while other operations go
 * ahead in their own lanes, so a burst on one cannot hold up another. Whatever has queued up in a lane while
 * its head was worked on is taken next as one batch (at most `maxBatch`, in order). With a `windowMs`, a lane
 * that was empty holds its first item that long before working it, so the rest of a burst (the answers of one
 * round, sent by several agencies within milliseconds of each other) goes with it in the same batch.
 *
 * Fair share between groups (the bridge's are agencies): a lane belongs to the group of the item that opened it,
 * lanes waiting for a worker queue up per group, and a free worker goes to the next group in turn, never to a
 * group that already holds its share (the workers divided by the groups that have work, and at most `maxPerGroup`:
 * what one group may have in flight downstream at once, however idle the others are). A lane that has worked
 * one batch while others wait goes to the back of its group's queue, so no group holds a worker for a long lane
 * (a flood on one operation) while another group waits.
 */
export class OperationLanes<T> {
  private readonly lanes = new Map<string, { items: T[]; group: string; opened: boolean }>();
  /** Lane keys waiting for a worker, per group; the Map's order is the groups' turn. */
  private readonly waiting = new Map<string, string[]>();
  private readonly activeByGroup = new Map<string, number>();
  private active = 0;
  private stopping = false;
  private readonly idle = new Set<() => void>();

  /**
   * @param work settles the front of a lane (one item, or the batch that queued up behind the last one) and says
   * how many of it, from the front, are done with; fewer than all leaves the rest (and the rest of the lane)
   * unsettled, because the lanes are stopping.
   * @param windowMs how long a lane's first item waits for others to join its batch; 0 works it at once.
   * @param groupOf whose share an item's lane counts against; all items in one group by default.
   * @param maxPerGroup lanes one group may have worked at once, even with workers to spare.
   */
  constructor(
    private readonly concurrency: number,
    private readonly work: (batch: T[]) => Promise<number>,
    private readonly maxBatch = 1,
    private readonly windowMs = 0,
    private readonly groupOf: (item: T) => string = () => '',
    private readonly maxPerGroup = Number.POSITIVE_INFINITY,
  ) {}

  push(key: string, item: T): void {
    const lane = this.lanes.get(key);
    if (lane) {
      lane.items.push(item);
      return;
    }
    this.lanes.set(key, { items: [item], group: this.groupOf(item), opened: false });
    this.enqueue(key);
  }

  /** Items taken and not yet settled, the heads being worked on included. */
  size(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.items.length;
    return n;
  }

  /** Items taken and not yet settled, per group. */
  sizeByGroup(): Map<string, number> {
    const sizes = new Map<string, number>();
    for (const lane of this.lanes.values()) sizes.set(lane.group, (sizes.get(lane.group) ?? 0) + lane.items.length);
    return sizes;
  }

  forEachHeld(visit: (item: T) => void): void {
    for (const lane of this.lanes.values()) lane.items.forEach(visit);
  }

  /** Lets the heads being worked on finish, starts nothing new, and returns what is left, each lane in order. */
  async stop(): Promise<T[]> {
    this.stopping = true;
    if (this.active > 0) await new Promise<void>((resolveIdle) => this.idle.add(resolveIdle));
    const left = [...this.lanes.values()].flatMap((lane) => lane.items);
    this.lanes.clear();
    this.waiting.clear();
    return left;
  }

  private enqueue(key: string): void {
    const group = this.lanes.get(key)!.group;
    const queue = this.waiting.get(group);
    if (queue) queue.push(key);
    else this.waiting.set(group, [key]);
    this.startNext();
  }

  /** Starts waiting lanes while workers are free, taking the groups in turn and each only up to its share. */
  private startNext(): void {
    while (!this.stopping && this.active < this.concurrency && this.waiting.size > 0) {
      const busyGroups = new Set([...this.waiting.keys(), ...[...this.activeByGroup].filter(([, n]) => n > 0).map(([group]) => group)]);
      const share = Math.min(this.maxPerGroup, Math.max(1, Math.ceil(this.concurrency / busyGroups.size)));
      const group = [...this.waiting.keys()].find((g) => (this.activeByGroup.get(g) ?? 0) < share);
      if (group === undefined) return;
      const queue = this.waiting.get(group)!;
      const key = queue.shift()!;
      // The group goes to the back of the turn.
      this.waiting.delete(group);
      if (queue.length > 0) this.waiting.set(group, queue);
      void this.drain(key);
    }
  }

  private async drain(key: string): Promise<void> {
    const lane = this.lanes.get(key)!;
    this.active++;
    this.activeByGroup.set(lane.group, (this.activeByGroup.get(lane.group) ?? 0) + 1);
    let yielded = false;
    try {
      if (!lane.opened && this.windowMs > 0 && lane.items.length < this.maxBatch) await new Promise((resolveLater) => setTimeout(resolveLater, this.windowMs));
      lane.opened = true;
      while (lane.items.length > 0 && !this.stopping) {
        const batch = lane.items.slice(0, this.maxBatch);
        let done = 0;
        try {
          done = await this.work(batch);
        } catch {
          done = 0;
        }
        lane.items.splice(0, done);
        if (done < batch.length) break;
        // Others are waiting for a worker: this lane's next batch waits its turn behind them.
        if (lane.items.length > 0 && this.waiting.size > 0) {
          yielded = true;
          break;
        }
      }
      if (lane.items.length === 0) this.lanes.delete(key);
    } finally {
      this.active--;
      const left = (this.activeByGroup.get(lane.group) ?? 1) - 1;
      if (left > 0) this.activeByGroup.set(lane.group, left);
      else this.activeByGroup.delete(lane.group);
      if (yielded && !this.stopping) this.enqueue(key);
      else this.startNext();
      if (this.active === 0 && (this.stopping || this.waiting.size === 0)) for (const resolveIdle of this.idle) resolveIdle();
    }
  }
}
