import { describe, expect, it } from 'vitest';
import { OperationLanes } from '../../workers/lanes.js';

const tick = () => new Promise((resolveTick) => setTimeout(resolveTick, 0));

/** A lane worker that settles when told to, recording each batch it was handed. */
function recorder() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const work = async (batch: string[]) => {
    batches.push([...batch]);
    await new Promise<void>((open) => gates.push(open));
    return batch.length;
  };
  const release = async () => {
    gates.shift()?.();
    await tick();
  };
  return { batches, work, release };
}

describe('operation lanes', () => {
  it('hands a lane its head alone, then what queued up behind it as one batch, in order and at most maxBatch', async () => {
    const { batches, work, release } = recorder();
    const lanes = new OperationLanes<string>(4, work, 3);
    lanes.push('op', 'a');
    await tick();
    for (const item of ['b', 'c', 'd', 'e']) lanes.push('op', item);
    await release();
    await release();
    await release();
    expect(batches).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
    expect(lanes.size()).toBe(0);
  });

  it("with a window, holds a lane's first item that long so the rest of a burst goes in the same batch", async () => {
    const { batches, work, release } = recorder();
    const lanes = new OperationLanes<string>(4, work, 3, 40);
    lanes.push('op', 'a');
    await tick();
    lanes.push('op', 'b');
    lanes.push('op', 'c');
    lanes.push('other', 'x');
    expect(batches).toEqual([]);
    await new Promise((resolveLater) => setTimeout(resolveLater, 60));
    expect(batches).toEqual([['a', 'b', 'c'], ['x']]);
    // What comes after the window waits for the batch being worked on, as without one.
    lanes.push('op', 'd');
    await release();
    expect(batches).toEqual([['a', 'b', 'c'], ['x'], ['d']]);
    await release();
    await release();
    expect(lanes.size()).toBe(0);
  });

  it('keeps what a batch left unsettled at the front of its lane', async () => {
    const seen: string[][] = [];
    let calls = 0;
    const lanes = new OperationLanes<string>(
      1,
      async (batch) => {
        seen.push([...batch]);
        calls++;
        return calls === 2 ? 1 : batch.length; // the second batch settles only its first item (the lanes are stopping)
      },
      8,
    );
    lanes.push('op', 'a');
    for (const item of ['b', 'c', 'd']) lanes.push('op', item);
    await tick();
    await tick();
    expect(seen).toEqual([['a'], ['b', 'c', 'd']]);
    expect(await lanes.stop()).toEqual(['c', 'd']);
  });

  it('works other operations in their own lanes while one lane is busy', async () => {
    const { batches, work, release } = recorder();
    const lanes = new OperationLanes<string>(2, work, 8);
    lanes.push('busy', 'b1');
    lanes.push('busy', 'b2');
    lanes.push('other', 'o1');
    await tick();
    expect(batches).toEqual([['b1'], ['o1']]);
    await release();
    await release();
    expect(batches).toEqual([['b1'], ['o1'], ['b2']]);
    await release();
  });

  it('gives a free worker to a group waiting its turn before another lane of the group that holds every worker', async () => {
    const { batches, work, release } = recorder();
    // Items are "<group>:<name>"; the flooder holds both workers with lanes of its own when the other arrives.
    const lanes = new OperationLanes<string>(2, work, 1, 0, (item) => item.split(':')[0]!);
    for (let i = 0; i < 6; i++) lanes.push(`flood-${i}`, `flooder:${i}`);
    await tick();
    lanes.push('mine', 'other:answer');
    expect(batches).toEqual([['flooder:0'], ['flooder:1']]);
    await release();
    // The freed worker goes to the other group, not to the flooder's next lane, queued long before.
    expect(batches.at(-1)).toEqual(['other:answer']);
    while (lanes.size() > 0) await release();
    expect(batches.flat().filter((item) => item.startsWith('flooder'))).toEqual(['flooder:0', 'flooder:1', 'flooder:2', 'flooder:3', 'flooder:4', 'flooder:5']);
  });

  it('lets a long lane yield between batches while others wait, so a flood on one operation holds no worker for long', async () => {
    const { batches, work, release } = recorder();
    const lanes = new OperationLanes<string>(1, work, 2, 0, (item) => item.split(':')[0]!);
    lanes.push('flooded', 'flooder:0');
    await tick();
    for (let i = 1; i <= 6; i++) lanes.push('flooded', `flooder:${i}`);
    lanes.push('mine', 'other:answer');
    await release();
    // After its first batch the flooded lane goes to the back: the other agency's answer is next.
    expect(batches).toEqual([['flooder:0'], ['other:answer']]);
    while (lanes.size() > 0) await release();
    // Its own order is kept.
    expect(batches.slice(2)).toEqual([
      ['flooder:1', 'flooder:2'],
      ['flooder:3', 'flooder:4'],
      ['flooder:5', 'flooder:6'],
    ]);
  });

  it('counts what it holds per group', () => {
    const lanes = new OperationLanes<string>(
      1,
      () => new Promise<number>(() => undefined),
      1,
      0,
      (item) => item.split(':')[0]!,
    );
    lanes.push('a', 'x:1');
    lanes.push('a', 'x:2');
    lanes.push('b', 'y:1');
    expect(Object.fromEntries(lanes.sizeByGroup())).toEqual({ x: 2, y: 1 });
  });

  it('keeps a group to maxPerGroup lanes at once even with workers to spare, and gives the rest to others at once', async () => {
    const { batches, work, release } = recorder();
    const lanes = new OperationLanes<string>(8, work, 1, 0, (item) => item.split(':')[0]!, 2);
    for (let i = 0; i < 5; i++) lanes.push(`flood-${i}`, `flooder:${i}`);
    await tick();
    expect(batches).toEqual([['flooder:0'], ['flooder:1']]);
    lanes.push('mine', 'other:answer');
    expect(batches.at(-1)).toEqual(['other:answer']);
    while (lanes.size() > 0) await release();
    expect(batches).toHaveLength(6);
  });
});
