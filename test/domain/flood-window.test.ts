import { describe, expect, it } from 'vitest';
import { FloodWindows } from '../../workers/floodWindow.js';

describe('flood windows: what an agency is told of its refused answers', () => {
  it('tells the first refusal of a reason and operation, counts its repeats, and summarises them when the window ends', () => {
    const floods = new FloodWindows();
    expect(floods.judge('polisen', 'operation_closed', 'op-1', 10, 'los.v1.from.polisen.mandate_declined')).toEqual({ verdict: 'tell', opened: true });
    for (let seq = 11; seq <= 40; seq++)
      expect(floods.judge('polisen', 'operation_closed', 'op-1', seq, 'los.v1.from.polisen.mandate_declined').verdict).toBe('count');
    // Another operation, another reason, another agency: each told on its own.
    expect(floods.judge('polisen', 'operation_closed', 'op-2', 41, 's')).toEqual({ verdict: 'tell', opened: false });
    expect(floods.judge('polisen', 'invalid', undefined, 42, 's').verdict).toBe('tell');
    expect(floods.judge('tullverket', 'operation_closed', 'op-1', 43, 's')).toEqual({ verdict: 'tell', opened: true });
    expect(floods.close('polisen')).toEqual([
      { agency: 'polisen', reason: 'operation_closed', count: 30, firstSequence: 11, lastSequence: 40, lastSubject: 'los.v1.from.polisen.mandate_declined' },
    ]);
    expect(floods.open()).toEqual(['tullverket']);
    // A new window tells again.
    expect(floods.judge('polisen', 'operation_closed', 'op-1', 50, 's')).toEqual({ verdict: 'tell', opened: true });
  });

  it('tells at most so many in full per window, however many operations a flood names', () => {
    const floods = new FloodWindows(5);
    const verdicts = Array.from({ length: 100 }, (_, i) => floods.judge('polisen', 'unknown_operation', `nowhere-${i}`, i + 1, 's').verdict);
    expect(verdicts.filter((v) => v === 'tell')).toHaveLength(5);
    expect(floods.close('polisen')).toEqual([
      { agency: 'polisen', reason: 'unknown_operation', count: 95, firstSequence: 6, lastSequence: 100, lastSubject: 's' },
    ]);
  });
});
