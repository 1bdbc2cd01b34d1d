/**
 * One look shared by every live page that watches the same thing: the decisions due of one municipality are counted
 * in visibility once per poll interval in this process, however many coordinators of it have the page open. Without
 * it each open page cost Temporal's visibility two calls every two seconds, and a few hundred open pages would use up
 * the frontend's visibility rate (README, "Running at scale") that the pages themselves need.
 */
export class SharedLooks<T> {
  private readonly looks = new Map<string, { at: number; result: Promise<T> }>();

  /** @param freshMs a look younger than this is shared; an older one is taken again. */
  constructor(
    private readonly freshMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The look at `key` taken less than `freshMs` ago (or still under way), else a new one. A failed look is not kept. */
  look(key: string, take: () => Promise<T>): Promise<T> {
    const at = this.now();
    const kept = this.looks.get(key);
    if (kept && at - kept.at < this.freshMs) return kept.result;
    // Looks that nobody asked for again are dropped, so the map holds only what is being watched.
    for (const [other, look] of this.looks) if (at - look.at >= this.freshMs) this.looks.delete(other);
    const result = take();
    this.looks.set(key, { at, result });
    result.catch(() => {
      if (this.looks.get(key)?.result === result) this.looks.delete(key);
    });
    return result;
  }

  /** How many looks are kept (for the tests). */
  get size(): number {
    return this.looks.size;
  }
}
