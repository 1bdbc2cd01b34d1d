import { performance } from 'node:perf_hooks';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SOURCES, SUBJECTS, type AgencyId } from '../domain/index.js';
import { publishCloudEvent } from '../messaging/index.js';
import { registerWaiting, type LifecycleContext } from './operations.js';
import { percentiles, type Percentiles } from './stats.js';

/**
 * Head-of-line blocking, measured: a burst of answers to one operation, then one answer from another agency
 * to another operation (the bystander). The figure is how long the bystander's answer takes to be settled:
 * from its publish until the bridge has judged it with its operation and dead-lettered it (every answer here
 * names a request that does not exist, so burst and bystander take the same path: one Temporal update each,
 * rejected by the validator; the dead letter is written for each, where answer_not_applied summarises a burst's
 * repeats). Without lanes per operation it waited behind the burst.
 */
export interface AnswerBurstResult {
  rounds: number;
  burstSize: number;
  /** Bystander publish → settled, one sample per round. */
  bystanderMs: Percentiles;
  /** First burst publish → the last burst answer settled, one sample per round. */
  burstDrainMs: Percentiles;
}

/**
 * A decline of a request that does not exist: the operation refuses it (one Temporal update, the validator's
 * no), and the bridge dead-letters it. What the burst and the flood phases time.
 */
export function declineNoRequest(js: JetStreamClient, agency: AgencyId, operationId: string, id: string) {
  return publishCloudEvent(js, SUBJECTS.fromAgency(agency, 'mandate_declined'), {
    id,
    source: SOURCES.agency(agency),
    name: 'mandate_declined',
    subject: operationId,
    time: new Date().toISOString(),
    data: { correlation: { operationId, requestId: `no-such-request-${id}` }, reason: 'Sent by the benchmark.' },
  });
}

export async function measureAnswerBurst(
  ctx: LifecycleContext,
  nc: NatsConnection,
  options: { rounds: number; burstSize: number; busy: AgencyId; bystander: AgencyId },
): Promise<AnswerBurstResult> {
  const js = jetstream(nc);
  const settled = new Map<string, (at: number) => void>();
  const told = nc.subscribe(SUBJECTS.inboundDeadLetter('*'), {
    callback: (_err, msg) => {
      const answerId = msg.json<{ id?: string }>().id;
      if (answerId) settled.get(answerId)?.(performance.now());
    },
  });
  const publish = (agency: AgencyId, operationId: string, id: string) => declineNoRequest(js, agency, operationId, id);
  const whenSettled = (id: string) => new Promise<number>((resolveSettled) => settled.set(id, resolveSettled));

  const bystanderMs: number[] = [];
  const burstDrainMs: number[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const [busyOperation, bystanderOperation] = await Promise.all([
        registerWaiting(ctx, 900_000 + round * 2, '1 hour'),
        registerWaiting(ctx, 900_001 + round * 2, '1 hour'),
      ]);
      const burstIds = Array.from({ length: options.burstSize }, (_, i) => `bench-burst-${ctx.runId}-${round}-${i}`);
      const lastSettled = whenSettled(burstIds.at(-1)!);
      const burstStart = performance.now();
      await Promise.all(burstIds.map((id) => publish(options.busy, busyOperation, id)));
      const bystanderId = `bench-bystander-${ctx.runId}-${round}`;
      const bystanderSettled = whenSettled(bystanderId);
      const sentAt = performance.now();
      await publish(options.bystander, bystanderOperation, bystanderId);
      bystanderMs.push((await bystanderSettled) - sentAt);
      burstDrainMs.push((await lastSettled) - burstStart);
      for (const operationId of [busyOperation, bystanderOperation])
        await ctx.client.workflow
          .getHandle(operationId)
          .terminate('answer burst measured')
          .catch(() => undefined);
    }
  } finally {
    told.unsubscribe();
  }
  return { rounds: options.rounds, burstSize: options.burstSize, bystanderMs: percentiles(bystanderMs)!, burstDrainMs: percentiles(burstDrainMs)! };
}
