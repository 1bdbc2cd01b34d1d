import { LosClient } from '../coordinator/index.js';
import { apiDriver } from './drivers.js';
import { closedLoop, openLoop } from './load.js';
import { runLifecycle, throughDoor, type LifecycleContext } from './operations.js';
import type { PhaseMeter } from './phases.js';
import type { PhaseReport } from './report.js';
import { CASE_SYSTEM, type ApiDoor } from './stack.js';
import { machineToken, type MachineToken } from './token.js';

/**
 * Issue 18's proof of the API's cost: the same closed loop driven directly on Temporal and through the HTTP API
 * (same concurrency, same duration, one after the other in one run), and an open loop through the API at a low
 * rate whose every decision is timed from the client's send to its receipt.
 */

/** What the API must achieve (issue 18): at least 0.9 of the direct throughput, a decision's p99 at most 100 ms at 1/s. */
export const API_TARGETS = { throughputRatio: 0.9, decisionRoundTripP99Ms: 100 } as const;

export interface ApiComparison {
  concurrency: number;
  durationSeconds: number;
  /** The open loop's arrival rate, operations per second. */
  rate: number;
  /** The API, the provider and the machine client the bench signs in as. */
  door: { apiUrl: string; issuer: string; clientId: string; tokensFetched: number };
  closedDirect: PhaseReport;
  closedThroughApi: PhaseReport;
  /** The closed loop's throughput through the API over the direct one's (target ≥ API_TARGETS.throughputRatio). */
  throughputRatio?: number;
  openThroughApi: PhaseReport;
  /** The same open loop driven directly, for reference (`npm run bench:api` only). */
  openDirect?: PhaseReport;
}

/** The lifecycle context whose coordinator is the `los-case-system` machine client, through the API. */
export function apiContext(ctx: LifecycleContext, door: ApiDoor): { ctx: LifecycleContext; token: MachineToken } {
  const token = machineToken({ issuer: door.idp.issuer, ...CASE_SYSTEM, audience: door.audience });
  return { ctx: throughDoor(ctx, apiDriver(new LosClient({ apiUrl: door.url, token }))), token };
}

export interface ApiComparisonOptions {
  meter: PhaseMeter;
  direct: LifecycleContext;
  door: ApiDoor;
  /** The next tip's index (tips must differ across the run). */
  nextTip: () => number;
  concurrency: number;
  durationSeconds: number;
  rate: number;
  /** The direct closed loop already measured in this run (npm run bench); measured here when absent. */
  closedDirect?: PhaseReport;
  /** Also run the open loop directly, for reference. */
  openDirect?: boolean;
}

export async function measureApiComparison(options: ApiComparisonOptions): Promise<ApiComparison> {
  const { meter, direct, door, nextTip, concurrency, durationSeconds, rate } = options;
  const { ctx: viaApi, token } = apiContext(direct, door);
  // The first token before the clock starts, as a case system holds one before its first request.
  await token();
  const closed = (ctx: LifecycleContext) => () => closedLoop(concurrency, durationSeconds, () => runLifecycle(ctx, nextTip(), { probeAnswers: false }));
  const open = (ctx: LifecycleContext) => () => openLoop(rate, durationSeconds, () => runLifecycle(ctx, nextTip(), { probeAnswers: false }));
  const closedExtra = (doorName: 'direct' | 'api') => ({ door: doorName, concurrency, durationSeconds });
  const openExtra = (doorName: 'direct' | 'api') => ({ door: doorName, offeredRatePerSecond: rate, durationSeconds });

  const closedDirect =
    options.closedDirect ??
    (await meter.measure(`closed loop, direct: ${concurrency} in flight for ${durationSeconds}s`, closed(direct), closedExtra('direct'))).report;
  const { report: closedThroughApi } = await meter.measure(
    `closed loop through the API: ${concurrency} in flight for ${durationSeconds}s`,
    closed(viaApi),
    closedExtra('api'),
  );
  const { report: openThroughApi } = await meter.measure(
    `open loop through the API: ${rate}/s for ${durationSeconds}s, every decision timed`,
    open(viaApi),
    openExtra('api'),
  );
  const openDirect = options.openDirect
    ? (await meter.measure(`open loop, direct: ${rate}/s for ${durationSeconds}s (reference)`, open(direct), openExtra('direct'))).report
    : undefined;
  return {
    concurrency,
    durationSeconds,
    rate,
    door: { apiUrl: door.url, issuer: door.idp.issuer, clientId: CASE_SYSTEM.clientId, tokensFetched: token.fetched },
    closedDirect,
    closedThroughApi,
    ...(closedDirect.throughputPerSecond > 0 ? { throughputRatio: closedThroughApi.throughputPerSecond / closedDirect.throughputPerSecond } : {}),
    openThroughApi,
    ...(openDirect ? { openDirect } : {}),
  };
}
