import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency } from '../../agencies/index.js';
import { loadCatalogueFile } from '../../config/index.js';
import { registerTip, sendDecision } from '../../api/engine.js';
import { UMEA_COORDINATOR } from '../engine.js';
import { AGENCY_IDS, type AgencyId, type OperationState, type TipInput } from '../../domain/index.js';
import { stateQuery } from '../../workflows/definitions.js';
import type { losOperation } from '../../workflows/index.js';
import { clusterTopology, devTopology, randomBetween, sleep, type ChaosSizes, type ChaosTopology } from './topologies.js';

/**
 * Chaos: operations in flight across all phases while engine processes are SIGKILLed and restarted and the
 * servers are restarted under them (test/chaos/topologies.ts: the dev stack by default, the production
 * topology with LOS_CHAOS_TOPOLOGY=cluster). Afterwards every operation must have reached its planned end,
 * every agency must have received every expected event exactly once by CloudEvent id (at-least-once
 * underneath), no answer may be lost, and no workflow task may have failed for good. CHAOS_OPERATIONS,
 * CHAOS_WORKER_KILLS, CHAOS_BRIDGE_KILLS (cluster only), CHAOS_NATS_RESTARTS and CHAOS_TEMPORAL_RESTARTS size
 * the run (defaults: the full suite; CI may pass smaller numbers).
 */
// The coordinator's key for the pseudonymous entity reference: one per run.
const ENTITY_KEY = randomBytes(32).toString('hex');
const OPERATIONS = Number(process.env.CHAOS_OPERATIONS ?? 50);
const SIZES: ChaosSizes = {
  workerKills: Number(process.env.CHAOS_WORKER_KILLS ?? 3),
  bridgeKills: Number(process.env.CHAOS_BRIDGE_KILLS ?? 2),
  natsRestarts: Number(process.env.CHAOS_NATS_RESTARTS ?? 2),
  temporalRestarts: Number(process.env.CHAOS_TEMPORAL_RESTARTS ?? 1),
};
const TOPOLOGY = process.env.LOS_CHAOS_TOPOLOGY ?? 'dev';
if (TOPOLOGY !== 'dev' && TOPOLOGY !== 'cluster') throw new Error(`LOS_CHAOS_TOPOLOGY is "${TOPOLOGY}": use dev (the default) or cluster`);
const TASK_QUEUE = 'los-chaos';
// Deadlines far longer than any outage here, so that chaos never turns a late answer into "no answer".
const CONFIG = {
  mandateDeadline: '10 minutes',
  findingsDeadline: '10 minutes',
  followUpAfter: '2s',
  outcomeDeadline: '10 minutes',
  reminderFraction: 0.99,
};

type Plan = 'closed' | 'dismissed' | 'cancelled';
type Handle = WorkflowHandle<typeof losOperation>;
interface Operation {
  id: string;
  plan: Plan;
  handle: Handle;
  done: boolean;
}

const CATEGORY_SETS: TipInput['categories'][] = [
  ['smuggling'],
  ['tax_fraud'],
  ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'],
  ['fire_safety', 'building_violation'],
  ['work_permit_violation', 'benefit_fraud'],
];

function chaosTip(index: number): TipInput {
  return {
    entity: { orgNumber: '556703-7485', name: `Verksamhet ${index} AB`, address: `Storgatan ${index}, Umeå`, municipality: 'Umeå' },
    categories: CATEGORY_SETS[index % CATEGORY_SETS.length]!,
    description: `Chaos operation ${index}: suspected activity observed.`,
    urgency: 'normal',
    source: { kind: 'municipal_inspector', protected: false },
    receivedAt: new Date(Date.UTC(2026, 10, 1) + index * 60_000).toISOString(),
  };
}

describe(`chaos (${TOPOLOGY} topology)`, () => {
  let scratch: string;
  let topology: ChaosTopology;
  let client: Client;
  const agencies = new Map<AgencyId, SimulatedAgency>();

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    scratch = mkdtempSync(join(tmpdir(), 'los-chaos-'));
    topology = await (TOPOLOGY === 'cluster' ? clusterTopology : devTopology)(scratch, TASK_QUEUE, SIZES);
    client = topology.client;
    for (const agency of AGENCY_IDS) {
      // Each event takes its agency a moment, so that faults also catch events received but not yet acknowledged.
      agencies.set(
        agency,
        await startSimulatedAgency(agency, { ...defaultBehaviour(agency), thinkMs: { min: 20, max: 250 } }, topology.agencyConnection(agency)),
      );
    }
  });

  afterAll(async () => {
    for (const agency of agencies.values()) await agency.stop().catch(() => undefined);
    await topology?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('brings every operation to its planned end through worker kills and server restarts, with every event delivered once', async () => {
    const catalogue = loadCatalogueFile();
    const operations: Operation[] = [];
    for (let i = 0; i < OPERATIONS; i++) {
      const plan: Plan = i % 10 === 3 ? 'dismissed' : i % 10 === 7 ? 'cancelled' : 'closed';
      const { handle, operationId } = await registerTip(client, chaosTip(i), {
        keys: topology.keys,
        config: CONFIG,
        catalogue,
        taskQueue: TASK_QUEUE,
        entityKey: ENTITY_KEY,
        author: UMEA_COORDINATOR,
      });
      operations.push({ id: operationId, plan, handle, done: false });
    }

    // The coordinator: moves each operation on whenever it is waiting for a decision, tolerating outages.
    let steering = true;
    const coordinator = (async () => {
      while (steering && operations.some((o) => !o.done)) {
        for (const op of operations.filter((o) => !o.done)) {
          try {
            const described = await op.handle.describe();
            if (described.status.name !== 'RUNNING') {
              op.done = true;
              continue;
            }
            const state: OperationState = await op.handle.query(stateQuery);
            // Signed as the API signs, as Umeå's coordinator.
            const keys = { keys: topology.keys, signer: await topology.keys.apiSigningKey() };
            if (state.stage === 'assessment') {
              await sendDecision(
                op.handle,
                keys,
                UMEA_COORDINATOR,
                'assessment',
                op.plan === 'dismissed' ? { decision: 'dismiss', reason: 'Chaos: dismissed by plan.' } : { decision: 'proceed' },
              );
            } else if (state.phase === 'joint_action' && state.stage === 'schedule_decision') {
              if (op.plan === 'cancelled') await sendDecision(op.handle, keys, UMEA_COORDINATOR, 'cancel', { reason: 'Chaos: cancelled by plan.' });
              else
                await sendDecision(op.handle, keys, UMEA_COORDINATOR, 'schedule', {
                  at: new Date(Date.now() + 2_000).toISOString(),
                  place: 'Storgatan',
                  lead: state.agencies.find((a) => a.mandate === 'accepted')!.agency,
                });
            } else if (state.stage === 'closing_decision') {
              await sendDecision(op.handle, keys, UMEA_COORDINATOR, 'close', { summary: 'Chaos: closed by plan.' });
            }
          } catch {
            // A server is down or a decision raced another; the next round tries again.
          }
        }
        await sleep(300);
      }
    })();

    // The chaos, at random moments while operations are in flight.
    // One lane per kind of fault, the lanes running at once, so that faults also overlap: a worker may be
    // restarted while nats-server or Temporal is down, as happens when a whole host reboots.
    const lane = async (times: number, fault: () => Promise<void>) => {
      for (let i = 0; i < times; i++) {
        await sleep(randomBetween(1_500, 8_000));
        await fault();
      }
    };
    await Promise.all(topology.faults.map((fault) => lane(fault.times, fault.run)));

    const deadline = Date.now() + 8 * 60_000;
    while (operations.some((o) => !o.done) && Date.now() < deadline) await sleep(500);
    steering = false;
    await coordinator;

    // An operation that did not end is reported with where it stands, rather than waited for without end.
    const stuck: string[] = [];
    for (const op of operations.filter((o) => !o.done)) {
      const state = await op.handle.query(stateQuery).catch((err: Error) => ({ phase: '?', waitingFor: err.message }));
      stuck.push(`${op.id} (plan ${op.plan}): ${state.phase}, waiting for ${state.waitingFor}`);
    }
    expect({ stuck, unplannedExits: topology.unplannedExits }).toEqual({ stuck: [], unplannedExits: [] });

    // Every operation reached its planned end.
    const ends: Record<string, number> = {};
    const wrongEnds: string[] = [];
    let failedTasks = 0;
    let histories = 0;
    for (const op of operations) {
      const result = await op.handle.result();
      ends[result.phase] = (ends[result.phase] ?? 0) + 1;
      if (result.phase !== op.plan) wrongEnds.push(`${op.id}: ${result.phase}, planned ${op.plan}`);
      // Workflow tasks may fail transiently (a killed worker); none may fail for good, so every run completed.
      for await (const run of client.workflow.list({ query: `WorkflowId = '${op.id}'` })) {
        const history = await client.workflow.getHandle(op.id, run.runId).fetchHistory();
        histories += 1;
        failedTasks += history.events?.filter((e) => e.workflowTaskFailedEventAttributes).length ?? 0;
      }
    }
    expect(wrongEnds).toEqual([]);

    // No answer lost, and every agency got every expected event exactly once by CloudEvent id.
    let delivered = 0;
    let distinct = 0;
    const problems: string[] = [];
    for (const op of operations) {
      const state = await op.handle.query(stateQuery);
      const participants = state.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency);
      for (const a of state.agencies) {
        if (a.mandate === 'no_answer' || a.mandate === 'requested') problems.push(`${op.id}/${a.agency}: mandate answer lost (${a.mandate})`);
        if (op.plan === 'closed' && a.mandate === 'accepted' && (a.findings !== 'reported' || a.outcomes !== 'reported')) {
          problems.push(`${op.id}/${a.agency}: findings ${a.findings}, outcomes ${a.outcomes}`);
        }
      }
      for (const [agency, simulated] of agencies) {
        const events = simulated.received.filter((e) => e.operationId === op.id && e.name !== 'reminder');
        delivered += events.length;
        const ids = new Set(events.map((e) => e.id));
        distinct += ids.size;
        const names = [...ids].map((id) => events.find((e) => e.id === id)!.name).sort();
        const expected: string[] = [];
        const involved = state.agencies.some((a) => a.agency === agency);
        if (involved) expected.push('mandate_requested');
        if (op.plan === 'closed' && participants.includes(agency)) {
          expected.push('briefing', 'action_started', 'findings_requested', 'outcome_requested', 'operation_closed');
        }
        if (op.plan === 'closed' && state.secondWave.includes(agency)) expected.push('second_wave_notice');
        if (op.plan === 'cancelled' && involved) expected.push('operation_cancelled');
        if (JSON.stringify(names) !== JSON.stringify(expected.sort()))
          problems.push(`${op.id}/${agency}: got ${names.join(',')}; expected ${expected.join(',')}`);
      }
    }
    const faults = Object.entries(topology.counts)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ');
    console.log(
      `chaos (${TOPOLOGY}): ${OPERATIONS} operations, ends ${JSON.stringify(ends)}; ${faults}; events delivered ${delivered} ` +
        `(distinct ${distinct}, redeliveries ${delivered - distinct}); histories ${histories}; transient workflow task failures ${failedTasks}`,
    );
    expect(problems).toEqual([]);
    expect(topology.counts).toMatchObject(topology.expected);
  });
});
