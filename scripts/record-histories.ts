/**
 * Records the histories of representative operations into test/histories/*.json, which `npm test` replays
 * against the current workflow code. Re-record (`npm run record-histories`) when a change is meant to alter
 * workflow behaviour (README, "Changing workflow code").
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import type { OperationConfigInput, OperationState, TipInput } from '../domain/index.js';
import {
  assessUpdate,
  callOffUpdate,
  closeUpdate,
  decideQuorumUpdate,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
  stateQuery,
} from '../workflows/definitions.js';
import type { losOperation } from '../workflows/index.js';
import { ENCODING_ENCRYPTED, LosPayloadCodec } from '../vault/index.js';
import { startEmbeddedEngine } from './embedded-engine.js';
import { startTemporalDevServer } from './dev-stack.js';
import { PROJECT_ROOT } from './temporal-cli.js';

type Handle = WorkflowHandle<typeof losOperation>;
const OUT = join(PROJECT_ROOT, 'test', 'histories');
const FAST: OperationConfigInput = { mandateDeadline: '5s', findingsDeadline: '5s', followUpAfter: '1s', outcomeDeadline: '5s' };
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

function tip(description: string, categories: TipInput['categories']): TipInput {
  return {
    entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå', municipality: 'Umeå' },
    categories,
    description,
    urgency: 'high',
    source: { kind: 'public', protected: true },
    receivedAt: '2026-11-02T09:15:00+01:00',
  };
}

async function until(handle: Handle, test: (s: OperationState) => boolean): Promise<OperationState> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await handle.query(stateQuery);
    if (test(state)) return state;
    if (Date.now() > deadline) throw new Error(`stuck at ${state.phase} / ${state.waitingFor}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function proceed(handle: Handle) {
  await until(handle, (s) => s.phase === 'assessment');
  await recorder!.decide(handle, assessUpdate, { decision: 'proceed' });
}

async function actAndClose(handle: Handle) {
  await until(handle, (s) => s.stage === 'schedule_decision');
  await recorder!.decide(handle, scheduleUpdate, { at: inSeconds(1), place: 'Storgatan 12', lead: 'polisen' });
  await until(handle, (s) => s.stage === 'closing_decision');
}

const scenarios: Record<string, { tip: TipInput; config?: OperationConfigInput; drive: (h: Handle) => Promise<void> }> = {
  'full-lifecycle': {
    tip: tip('Full lifecycle: alcohol after hours, cash deposits, undeclared staff.', ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation']),
    drive: async (h) => {
      await until(h, (s) => s.phase === 'assessment');
      await recorder!.decide(h, assessUpdate, { decision: 'request_info', agencies: ['polisen'], question: 'Any reason to hold back?' });
      await until(h, (s) => s.pending.length === 0);
      await recorder!.decide(h, assessUpdate, { decision: 'proceed' });
      await until(h, (s) => s.stage === 'schedule_decision');
      // A corrected address reaches every agency already told of the operation.
      const registered = scenarios['full-lifecycle']!.tip;
      // Registered again with the corrected address, as `los tip register` does: sealed, then applied as amendTip.
      await recorder!.register({ ...registered, entity: { ...registered.entity, address: 'Storgatan 14, 903 26 Umeå' } }, { config: FAST });
      await actAndClose(h);
      await recorder!.decide(h, closeUpdate, { summary: 'Licence revoked; tax reassessed.' });
    },
  },
  dismissed: {
    tip: tip('Dismissed: already handled by the Police.', ['smuggling']),
    drive: async (h) => {
      await until(h, (s) => s.phase === 'assessment');
      await recorder!.decide(h, assessUpdate, { decision: 'dismiss', reason: 'Already handled by the Police.' });
    },
  },
  'assessment-overdue': {
    tip: tip('Assessment overdue: the coordinator decides only after the reminder and the escalation.', ['smuggling']),
    config: { ...FAST, assessmentDeadline: '2s', reminderFraction: 0.5 },
    drive: async (h) => {
      await until(h, (s) => s.overdue);
      await recorder!.decide(h, assessUpdate, { decision: 'dismiss', reason: 'Handled by the Police after all.' });
    },
  },
  'quorum-not-met': {
    tip: tip('Quorum not met: only customs and police are candidates.', ['smuggling']),
    config: { ...FAST, quorum: 3 },
    drive: async (h) => {
      await proceed(h);
      await until(h, (s) => s.stage === 'quorum_decision');
      await recorder!.decide(h, decideQuorumUpdate, { decision: 'proceed' });
      await actAndClose(h);
      await recorder!.decide(h, closeUpdate, { summary: 'Went ahead with two agencies.' });
    },
  },
  'called-off-and-rescheduled': {
    tip: tip('Called off and rescheduled: police hold.', ['smuggling']),
    drive: async (h) => {
      await proceed(h);
      await until(h, (s) => s.stage === 'schedule_decision');
      await recorder!.decide(h, scheduleUpdate, { at: inSeconds(60), place: 'Storgatan 12', lead: 'polisen' });
      await recorder!.decide(h, rescheduleUpdate, { at: inSeconds(90), reason: 'Evening shift instead.' });
      await recorder!.decide(h, callOffUpdate, { reason: 'Police hold: ongoing investigation.' });
      await actAndClose(h);
      await recorder!.decide(h, closeUpdate, { summary: 'Done after the hold was lifted.' });
    },
  },
  reinspection: {
    tip: tip('Re-inspection: activity resumed under a new name.', ['smuggling']),
    drive: async (h) => {
      await proceed(h);
      await actAndClose(h);
      await recorder!.decide(h, reinspectUpdate, { reason: 'Activity resumed under a new name.' });
      await actAndClose(h);
      await recorder!.decide(h, closeUpdate, { summary: 'Closed after the re-inspection.' });
    },
  },
  'continue-as-new': {
    tip: tip('Continue-as-new: a long operation.', ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation']),
    config: { ...FAST, historyEventLimit: 60 },
    drive: async (h) => {
      await proceed(h);
      await actAndClose(h);
      await recorder!.decide(h, closeUpdate, { summary: 'Closed after several runs.' });
    },
  },
};

/** Every payload in a history, decoded by the codec (in place). */
async function decodedPayloads<T>(value: T, codec: LosPayloadCodec): Promise<T> {
  const visit = async (node: unknown): Promise<void> => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    for (const [key, child] of Object.entries(node)) {
      const payload = child as { metadata?: Record<string, Uint8Array>; data?: Uint8Array } | null;
      if (payload && typeof payload === 'object' && payload.metadata?.encoding && new TextDecoder().decode(payload.metadata.encoding) === ENCODING_ENCRYPTED) {
        (node as Record<string, unknown>)[key] = (await codec.decode([payload as never]))[0];
      } else if (Array.isArray(child)) {
        for (let i = 0; i < child.length; i++) {
          const item = child[i] as { metadata?: Record<string, Uint8Array> } | null;
          if (item?.metadata?.encoding && new TextDecoder().decode(item.metadata.encoding) === ENCODING_ENCRYPTED)
            child[i] = (await codec.decode([item as never]))[0];
          else await visit(item);
        }
      } else await visit(child);
    }
  };
  await visit(value);
  return value;
}

/** The engine recording, for scenarios that register again. */
let recorder: Awaited<ReturnType<typeof startEmbeddedEngine>> | undefined;

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const scratch = mkdtempSync(join(tmpdir(), 'los-record-'));
  const temporal = await startTemporalDevServer({ dbFile: join(scratch, 'temporal.db'), headless: true, logFile: join(scratch, 'temporal.log') });
  const engine = (recorder = await startEmbeddedEngine({ temporalAddress: temporal.address, scratchDir: scratch, taskQueue: 'los-record' }));
  await engine.startAgencies(DEMO_BEHAVIOURS);
  mkdirSync(OUT, { recursive: true });
  for (const file of readdirSync(OUT)) if (file.endsWith('.json')) rmSync(join(OUT, file));
  // The workflow ID is part of what a workflow sees (it derives event ids from it), so replay needs it.
  const manifest: Record<string, { workflowId: string; scenario: string }> = {};
  try {
    for (const [name, scenario] of Object.entries(scenarios)) {
      const { handle, operationId } = await engine.register(scenario.tip, { config: scenario.config ?? FAST });
      await scenario.drive(handle);
      await handle.result();
      // Every run of the operation, oldest first: continue-as-new leaves one history per run.
      const runs: string[] = [];
      for await (const run of engine.client.workflow.list({ query: `WorkflowId = '${operationId}'` })) runs.push(run.runId);
      runs.reverse();
      for (const [index, runId] of runs.entries()) {
        // Recorded with the payload codec's layer taken off (personal fields stay sealed with this run's data keys,
        // which the workflow never needs): a replay then needs no key of this run.
        const history = await decodedPayloads(await engine.client.workflow.getHandle(operationId, runId).fetchHistory(), new LosPayloadCodec(engine.keys));
        const file = runs.length === 1 ? `${name}.json` : `${name}.run${index + 1}.json`;
        writeFileSync(join(OUT, file), `${historyToJSON(history)}\n`);
        manifest[file] = { workflowId: operationId, scenario: name };
        console.log(`recorded ${file} (${history.events?.length ?? 0} events)`);
      }
    }
    writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  } finally {
    await engine.stop();
    await temporal.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`recording failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
