import { describe, expect, it } from 'vitest';
import { AgencyBacklogs, BacklogMonitor, backlogKeepsGrowing } from '../workers/health.js';

const series = (...backlogs: number[]) => backlogs.map((backlog, i) => ({ atMs: i * 10_000, backlog }));

describe('bridge health: a backlog that keeps growing', () => {
  it('calls a backlog that only rose over the whole window growing', () => {
    expect(backlogKeepsGrowing(series(0, 5, 5, 9, 14, 20, 31), 60_000)).toBe(true);
  });

  it('does not when it fell once in the window: the bridge is working it off', () => {
    expect(backlogKeepsGrowing(series(0, 5, 9, 4, 14, 20, 31), 60_000)).toBe(false);
  });

  it('does not for a level backlog, nor before the samples reach back over the window', () => {
    expect(backlogKeepsGrowing(series(7, 7, 7, 7, 7, 7, 7), 60_000)).toBe(false);
    expect(backlogKeepsGrowing(series(0, 10, 20), 60_000)).toBe(false);
  });

  it('reports unhealthy while NATS is away or the backlog grows, with the backlog it saw', () => {
    const monitor = new BacklogMonitor(60_000);
    for (const sample of series(0, 5, 5, 9, 14, 20, 31)) monitor.record(sample);
    expect(monitor.report(true)).toEqual({ healthy: false, nats: 'connected', backlog: 31, backlogGrowing: true });
    monitor.record({ atMs: 70_000, backlog: 2 });
    expect(monitor.report(true)).toEqual({ healthy: true, nats: 'connected', backlog: 2, backlogGrowing: false });
    expect(monitor.report(false).healthy).toBe(false);
  });
});

describe('bridge health: the backlog per agency', () => {
  it('shows the agency whose backlog keeps growing, and the others level', () => {
    const backlogs = new AgencyBacklogs(60_000);
    for (let i = 0; i <= 6; i++) backlogs.record(i * 10_000, { polisen: i * 100, tullverket: i % 2 });
    expect(backlogs.report()).toEqual({ polisen: { backlog: 600, growing: true }, tullverket: { backlog: 0, growing: false } });
    // An agency with nothing held any more is reported at 0.
    backlogs.record(70_000, { tullverket: 1 });
    expect(backlogs.report().polisen).toEqual({ backlog: 0, growing: false });
  });
});
