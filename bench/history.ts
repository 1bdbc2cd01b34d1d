import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { spread, type Spread } from './stats.js';

/**
 * What one operation costs Temporal, read from its history: every event is a row the server writes, and
 * every completed workflow task is one round trip through the worker.
 */

export interface HistoryCost {
  sampled: number;
  events: Spread;
  workflowTasks: Spread;
  activities: Spread;
  timers: Spread;
  updates: Spread;
  signals: Spread;
  /** Bytes of the history in Temporal's JSON form (payloads base64), as `temporal workflow show -o json` writes it. */
  historyJsonBytes: Spread;
}

interface Counts {
  events: number;
  workflowTasks: number;
  activities: number;
  timers: number;
  updates: number;
  signals: number;
  historyJsonBytes: number;
}

async function countOne(client: Client, workflowId: string): Promise<Counts> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const count = (has: (e: (typeof events)[number]) => unknown) => events.filter((e) => has(e)).length;
  return {
    events: events.length,
    workflowTasks: count((e) => e.workflowTaskCompletedEventAttributes),
    activities: count((e) => e.activityTaskScheduledEventAttributes),
    timers: count((e) => e.timerStartedEventAttributes),
    updates: count((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
    signals: count((e) => e.workflowExecutionSignaledEventAttributes),
    historyJsonBytes: Buffer.byteLength(historyToJSON(history)),
  };
}

export async function historyCost(client: Client, workflowIds: string[]): Promise<HistoryCost | undefined> {
  const counted: Counts[] = [];
  for (const id of workflowIds) counted.push(await countOne(client, id));
  if (counted.length === 0) return undefined;
  const of = (key: keyof Counts) => spread(counted.map((c) => c[key]))!;
  return {
    sampled: counted.length,
    events: of('events'),
    workflowTasks: of('workflowTasks'),
    activities: of('activities'),
    timers: of('timers'),
    updates: of('updates'),
    signals: of('signals'),
    historyJsonBytes: of('historyJsonBytes'),
  };
}
