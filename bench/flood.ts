import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, type AgencyId } from '../domain/index.js';
import { MAX_MSG_SIZE } from '../messaging/index.js';
import { declineNoRequest } from './answer-burst.js';
import { registerWaiting, type LifecycleContext } from './operations.js';
import { percentiles, type Percentiles } from './stats.js';

/**
 * No agency can starve another, measured: one agency floods the bridge at a fixed rate, in each way it can with its
 * own subjects, while another agency answers one of its own operations (8, in turn) every `sampleEveryMs`. The figure is how long the
 * other agency's answer takes to be settled: from its publish until the bridge has dead-lettered it (each answer
 * names a request that does not exist, so it takes one Temporal update, refused by the validator, as in the burst
 * phase; dead letters, unlike answer_not_applied, are never summarised). Between kinds the bridge drains.
 */
export const FLOOD_KINDS = ['unknown operations', 'closed operation', 'one operation', 'junk', 'oversize', 'mixed'] as const;
export type FloodKind = (typeof FLOOD_KINDS)[number];

/** The flood phase's plan: `--quick` floods each way for 3 s, the full bench for 10 s; 600/s is the rate issue 21 saw stall the bridge. */
export function floodSettings(quick: boolean) {
  return { seconds: quick ? 3 : 10, ratePerSecond: 600, sampleEveryMs: 100 };
}

/** Whether the bridge has settled everything LOS_IN holds for it. */
export function bridgeSettled(nc: NatsConnection): () => Promise<boolean> {
  return async () => {
    const info = await (await jetstreamManager(nc)).consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer).catch(() => undefined);
    return info !== undefined && info.num_pending + info.num_ack_pending === 0;
  };
}

export interface FloodKindResult {
  kind: FloodKind;
  /** Flood messages published, and those nats-server refused (oversize, or beyond the inbound quota). */
  sent: number;
  refusedAtDoor: number;
  /** The flood's achieved publish rate. */
  perSecond: number;
  /** The other agency's answer, publish → settled. */
  otherMs: Percentiles;
  /** Flood start → everything the flood stored settled by the bridge. */
  drainedMs: number;
}

export interface FloodResult {
  seconds: number;
  ratePerSecond: number;
  kinds: FloodKindResult[];
  /** Every kind's samples together. */
  otherMs: Percentiles;
}

export async function measureFlood(
  ctx: LifecycleContext,
  nc: NatsConnection,
  options: { seconds: number; ratePerSecond: number; sampleEveryMs: number; flooder: AgencyId; other: AgencyId; settled: () => Promise<boolean> },
): Promise<FloodResult> {
  const js = jetstream(nc);
  const encoder = new TextEncoder();
  const settled = new Map<string, (at: number) => void>();
  const letters = nc.subscribe(SUBJECTS.inboundDeadLetter(options.other), {
    callback: (_err, msg) => {
      const id = (() => {
        try {
          return msg.json<{ id?: string }>().id;
        } catch {
          return undefined;
        }
      })();
      if (id) settled.get(id)?.(performance.now());
    },
  });
  const answer = (agency: AgencyId, operationId: string, id: string) => declineNoRequest(js, agency, operationId, id);
  // The other agency's answers go to its operations in turn: each operation takes its answers one at a time, and
  // an agency answers one operation about once a second at most, not twenty times.
  const operations = await Promise.all(Array.from({ length: 10 }, (_, i) => registerWaiting(ctx, 950_000 + i, '1 hour')));
  const [floodedOperation, closedOperation] = operations as [string, string];
  const otherOperations = operations.slice(2);
  await ctx.client.workflow.getHandle(closedOperation).terminate('closed for the flood phase');

  let n = 0;
  const floodOne = (kind: FloodKind): Promise<unknown> => {
    const i = n++;
    const id = `bench-flood-${ctx.runId}-${i}`;
    switch (kind) {
      case 'unknown operations':
        return answer(options.flooder, `los-bench-nowhere-${ctx.runId}-${i}`, id);
      case 'closed operation':
        return answer(options.flooder, closedOperation, id);
      case 'one operation':
        return answer(options.flooder, floodedOperation, id);
      case 'junk':
        return js.publish(SUBJECTS.fromAgency(options.flooder, 'mandate_accepted'), encoder.encode(`{"id":"${id}","junk":${i}`));
      case 'oversize':
        return js.publish(SUBJECTS.fromAgency(options.flooder, 'mandate_accepted'), new Uint8Array(MAX_MSG_SIZE.in + 1));
      case 'mixed':
        return floodOne(FLOOD_KINDS[i % 5]!);
    }
  };

  const all: number[] = [];
  const kinds: FloodKindResult[] = [];
  try {
    for (const kind of FLOOD_KINDS) {
      let sent = 0;
      let refusedAtDoor = 0;
      const publishes: Promise<unknown>[] = [];
      const samples: Promise<number>[] = [];
      const start = performance.now();
      const end = start + options.seconds * 1000;
      let nextSample = start;
      let s = 0;
      while (performance.now() < end) {
        const now = performance.now();
        // Publish what the rate owes by now, in a burst every few milliseconds.
        const due = Math.floor(((now - start) / 1000) * options.ratePerSecond) - sent;
        for (let k = 0; k < due; k++) {
          sent++;
          publishes.push(floodOne(kind).catch(() => refusedAtDoor++));
        }
        if (now >= nextSample) {
          nextSample += options.sampleEveryMs;
          const id = `bench-flood-other-${ctx.runId}-${kind.replace(/\W/g, '')}-${s++}`;
          samples.push(
            new Promise<number>((resolveSettled) => {
              const sentAt = performance.now();
              settled.set(id, (at) => resolveSettled(at - sentAt));
              void answer(options.other, otherOperations[s % otherOperations.length]!, id);
            }),
          );
        }
        await new Promise((resolveLater) => setTimeout(resolveLater, 5));
      }
      const perSecond = sent / ((performance.now() - start) / 1000);
      await Promise.all(publishes);
      const otherMs = await Promise.all(samples);
      while (!(await options.settled())) await new Promise((resolveLater) => setTimeout(resolveLater, 200));
      const drainedMs = performance.now() - start;
      all.push(...otherMs);
      kinds.push({ kind, sent, refusedAtDoor, perSecond, otherMs: percentiles(otherMs)!, drainedMs });
    }
  } finally {
    letters.unsubscribe();
    for (const operationId of [floodedOperation, ...otherOperations])
      await ctx.client.workflow
        .getHandle(operationId)
        .terminate('flood measured')
        .catch(() => undefined);
  }
  return { seconds: options.seconds, ratePerSecond: options.ratePerSecond, kinds, otherMs: percentiles(all)! };
}
