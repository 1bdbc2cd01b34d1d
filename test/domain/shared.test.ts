import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { shared } from '../../domain/shared.js';

describe('shared schemas (domain/shared.ts)', () => {
  it('builds a schema once and hands the same one to every later caller with the same definition', () => {
    let builds = 0;
    // The sandbox evaluates a module again per operation: the same source, a new closure each time.
    const moduleBody = () => () => {
      builds += 1;
      return z.object({ n: z.number() });
    };
    const first = shared('test.sameDefinition', moduleBody());
    const second = shared('test.sameDefinition', moduleBody());
    expect(second).toBe(first);
    expect(builds).toBe(1);
    expect(second.safeParse({ n: 1 }).success).toBe(true);
  });

  it('refuses two different definitions under one key', () => {
    shared('test.collision', () => z.string());
    expect(() => shared('test.collision', () => z.number())).toThrow(/defined twice/);
  });
});
