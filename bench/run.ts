/**
 * `npm run bench`: how fast, how costly and how large the engine is on this machine, in one run. See
 * bench/README.md for what each figure means. Figures are reported, never asserted.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency } from '../agencies/index.js';
import { loadCatalogueFile, DEFAULT_MAX_CACHED_WORKFLOWS } from '../config/index.js';
import { AGENCY_IDS, candidateAgencies } from '../domain/index.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { BaselineRunner, baselinePlan, floorPlan, planCounts, type BaselineSample } from './baseline.js';
import { FloorChannel } from './floor.js';
import { historyCost } from './history.js';
import { closedLoop, openLoop, type LoadResult } from './load.js';
import { measureCodecCost } from './codec.js';
import { PLAINTEXT_ENGINE_ENTRY, plaintextKeys } from './plaintext.js';
import { directDriver } from './drivers.js';
import {
  ACTION_LEAD_MS,
  AgencyWatch,
  LIFECYCLE_CATEGORIES,
  benchTip,
  LIFECYCLE_CONFIG,
  lifecycleContext,
  runLifecycle,
  type LifecycleContext,
} from './operations.js';
import { PhaseMeter, summariseErrors } from './phases.js';
import { measureApiComparison } from './api-comparison.js';
import { CpuMeter, MemorySampler, readMemory, resetPeak, sqliteSize, type MachineUsage } from './processes.js';
import { measureAnswerBurst } from './answer-burst.js';
import { bridgeSettled, floodSettings, measureFlood } from './flood.js';
import { measureRawJetStream } from './raw-jetstream.js';
import { renderMarkdown, renderSummary, type BenchResult, type BenchSettings, type ComparisonReport, type PhaseReport } from './report.js';
import { runScale, terminateAll } from './scale.js';
import { readVersions, startApiDoor, startEngineProcess, startStack, waitUntilReady, type ApiDoor, machineFacts } from './stack.js';
import { TOPOLOGIES, runTopologies, type Topology } from './topologies.js';
import { percentiles } from './stats.js';

interface Settings extends BenchSettings {
  keep: boolean;
  /** Only the lifecycle, on these topologies, side by side (bench/topologies.ts). */
  topologies?: Topology[];
}

const positiveInt = (value: string) => {
  const n = Number(value.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 0`);
  return n;
};
const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a number > 0`);
  return n;
};
const rate = (value: string) => {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) throw new InvalidArgumentError(`"${value}" is not a rate such as 2/s`);
  return Number(match[1]);
};

function readSettings(): Settings {
  const program = new Command()
    .name('bench')
    .description('Throughput, latency, cost per operation and memory of the LOS engine, with baselines, in one run.')
    .option('--quick', 'small numbers everywhere: a sanity run of about three minutes')
    .option('--rate <r>', 'open-loop arrival rate in operations per second, e.g. 2/s', rate)
    .option('--notify-rate <r>', 'arrival rate of the second open loop, which measures notify latency under more load', rate)
    .option('--duration <s>', 'seconds each load phase offers load', positiveNumber)
    .option('--concurrency <c>', 'operations in flight in the closed-loop (maximum throughput) phases', positiveInt)
    .option('--open <n>', 'operations left open in the scale run (0 skips it)', positiveInt)
    .option('--raw-events <n>', 'events in the raw JetStream publish loop', positiveInt)
    .option('--keep', 'keep the scratch directory (server database, logs) after the run')
    .option(
      '--topology <t>',
      'dev, cluster or both: only the lifecycle phases, on the dev stack and/or the production topology (npm run cluster), side by side in bench/results/topologies-latest.md',
      (value: string) => {
        if (value === 'both') return [...TOPOLOGIES];
        if (!(TOPOLOGIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`"${value}" is not dev, cluster or both`);
        return [value as Topology];
      },
    )
    .parse();
  const flags = program.opts<Partial<Settings> & { topology?: Topology[] }>();
  const quick = flags.quick ?? false;
  const defaults = quick
    ? { rate: 1, notifyRate: 2, duration: 10, concurrency: 4, open: 300, rawEvents: 200, warmup: 2, historySample: 5 }
    : // 1/s is sustainable on a 2-core machine (whose closed-loop maximum is about 5/s), so the open loop measures latency, not a backlog.
      { rate: 1, notifyRate: 2, duration: 60, concurrency: 20, open: 10_000, rawEvents: 2_000, warmup: 4, historySample: 20 };
  return {
    quick,
    rate: flags.rate ?? defaults.rate,
    notifyRate: flags.notifyRate ?? defaults.notifyRate,
    duration: flags.duration ?? defaults.duration,
    concurrency: Math.max(1, flags.concurrency ?? defaults.concurrency),
    open: flags.open ?? defaults.open,
    rawEvents: Math.max(1, flags.rawEvents ?? defaults.rawEvents),
    warmup: defaults.warmup,
    historySample: defaults.historySample,
    keep: flags.keep ?? false,
    ...(flags.topology ? { topologies: flags.topology } : {}),
  };
}

const log = (line: string) => console.error(`[bench] ${line}`);

/** A comparison workflow's closed loop, with the same concurrency and duration as the LOS closed loop. */
function comparisonPhase(
  load: LoadResult<BaselineSample>,
  cpuSeconds: Record<string, number>,
  machine: MachineUsage | undefined,
  cost: ComparisonReport['cost'],
  settings: Settings,
): Omit<ComparisonReport, 'losRatio'> {
  return {
    concurrency: settings.concurrency,
    durationSeconds: settings.duration,
    started: load.samples.length,
    completed: load.completed,
    failed: load.failed,
    throughputPerSecond: load.throughputPerSecond,
    throughputMethod: load.throughputMethod,
    lifecycleMs: percentiles(load.samples.filter((s) => s.ok).map((s) => s.finishedAt - s.startedAt)),
    cpuSeconds,
    ...(machine ? { machine } : {}),
    cpuMsPerOperation: Object.fromEntries(Object.entries(cpuSeconds).map(([name, s]) => [name, load.completed > 0 ? (s * 1000) / load.completed : 0])),
    errors: summariseErrors(load.samples),
    ...(cost ? { cost } : {}),
  };
}

/** Evenly spread over the run, so the sample covers start, middle and end. */
function sampleIds(ids: string[], count: number): string[] {
  if (ids.length <= count) return ids;
  return Array.from({ length: count }, (_, i) => ids[Math.floor((i * ids.length) / count)]!);
}

async function main() {
  // The coordinator (this process) keys the pseudonymous entity reference; a run of its own needs a key of its own.
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const settings = readSettings();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const startedAt = new Date();
  const benchStart = performance.now();
  const loadAtStart = loadavg();
  const runId = startedAt.getTime().toString(36);
  const scratch = mkdtempSync(join(tmpdir(), 'los-bench-'));
  if (settings.topologies) {
    try {
      const { rate, duration, concurrency, historySample } = settings;
      return await runTopologies(settings.topologies, { rate, duration, concurrency, historySample }, scratch);
    } finally {
      if (!settings.keep) rmSync(scratch, { recursive: true, force: true });
    }
  }
  const taskQueue = `los-bench-${runId}`;
  log(`run ${runId}${settings.quick ? ' (quick)' : ''}; scratch ${scratch}`);

  const stack = await startStack(scratch, log);
  const worker = startEngineProcess('worker', stack, taskQueue, scratch);
  let bridge = startEngineProcess('bridge', stack, taskQueue, scratch);
  // The processes the CPU meter and the memory sampler read: the engine's, or (for one phase) its plaintext twin's.
  const measured = { worker, bridge };
  const agencies: SimulatedAgency[] = [];
  let door: ApiDoor | undefined;
  let baselineConnection: NativeConnection | undefined;
  let floorChannel: FloorChannel | undefined;
  try {
    const pids = () => ({
      server: stack.temporal?.process.pid,
      nats: stack.nats?.process.pid,
      worker: measured.worker.child.pid,
      bridge: measured.bridge.child.pid,
      api: door?.api.child.pid,
      idp: door?.idp.process.pid,
      bench: process.pid,
    });
    const sampler = new MemorySampler(pids);
    const cpu = new CpuMeter(pids);
    const versions = await readVersions(stack);

    const catalogue = loadCatalogueFile();
    const candidates = candidateAgencies(LIFECYCLE_CATEGORIES, catalogue);
    const secondWave = catalogue.agencies.length - candidates.length;
    const plan = baselinePlan(candidates.length, secondWave, ACTION_LEAD_MS, 1_000);
    // The baseline and the floor run with Temporal's plain data converter: no sealing, no payload codec.
    const plainClient = new Client({ connection: stack.client.connection, namespace: stack.client.options.namespace });
    const baseline = new BaselineRunner(plainClient, `${taskQueue}-baseline`, runId, plan, candidates.length);
    const floor = new BaselineRunner(plainClient, `${taskQueue}-floor`, runId, floorPlan(plan), candidates.length, 'floor');
    floorChannel = await FloorChannel.open(stack.natsUrl, runId);
    baselineConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    log('bundling workflows: the LOS worker (child process), the baseline and the floor workers (here)');
    const baselineWorker = await baseline.createWorker(baselineConnection);
    const floorWorker = await floor.createWorker(baselineConnection, floorChannel.activities);
    log('starting the identity provider and the API (processes of their own)');
    door = await startApiDoor(stack, taskQueue, scratch);
    await waitUntilReady(worker, bridge, stack, taskQueue);
    const workerStartup = readMemory(worker.child.pid!);
    // Start-up (webpack bundling the workflows) is not running operations; its peak is reported on its own.
    const peakReset = resetPeak(worker.child.pid!) && resetPeak(bridge.child.pid!);
    sampler.start();
    // The worker child reads the same variable (config/environment.ts); unset, it keeps the engine's default.
    const cachedWorkflows = Number(process.env.MAX_CACHED_WORKFLOWS ?? DEFAULT_MAX_CACHED_WORKFLOWS);

    const watch = new AgencyWatch();
    for (const agency of AGENCY_IDS) {
      agencies.push(await startSimulatedAgency(agency, defaultBehaviour(agency), { servers: stack.natsUrl, onEvent: watch.onEvent, onAnswer: watch.onAnswer }));
    }
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue, taskQueue, runId, watch });
    let tipIndex = 0;
    const lifecycle = (probeAnswers: boolean) => () => runLifecycle(ctx, tipIndex++, { probeAnswers });

    log(`warm-up: ${settings.warmup} operations`);
    watch.beginPhase();
    const warm = await Promise.all(Array.from({ length: settings.warmup }, lifecycle(false)));
    if (warm.some((s) => !s.ok)) throw new Error(`warm-up failed: ${Object.keys(summariseErrors(warm)).join('; ')}`);

    const meter = new PhaseMeter(watch, sampler, cpu, log);
    const measurePhase = meter.measure.bind(meter);
    const openExtra = (rate: number) => ({ door: 'direct' as const, offeredRatePerSecond: rate, durationSeconds: settings.duration });
    const closedExtra = { door: 'direct' as const, concurrency: settings.concurrency, durationSeconds: settings.duration };

    const { report: openLoopReport } = await measurePhase(
      `open loop: ${settings.rate}/s for ${settings.duration}s, answers probed`,
      () => openLoop(settings.rate, settings.duration, lifecycle(true)),
      openExtra(settings.rate),
      true,
    );
    const { report: notifyLoopReport } = await measurePhase(
      `open loop for notify latency: ${settings.notifyRate}/s for ${settings.duration}s`,
      () => openLoop(settings.notifyRate, settings.duration, lifecycle(false)),
      openExtra(settings.notifyRate),
    );
    const { report: closedLoopReport, samples: closedSamples } = await measurePhase(
      `closed loop: ${settings.concurrency} in flight for ${settings.duration}s`,
      () => closedLoop(settings.concurrency, settings.duration, lifecycle(false)),
      closedExtra,
    );
    // Issue 18: the same closed loop through the HTTP API right after the direct one, then decisions through it at --rate.
    const api = await measureApiComparison({
      meter,
      direct: ctx,
      door,
      nextTip: () => tipIndex++,
      concurrency: settings.concurrency,
      durationSeconds: settings.duration,
      rate: settings.rate,
      closedDirect: closedLoopReport,
    });
    const workerAfterThroughput = readMemory(worker.child.pid!);
    const bridgeAfterThroughput = readMemory(bridge.child.pid!);

    log('cost per operation: reading histories');
    const losIds = closedSamples.filter((s) => s.ok && s.operationId).map((s) => s.operationId!);
    const cost = await historyCost(stack.client, sampleIds(losIds, settings.historySample));

    // The same closed loop on the engine without encryption: a worker and a bridge given Temporal's plain data
    // converter and a sealer that seals nothing (bench/plaintext.ts), and tips not sealed. The bridges share one
    // pinned consumer, so the engine's bridge steps aside for the phase and comes back after it.
    await bridge.stop();
    const plainQueue = `${taskQueue}-plaintext`;
    const plaintext = { name: 'plaintext', entry: PLAINTEXT_ENGINE_ENTRY };
    measured.worker = startEngineProcess('worker', stack, plainQueue, scratch, plaintext);
    measured.bridge = startEngineProcess('bridge', stack, plainQueue, scratch, plaintext);
    let closedPlainReport: PhaseReport;
    try {
      await waitUntilReady(measured.worker, measured.bridge, stack, plainQueue);
      const plainKeys = plaintextKeys(stack.keys);
      const plainCtx: LifecycleContext = {
        ...ctx,
        client: plainClient,
        keys: plainKeys,
        taskQueue: plainQueue,
        driver: directDriver({ client: plainClient, keys: plainKeys, catalogue, taskQueue: plainQueue }),
      };
      ({ report: closedPlainReport } = await measurePhase(
        `closed loop without encryption: ${settings.concurrency} in flight for ${settings.duration}s (a plaintext worker and bridge)`,
        () => closedLoop(settings.concurrency, settings.duration, () => runLifecycle(plainCtx, tipIndex++, { probeAnswers: false })),
        closedExtra,
      ));
    } finally {
      await measured.worker.stop();
      await measured.bridge.stop();
      bridge = startEngineProcess('bridge', stack, taskQueue, scratch);
      Object.assign(measured, { worker, bridge });
    }
    await waitUntilReady(worker, bridge, stack, taskQueue);

    /** A comparison workflow's closed loop, with the LOS closed loop's concurrency and duration. */
    const compare = async (runner: BaselineRunner, comparisonWorker: Worker): Promise<Omit<ComparisonReport, 'losRatio'>> => {
      const running = comparisonWorker.run();
      cpu.begin();
      const load = await closedLoop(settings.concurrency, settings.duration, (i) => runner.runOne(i));
      const cpuSeconds = cpu.end();
      const machine = cpu.machine();
      comparisonWorker.shutdown();
      await running;
      sampler.takePeaks();
      log(`  ${load.completed} completed, ${load.failed} failed, ${load.throughputPerSecond.toFixed(2)}/s`);
      const cost = await historyCost(
        stack.client,
        sampleIds(
          load.samples.filter((s) => s.ok).map((s) => s.workflowId),
          settings.historySample,
        ),
      );
      return comparisonPhase(load, cpuSeconds, machine, cost, settings);
    };

    log(
      `floor: the same logical work, hand-tuned (one activity per fan-out, published to JetStream), ${settings.concurrency} in flight for ${settings.duration}s`,
    );
    await floorChannel.startAgencies((workflowId) => floor.answer(workflowId));
    const floorReport = await compare(floor, floorWorker);

    log(`baseline: the same shape as a bare workflow, ${settings.concurrency} in flight for ${settings.duration}s`);
    const baselineReport = await compare(baseline, baselineWorker);

    const burstRounds = settings.quick ? 3 : 20;
    log(`answer burst: ${burstRounds} rounds of 300 answers to one operation, with a bystander answer to another`);
    const answerBurst = await measureAnswerBurst(ctx, stack.nc, { rounds: burstRounds, burstSize: 300, busy: candidates[0]!, bystander: candidates[1]! });
    log(`  bystander p99 ${answerBurst.bystanderMs.p99.toFixed(0)} ms; burst drained in p50 ${answerBurst.burstDrainMs.p50.toFixed(0)} ms`);

    const floodPlan = floodSettings(settings.quick);
    log(`flood: one agency floods the bridge at ${floodPlan.ratePerSecond}/s for ${floodPlan.seconds} s in each way while another answers`);
    const flood = await measureFlood(ctx, stack.nc, { ...floodPlan, flooder: candidates[0]!, other: candidates[1]!, settled: bridgeSettled(stack.nc) });
    log(`  the other agency's answer p99 ${flood.otherMs.p99.toFixed(0)} ms`);

    log(`raw JetStream: ${settings.rawEvents} events`);
    const raw = await measureRawJetStream(stack.nc, settings.rawEvents, runId);

    log('codec cost: sealing and the payload codec, with and without, per operation');
    const codecCost = await measureCodecCost(stack.keys, benchTip(runId, 0, LIFECYCLE_CATEGORIES));

    let scale: BenchResult['scale'];
    if (settings.open > 0) {
      log(`scale: ${settings.open} operations left open in assessment`);
      const scaleCtx: LifecycleContext = { ...ctx, runId: `${runId}-open` };
      cpu.begin();
      const databaseBefore = stack.dbFile ? sqliteSize(stack.dbFile) : undefined;
      const run = await runScale(scaleCtx, settings.open, { worker: worker.child.pid!, bridge: bridge.child.pid! }, stack.dbFile, log);
      const scaleCpu = cpu.end();
      const scaleMachine = cpu.machine();
      scale = {
        requested: run.requested,
        registered: run.registered,
        failed: run.failed,
        assessmentDeadline: run.assessmentDeadline,
        checkpoints: run.checkpoints,
        ...(databaseBefore ? { databaseBefore } : {}),
        cpuSeconds: scaleCpu,
        ...(scaleMachine ? { machine: scaleMachine } : {}),
      };
      if (!stack.temporal) {
        log(`terminating the ${run.workflowIds.length} open operations on the external server`);
        await terminateAll(scaleCtx, run.workflowIds);
      }
    }

    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
    const result: BenchResult = {
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: (performance.now() - benchStart) / 1000,
      settings: {
        quick: settings.quick,
        rate: settings.rate,
        notifyRate: settings.notifyRate,
        duration: settings.duration,
        concurrency: settings.concurrency,
        open: settings.open,
        rawEvents: settings.rawEvents,
        warmup: settings.warmup,
        historySample: settings.historySample,
      },
      machine: machineFacts(loadAtStart),
      versions,
      stack: {
        temporal: stack.temporal ? `dev server started by the bench (SQLite, headless) at ${stack.temporalAddress}` : `external at ${stack.temporalAddress}`,
        nats: stack.nats ? `nats-server started by the bench at ${stack.natsUrl}` : `external at ${stack.natsUrl}`,
        engine:
          'worker, bridge and API as child processes (node --import tsx workers/main.ts worker, … bridge, … api), the identity provider too (idp/main.ts); agencies, coordinator, baseline and floor workers in the bench process',
      },
      lifecycle: {
        categories: [...LIFECYCLE_CATEGORIES],
        agencies: candidates,
        secondWave,
        config: LIFECYCLE_CONFIG,
        actionLeadMs: ACTION_LEAD_MS,
        perOperation: { ...planCounts(plan), fanOuts: planCounts(floorPlan(plan)).fanOuts, coordinatorDecisions: 3, agencyAnswers: 4 * candidates.length },
      },
      openLoop: openLoopReport,
      closedLoop: closedLoopReport,
      closedLoopWithoutEncryption: {
        ...closedPlainReport,
        encryptionCost:
          closedPlainReport.throughputPerSecond > 0 ? 1 - closedLoopReport.throughputPerSecond / closedPlainReport.throughputPerSecond : undefined,
      },
      notifyLoop: notifyLoopReport,
      baseline: { ...baselineReport, losRatio: ratio(closedLoopReport.throughputPerSecond, baselineReport.throughputPerSecond) },
      floor: { ...floorReport, losRatio: ratio(closedLoopReport.throughputPerSecond, floorReport.throughputPerSecond) },
      rawJetStream: {
        ...raw,
        notifyCostRatio: ratio(openLoopReport.notifyEachMs?.p50, raw.publishToReceiveMs.p50),
      },
      codecCost,
      ...(cost ? { cost } : {}),
      answerBurst,
      flood,
      api,
      memory: {
        peakResetAfterStartup: peakReset,
        cachedWorkflows,
        ...(workerAfterThroughput
          ? {
              workerPeakThroughputBytes: peakReset
                ? workerAfterThroughput.peakBytes
                : Math.max(openLoopReport.peakRssBytes.worker ?? 0, closedLoopReport.peakRssBytes.worker ?? 0),
              workerRssAfterThroughputBytes: workerAfterThroughput.rssBytes,
            }
          : {}),
        ...(bridgeAfterThroughput
          ? {
              bridgePeakThroughputBytes: peakReset
                ? bridgeAfterThroughput.peakBytes
                : Math.max(openLoopReport.peakRssBytes.bridge ?? 0, closedLoopReport.peakRssBytes.bridge ?? 0),
            }
          : {}),
        ...(workerStartup ? { workerStartupPeakBytes: workerStartup.peakBytes, workerRssAtReadyBytes: workerStartup.rssBytes } : {}),
      },
      ...(scale ? { scale } : {}),
    };
    sampler.stop();

    const outDir = join(PROJECT_ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const stamp = `${startedAt.toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}`;
    const json = `${JSON.stringify(result, null, 2)}\n`;
    const markdown = renderMarkdown(result);
    for (const name of [stamp, 'latest']) {
      writeFileSync(join(outDir, `${name}.json`), json);
      writeFileSync(join(outDir, `${name}.md`), markdown);
    }
    console.log(renderSummary(result));
    log(`written: bench/results/${stamp}.{json,md} and bench/results/latest.{json,md}`);
  } finally {
    for (const agency of agencies) await agency.stop().catch(() => undefined);
    await door?.stop();
    await worker.stop();
    await bridge.stop();
    await floorChannel?.close().catch(() => undefined);
    await baselineConnection?.close().catch(() => undefined);
    await stack.stop();
    if (settings.keep) log(`scratch kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
