/**
 * `npm run bench:api`: only issue 18's two measurements of the API, in a few minutes: the closed loop driven directly
 * on Temporal and through the HTTP API (same concurrency and duration), their throughput ratio, and an open loop
 * through the API at 1 operation/s with every decision's round trip; the same open loop directly, for reference.
 * Writes bench/results/api-<time>.{json,md} and api-latest.{json,md}. See bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { AGENCY_IDS } from '../domain/index.js';
import { apiContext, measureApiComparison, type ApiComparison } from './api-comparison.js';
import { AgencyWatch, lifecycleContext, runLifecycle } from './operations.js';
import { PhaseMeter, summariseErrors } from './phases.js';
import { CpuMeter, MemorySampler } from './processes.js';
import { apiMarkdown, apiSummaryRows } from './report.js';
import {
  readVersions,
  startApiDoor,
  startBenchRun,
  endBenchRun,
  eraserNote,
  waitUntilReady,
  type ApiDoor,
  type Versions,
  machineFacts,
  writeResults,
  type MachineFacts,
} from './stack.js';
import { round } from './stats.js';

export interface ApiBenchResult {
  runId: string;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  machine: MachineFacts;
  versions: Versions;
  /** Candidate agencies per operation (the lifecycle's notify figures count them). */
  candidateAgencies: number;
  api: ApiComparison;
}

const whole = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 1`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value.replace(/\/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a number > 0`);
  return n;
};

const log = (line: string) => console.error(`[bench:api] ${line}`);

function render(r: ApiBenchResult): string {
  const load = (l: number[]) => l.map((x) => round(x, 2)).join(' ');
  return [
    `# LOS engine benchmark through the API ${r.runId}`,
    '',
    `${r.startedAt} → ${r.finishedAt} (${round(r.wallSeconds, 0)} s), \`npm run bench:api\`. Machine: ${r.machine.cores} × ${r.machine.cpuModel}, ${r.machine.memoryMiB} MiB, ${r.versions.os}; load average ${load(r.machine.loadAverageAtStart)} at start, ${load(r.machine.loadAverageAtEnd)} at end. Node ${r.versions.node}, Temporal ${r.versions.temporalServer ?? '?'} (dev server, SQLite), nats-server ${r.versions.natsServer ?? '?'}. The worker, the bridge, the API and the identity provider are child processes; the coordinator and the 13 simulated agencies are the bench process. See bench/README.md.${eraserNote()}`,
    '',
    apiMarkdown(r.api, r.candidateAgencies, r.machine.cores),
  ].join('\n');
}

async function main() {
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const settings = new Command()
    .name('bench:api')
    .description('The closed loop direct and through the HTTP API side by side, and decisions through the API at a low rate.')
    .option('--concurrency <c>', 'operations in flight in both closed loops', whole, 20)
    .option('--duration <s>', 'seconds each phase offers load', positive, 60)
    .option('--rate <r>', 'the open loop’s arrival rate, operations per second', positive, 1)
    .option('--keep', 'keep the scratch directory (logs of every process)')
    .parse()
    .opts<{ concurrency: number; duration: number; rate: number; keep?: boolean }>();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { startedAt, benchStart, loadAtStart, runId, scratch, taskQueue, stack, worker, bridge } = await startBenchRun('api', log);
  let door: ApiDoor | undefined;
  const agencies: SimulatedAgency[] = [];
  try {
    log('starting the identity provider and the API');
    door = await startApiDoor(stack, taskQueue, scratch);
    const apiDoor = door;
    await waitUntilReady(worker, bridge, stack, taskQueue);
    const pids = () => ({
      server: stack.temporal?.process.pid,
      nats: stack.nats?.process.pid,
      worker: worker.child.pid,
      bridge: bridge.child.pid,
      api: apiDoor.api.child.pid,
      idp: apiDoor.idp.process.pid,
      bench: process.pid,
    });
    const sampler = new MemorySampler(pids);
    const cpu = new CpuMeter(pids);
    sampler.start();
    const versions = await readVersions(stack);
    const watch = new AgencyWatch();
    for (const agency of AGENCY_IDS) {
      agencies.push(await startSimulatedAgency(agency, defaultBehaviour(agency), { servers: stack.natsUrl, onEvent: watch.onEvent, onAnswer: watch.onAnswer }));
    }
    const catalogue = loadCatalogueFile();
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue, taskQueue, runId, watch });
    let tipIndex = 0;
    log('warm-up: 2 operations directly, 2 through the API');
    const { ctx: warmApi } = apiContext(ctx, apiDoor);
    const warm = await Promise.all([ctx, ctx, warmApi, warmApi].map((c) => runLifecycle(c, tipIndex++, { probeAnswers: false })));
    if (warm.some((s) => !s.ok)) throw new Error(`warm-up failed: ${Object.keys(summariseErrors(warm)).join('; ')}`);

    const api = await measureApiComparison({
      meter: new PhaseMeter(watch, sampler, cpu, log),
      direct: ctx,
      door: apiDoor,
      nextTip: () => tipIndex++,
      concurrency: settings.concurrency,
      durationSeconds: settings.duration,
      rate: settings.rate,
      openDirect: true,
    });
    sampler.stop();
    const result: ApiBenchResult = {
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: (performance.now() - benchStart) / 1000,
      machine: machineFacts(loadAtStart),
      versions,
      candidateAgencies: ctx.agencies.length,
      api,
    };
    const stamp = writeResults('api-', 'api-latest', startedAt, result, render(result));
    const rows = apiSummaryRows(api);
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n'));
    log(`written: bench/results/${stamp}.{json,md} and bench/results/api-latest.{json,md}`);
  } finally {
    for (const agency of agencies) await agency.stop().catch(() => undefined);
    await door?.stop();
    await endBenchRun({ worker, bridge, stack, scratch }, settings.keep ?? false, log);
  }
}

main().catch((err) => {
  console.error(`bench:api failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
