import { describe, expect, it } from 'vitest';
import { SharedLooks } from '../api/console/shared-look.js';

describe('a look shared by live pages', () => {
  it('is taken once per interval for a key however many pages ask, and again once it is older', async () => {
    let clock = 0;
    const looks = new SharedLooks<number>(1_750, () => clock);
    let taken = 0;
    const take = () => Promise.resolve(++taken);
    const pages = await Promise.all(Array.from({ length: 50 }, () => looks.look('Umeå', take)));
    expect(pages.every((n) => n === 1)).toBe(true);
    clock = 1_749;
    expect(await looks.look('Umeå', take)).toBe(1);
    clock = 1_750;
    expect(await looks.look('Umeå', take)).toBe(2);
    expect(taken).toBe(2);
  });

  it('keeps each key apart, and drops looks nobody asked for again', async () => {
    let clock = 0;
    const looks = new SharedLooks<string>(1_000, () => clock);
    expect(await looks.look('Umeå', () => Promise.resolve('umeå'))).toBe('umeå');
    expect(await looks.look('Lund', () => Promise.resolve('lund'))).toBe('lund');
    expect(looks.size).toBe(2);
    clock = 5_000;
    await looks.look('Lund', () => Promise.resolve('lund again'));
    expect(looks.size).toBe(1);
  });

  it('does not keep a failed look: the next page asks again', async () => {
    const looks = new SharedLooks<number>(10_000, () => 0);
    await expect(looks.look('Umeå', () => Promise.reject(new Error('Temporal busy')))).rejects.toThrow('Temporal busy');
    expect(await looks.look('Umeå', () => Promise.resolve(7))).toBe(7);
  });
});
