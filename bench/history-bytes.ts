/**
 * `npm run bench:bytes`: where the bytes of one operation's history go, next to the floor's. A targeted
 * measurement, not a load phase: a few bench-shaped LOS operations (bench/operations.ts, the same tip,
 * categories and deadlines as `npm run bench`) and a few floor operations run, one after another or
 * `--concurrency` at a time (under load, answers batch and workflow tasks merge, as in the bench), on the same
 * stack as the bench's (dev server, nats-server, the worker and bridge as child processes); then each history
 * is read with fetchHistory, sized as `npm run bench` sizes it (Temporal's JSON, bench/history.ts), and split
 * by event type and by payload. The payloads are then decoded with the engine's codec to show what they hold.
 *
 *   npm run bench:bytes -- [--operations N] [--floor N] [--concurrency C] [--json FILE] [--dump DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { AGENCY_IDS, candidateAgencies } from '../domain/index.js';
import { LosPayloadCodec } from '../vault/index.js';
import { BaselineRunner, baselinePlan, floorPlan } from './baseline.js';
import { FloorChannel } from './floor.js';
import { ACTION_LEAD_MS, AgencyWatch, LIFECYCLE_CATEGORIES, lifecycleContext, runLifecycle } from './operations.js';
import { startEngineProcess, startStack, waitUntilReady } from './stack.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const log = (line: string) => console.error(`[bytes] ${line}`);

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const jsonOut = option('--json');
/** A directory to write the first LOS and floor history to, as Temporal's JSON. */
const dumpDir = option('--dump');

/** The event's attributes field, e.g. `activityTaskScheduled`. */
function eventKind(event: HistoryEvent): string {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k]);
  return key ? key.replace(/EventAttributes$/, '') : 'unknown';
}

/** What a payload is, for a person: the event kind with the activity, update or signal name where there is one. */
function eventLabel(event: HistoryEvent): string {
  const kind = eventKind(event);
  const a = event.activityTaskScheduledEventAttributes?.activityType?.name;
  const u = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
  const s = event.workflowExecutionSignaledEventAttributes?.signalName;
  const name = a ?? u ?? s;
  return name ? `${kind}(${name})` : kind;
}

interface Found {
  path: string;
  payload: Payload;
}

/** Every Payload (an object with metadata and data) in an event, with the path it sits at. */
function payloadsOf(value: unknown, path: string, out: Found[]): Found[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const record = value as Record<string, unknown>;
  if ('metadata' in record && 'data' in record && (record.data === null || record.data instanceof Uint8Array)) {
    out.push({ path, payload: record as Payload });
    return out;
  }
  if (Array.isArray(value)) value.forEach((v, i) => payloadsOf(v, `${path}[${i}]`, out));
  else for (const [k, v] of Object.entries(record)) payloadsOf(v, path ? `${path}.${k}` : k, out);
  return out;
}

/** Runs `count` operations with at most `inFlight` at a time (a closed loop, as the bench's), in index order of their ids. */
async function inTurns(count: number, inFlight: number, run: (i: number) => Promise<string>): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const i = next++;
      ids[i] = await run(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, loop));
  return ids;
}

const jsonBytes = (events: HistoryEvent[]) => Buffer.byteLength(historyToJSON({ events }));

interface Row {
  bytes: number;
  count: number;
  plain?: number;
}
const add = (table: Map<string, Row>, key: string, bytes: number, plain?: number) => {
  const row = table.get(key) ?? { bytes: 0, count: 0 };
  row.bytes += bytes;
  row.count += 1;
  if (plain !== undefined) row.plain = (row.plain ?? 0) + plain;
  table.set(key, row);
};

interface Breakdown {
  histories: number;
  jsonBytes: number;
  events: number;
  byEvent: Map<string, Row>;
  /** Payload data bytes (raw, before base64), by where they sit; `plain` is the decoded payload's data. */
  byPayload: Map<string, Row>;
  /** The first decoded payload of each label, to show what it holds. */
  examples: Map<string, string>;
}

async function breakDown(client: Client, ids: string[], codec?: LosPayloadCodec): Promise<Breakdown> {
  const b: Breakdown = { histories: ids.length, jsonBytes: 0, events: 0, byEvent: new Map(), byPayload: new Map(), examples: new Map() };
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    b.jsonBytes += Buffer.byteLength(historyToJSON(history));
    b.events += events.length;
    for (const event of events) {
      add(b.byEvent, eventLabel(event), jsonBytes([event]));
      for (const { path, payload } of payloadsOf(event, '', [])) {
        const where = `${eventLabel(event)} ${path.replace(/^\w+EventAttributes\./, '').replace(/\[\d+\]/g, '[]')}`;
        const [decoded] = codec ? await codec.decode([payload]) : [payload];
        const size = (p: Payload) => (p.data?.length ?? 0) + Object.values(p.metadata ?? {}).reduce((n, v) => n + (v?.length ?? 0), 0);
        add(b.byPayload, where, size(payload), size(decoded!));
        if (!b.examples.has(where))
          b.examples.set(
            where,
            Buffer.from(decoded!.data ?? new Uint8Array())
              .toString('utf8')
              .slice(0, 600),
          );
      }
    }
  }
  return b;
}

function render(title: string, b: Breakdown): string {
  const per = (n: number) => (n / b.histories).toFixed(0);
  const lines = [`## ${title}: ${b.histories} histories, ${per(b.jsonBytes)} JSON bytes and ${(b.events / b.histories).toFixed(1)} events per operation`, ''];
  lines.push('| event | count/op | JSON bytes/op | share |', '|---|---:|---:|---:|');
  for (const [k, r] of [...b.byEvent].sort((x, y) => y[1].bytes - x[1].bytes))
    lines.push(`| ${k} | ${(r.count / b.histories).toFixed(1)} | ${per(r.bytes)} | ${((100 * r.bytes) / b.jsonBytes).toFixed(1)}% |`);
  lines.push('', '| payload | count/op | stored bytes/op | decoded bytes/op |', '|---|---:|---:|---:|');
  let stored = 0;
  for (const [k, r] of [...b.byPayload].sort((x, y) => y[1].bytes - x[1].bytes)) {
    stored += r.bytes;
    lines.push(`| ${k} | ${(r.count / b.histories).toFixed(1)} | ${per(r.bytes)} | ${per(r.plain ?? 0)} |`);
  }
  lines.push('', `Payload bytes per operation: ${per(stored)} stored (${per((stored * 4) / 3)} as base64 in the JSON).`, '');
  return lines.join('\n');
}

async function main() {
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const operations = flag('--operations', 3);
  const floors = flag('--floor', 3);
  const inFlight = flag('--concurrency', 1);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const runId = `bytes${Date.now().toString(36)}`;
  const scratch = mkdtempSync(join(tmpdir(), 'los-bytes-'));
  const taskQueue = `los-bytes-${runId}`;
  const stack = await startStack(scratch, log);
  const worker = startEngineProcess('worker', stack, taskQueue, scratch);
  const bridge = startEngineProcess('bridge', stack, taskQueue, scratch);
  const agencies: SimulatedAgency[] = [];
  let floorChannel: FloorChannel | undefined;
  let floorConnection: NativeConnection | undefined;
  try {
    const catalogue = loadCatalogueFile();
    const candidates = candidateAgencies(LIFECYCLE_CATEGORIES, catalogue);
    const plan = baselinePlan(candidates.length, catalogue.agencies.length - candidates.length, ACTION_LEAD_MS, 1_000);
    const plainClient = new Client({ connection: stack.client.connection, namespace: stack.client.options.namespace });
    const floor = new BaselineRunner(plainClient, `${taskQueue}-floor`, runId, floorPlan(plan), candidates.length, 'floor');
    floorChannel = await FloorChannel.open(stack.natsUrl, runId);
    floorConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    const floorWorker = await floor.createWorker(floorConnection, floorChannel.activities);
    await waitUntilReady(worker, bridge, stack, taskQueue);
    const watch = new AgencyWatch();
    for (const agency of AGENCY_IDS)
      agencies.push(await startSimulatedAgency(agency, defaultBehaviour(agency), { servers: stack.natsUrl, onEvent: watch.onEvent, onAnswer: watch.onAnswer }));
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue, taskQueue, runId, watch });

    log(`${operations} LOS operations, ${inFlight} in flight`);
    watch.beginPhase();
    const losIds = await inTurns(operations, inFlight, async (i) => {
      const sample = await runLifecycle(ctx, i, { probeAnswers: false });
      if (!sample.ok || !sample.operationId) {
        log(`operation ${i} failed: ${sample.error}`);
        throw new Error(`operation ${i} failed: ${sample.error}`);
      }
      return sample.operationId;
    });

    log(`${floors} floor operations`);
    const running = floorWorker.run();
    await floorChannel.startAgencies((workflowId) => floor.answer(workflowId));
    const floorIds = await inTurns(floors, inFlight, async (i) => {
      const sample = await floor.runOne(i);
      if (!sample.ok) throw new Error(`floor operation ${i} failed: ${sample.error}`);
      return sample.workflowId;
    });
    floorWorker.shutdown();
    await running;

    if (dumpDir) {
      const dump = async (c: Client, id: string, name: string) =>
        writeFileSync(join(dumpDir, name), historyToJSON(await c.workflow.getHandle(id).fetchHistory()));
      mkdirSync(dumpDir, { recursive: true });
      await dump(stack.client, losIds[0]!, 'los-history.json');
      await dump(plainClient, floorIds[0]!, 'floor-history.json');
      // The same LOS history's payloads decoded, in order: what each event carries, for a person.
      const codec = new LosPayloadCodec(stack.keys);
      const decoded = [];
      for (const event of (await stack.client.workflow.getHandle(losIds[0]!).fetchHistory()).events ?? []) {
        for (const { path, payload } of payloadsOf(event, '', [])) {
          const [plain] = await codec.decode([payload]);
          decoded.push({
            eventId: Number(event.eventId),
            event: eventLabel(event),
            path,
            value: Buffer.from(plain!.data ?? new Uint8Array()).toString('utf8'),
          });
        }
      }
      writeFileSync(join(dumpDir, 'los-payloads.json'), `${JSON.stringify(decoded, null, 2)}\n`);
    }
    const los = await breakDown(stack.client, losIds, new LosPayloadCodec(stack.keys));
    const flo = await breakDown(plainClient, floorIds);
    const ratio = los.jsonBytes / los.histories / (flo.jsonBytes / flo.histories);
    const report = [
      render('LOS operation', los),
      render('Floor', flo),
      `LOS/floor history bytes per operation: ${ratio.toFixed(2)}x (${(los.jsonBytes / los.histories).toFixed(0)} / ${(flo.jsonBytes / flo.histories).toFixed(0)})`,
    ].join('\n');
    console.log(report);
    if (jsonOut) {
      const examples = Object.fromEntries(los.examples);
      writeFileSync(
        jsonOut,
        `${JSON.stringify({ losBytes: los.jsonBytes / los.histories, floorBytes: flo.jsonBytes / flo.histories, ratio, examples }, null, 2)}\n`,
      );
    }
  } finally {
    for (const agency of agencies) await agency.stop().catch(() => undefined);
    await worker.stop();
    await bridge.stop();
    await floorChannel?.close().catch(() => undefined);
    await floorConnection?.close().catch(() => undefined);
    await stack.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:bytes failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
