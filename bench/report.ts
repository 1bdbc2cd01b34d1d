import type { HistoryCost } from './history.js';
import type { AnswerBurstResult } from './answer-burst.js';
import type { FloodResult } from './flood.js';
import type { RawJetStreamResult } from './raw-jetstream.js';
import type { CodecCostResult } from './codec.js';
import type { MachineUsage } from './processes.js';
import type { ScaleCheckpoint } from './scale.js';
import { eraserNote, type Versions } from './stack.js';
import { API_TARGETS, type ApiComparison } from './api-comparison.js';
import { mib, round, type Percentiles } from './stats.js';

/** The result file's shape, and the two ways it is shown: a summary table and a Markdown report. */

export interface PhaseReport {
  /** Which door the coordinator's actions went through (bench/drivers.ts); absent in results from before the API: direct. */
  door?: 'direct' | 'api';
  offeredRatePerSecond?: number;
  concurrency?: number;
  durationSeconds: number;
  started: number;
  completed: number;
  failed: number;
  throughputPerSecond: number;
  throughputMethod: 'steady window' | 'whole phase';
  windowSeconds: number;
  drainSeconds: number;
  lifecycleMs?: Percentiles;
  /** Where the lifecycle's time went, per step, over the completed operations. */
  stepsMs: Record<string, Percentiles | undefined>;
  assessRoundTripMs?: Percentiles;
  /** Every decision's round trip (assess, schedule, close): client send → receipt, resends included. */
  decisionRoundTripMs?: Percentiles;
  /** Decisions sent again because the operation had not caught up yet (409 / validator refusal). */
  decisionsResent?: number;
  notifyAllMs?: Percentiles;
  notifyAllFromSendMs?: Percentiles;
  notifyEachMs?: Percentiles;
  answerMs?: Percentiles;
  answerProbesUnresolved?: number;
  eventsDeliveredPerSecond: number;
  /** State queries the bench sent per operation: the coordinator's polling and, in the open loop, the answer probes. */
  stateQueriesPerOperation: number;
  cpuSeconds: Record<string, number>;
  machine?: MachineUsage;
  cpuMsPerOperation: Record<string, number>;
  peakRssBytes: Record<string, number>;
  errors: Record<string, number>;
}

/** A comparison workflow's closed loop (bench/baseline-workflow.ts): the bare baseline or the floor. */
export interface ComparisonReport {
  concurrency: number;
  durationSeconds: number;
  started: number;
  completed: number;
  failed: number;
  throughputPerSecond: number;
  throughputMethod: 'steady window' | 'whole phase';
  lifecycleMs?: Percentiles;
  cpuSeconds: Record<string, number>;
  machine?: MachineUsage;
  cpuMsPerOperation: Record<string, number>;
  errors: Record<string, number>;
  cost?: HistoryCost;
  /** LOS closed-loop throughput over this one's. */
  losRatio?: number;
}

/** The run's settings, as `npm run bench` flags set them (bench/README.md). */
export interface BenchSettings {
  quick: boolean;
  rate: number;
  notifyRate: number;
  duration: number;
  concurrency: number;
  open: number;
  rawEvents: number;
  warmup: number;
  historySample: number;
}

export interface BenchResult {
  runId: string;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  settings: BenchSettings;
  machine: { cores: number; availableParallelism: number; cpuModel: string; memoryMiB: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  versions: Versions;
  stack: { temporal: string; nats: string; engine: string };
  lifecycle: {
    categories: string[];
    agencies: string[];
    secondWave: number;
    config: Record<string, unknown>;
    actionLeadMs: number;
    /** Notices to agencies, the fan-outs they form, signals (answers and decisions) and lifecycle timers of the plan the comparisons run. */
    perOperation: { notices: number; fanOuts: number; signals: number; timers: number; coordinatorDecisions: number; agencyAnswers: number };
  };
  openLoop: PhaseReport;
  closedLoop: PhaseReport;
  /**
   * The same closed loop on a worker and a bridge without encryption (bench/plaintext.ts, tips not sealed), in the
   * same run: what confidentiality costs. `encryptionCost` is the share of throughput it takes (issue 9: at most 0.1).
   * Absent in results from before it was measured.
   */
  closedLoopWithoutEncryption?: PhaseReport & { encryptionCost?: number };
  /** The second open loop, at settings.notifyRate, without answer probes. */
  notifyLoop: PhaseReport;
  baseline: ComparisonReport;
  floor: ComparisonReport;
  rawJetStream: RawJetStreamResult & { notifyCostRatio?: number };
  /** Absent in results from before issue 10. */
  answerBurst?: AnswerBurstResult;
  /** One agency flooding the bridge in each way while another answers (issue 21); absent before it. */
  flood?: FloodResult;
  /** The closed loop through the HTTP API beside the direct one, and decisions timed through it (issue 18). */
  api?: ApiComparison;
  /** Sealing and the payload codec per operation, with and without (issue 9). */
  codecCost?: CodecCostResult;
  cost?: HistoryCost;
  memory: {
    peakResetAfterStartup: boolean;
    /** The worker's sticky-cache bound (MAX_CACHED_WORKFLOWS). */
    cachedWorkflows: number;
    workerPeakThroughputBytes?: number;
    workerRssAfterThroughputBytes?: number;
    bridgePeakThroughputBytes?: number;
    /** VmHWM when the worker first polled: start-up, including bundling the workflows. */
    workerStartupPeakBytes?: number;
    workerRssAtReadyBytes?: number;
  };
  scale?: {
    requested: number;
    registered: number;
    failed: number;
    assessmentDeadline: string;
    checkpoints: ScaleCheckpoint[];
    databaseBefore?: { db: number; wal: number; shm: number; total: number };
    cpuSeconds: Record<string, number>;
    machine?: MachineUsage;
  };
}

const na = 'n/a';
/** The other agency's answer while one agency floods, per kind of flood and overall. */
export function floodRows(flood: FloodResult): [string, string][] {
  return [
    [`Other agency's answer while one agency floods at ${flood.ratePerSecond}/s, p50/p95/p99, all kinds`, ms(flood.otherMs)],
    ...flood.kinds.map((k): [string, string] => [
      `… flood of ${k.kind} (${k.sent} sent at ${round(k.perSecond, 0)}/s, ${k.refusedAtDoor} refused at the door, drained in ${round(k.drainedMs / 1000, 1)} s)`,
      ms(k.otherMs),
    ]),
  ];
}

const ms = (p: Percentiles | undefined) => (p ? `${round(p.p50, 1)} / ${round(p.p95, 1)} / ${round(p.p99, 1)} ms` : na);
const perSecond = (n: number) => `${round(n, 2)}/s`;
const rateOf = (p: { throughputPerSecond: number; throughputMethod: string }) =>
  `${perSecond(p.throughputPerSecond)}${p.throughputMethod === 'steady window' ? '' : ' (whole-phase estimate)'}`;
const percent = (share: number | undefined) => (share === undefined ? na : `${round(share * 100, 1)}%`);
const times = (r: number | undefined) => (r === undefined ? na : `${round(r, 2)}×`);
const bytes = (b: number | undefined) => (b === undefined ? na : `${mib(b)} MiB`);
const mean = (s: { mean: number; min: number; max: number } | undefined) => (s ? `${round(s.mean, 1)} (${s.min}–${s.max})` : na);
const machineLine = (m: MachineUsage | undefined, cores: number) =>
  m
    ? `Machine: ${round(m.busyCores, 2)} of ${cores} cores busy on average, ${round(m.otherCores, 2)} of them outside the processes under test; ${round(m.iowaitCores, 2)} cores waiting on the disk.`
    : '';
const cpuLine = (perOp: Record<string, number>) =>
  Object.entries(perOp)
    .map(([name, value]) => `${name} ${round(value, 0)}`)
    .join(', ') || na;

/** One line that says what machine the figures come from and how busy it was. */
export function machineSummary(r: BenchResult): string {
  const load = (l: number[]) => l.map((x) => round(x, 2)).join(' ');
  const busy = r.closedLoop.machine
    ? `; closed loop: ${round(r.closedLoop.machine.busyCores, 2)} cores busy, ${round(r.closedLoop.machine.otherCores, 2)} by other processes`
    : '';
  return `Machine: ${r.machine.cores} × ${r.machine.cpuModel}, ${r.machine.memoryMiB} MiB, ${r.versions.os}; load average ${load(r.machine.loadAverageAtStart)} at start, ${load(r.machine.loadAverageAtEnd)} at end${busy}`;
}

function summaryRows(r: BenchResult): [string, string][] {
  const n = r.lifecycle.agencies.length;
  const rows: [string, string][] = [
    [
      `Throughput, open loop (offered ${r.openLoop.offeredRatePerSecond}/s for ${r.openLoop.durationSeconds}s)`,
      `${rateOf(r.openLoop)} (${r.openLoop.completed} done, ${r.openLoop.failed} failed)`,
    ],
    [
      `Throughput, closed loop (${r.closedLoop.concurrency} in flight)`,
      `${rateOf(r.closedLoop)} (${r.closedLoop.completed} done, ${r.closedLoop.failed} failed)`,
    ],
    ...(r.closedLoopWithoutEncryption
      ? ([
          [
            `Throughput, closed loop without encryption (${r.closedLoopWithoutEncryption.concurrency} in flight, same run)`,
            `${rateOf(r.closedLoopWithoutEncryption)} → encryption costs ${percent(r.closedLoopWithoutEncryption.encryptionCost)} of throughput`,
          ],
        ] as [string, string][])
      : []),
    [`Floor: same logical work, hand-tuned (${r.floor.concurrency} in flight)`, `${rateOf(r.floor)} → LOS/floor ${times(r.floor.losRatio)}`],
    [`Baseline bare workflow, same shape (${r.baseline.concurrency} in flight)`, `${rateOf(r.baseline)} → LOS/baseline ${times(r.baseline.losRatio)}`],
    ['Lifecycle latency p50/p95/p99, open loop (includes 2 s of timers)', ms(r.openLoop.lifecycleMs)],
    [`Notify latency p50/p95/p99, open loop at ${r.openLoop.offeredRatePerSecond}/s (assess returned → all ${n} hold request)`, ms(r.openLoop.notifyAllMs)],
    [`Notify latency p50/p95/p99, open loop at ${r.notifyLoop.offeredRatePerSecond}/s (${rateOf(r.notifyLoop)} done)`, ms(r.notifyLoop.notifyAllMs)],
    ['Notify latency p50/p95/p99, closed loop', ms(r.closedLoop.notifyAllMs)],
    [`Answer latency p50/p95/p99, open loop at ${r.openLoop.offeredRatePerSecond}/s (answer acked → state query shows it)`, ms(r.openLoop.answerMs)],
    ['Per-event notify p50 (assess returned → one agency holds it), open loop', r.openLoop.notifyEachMs ? `${round(r.openLoop.notifyEachMs.p50, 1)} ms` : na],
    ['Raw JetStream publish → receive p50/p95/p99', ms(r.rawJetStream.publishToReceiveMs)],
    ['Notify cost ratio (per-event notify p50 / raw p50)', times(r.rawJetStream.notifyCostRatio)],
    ['Bystander answer during a 300-answer burst p50/p95/p99', r.answerBurst ? ms(r.answerBurst.bystanderMs) : na],
    ['300-answer burst drained p50/p95/p99', r.answerBurst ? ms(r.answerBurst.burstDrainMs) : na],
    ...(r.flood ? floodRows(r.flood) : []),
    ...(r.codecCost
      ? ([
          ['Start input per operation, plain p50/p95', `${r.codecCost.plainMs.p50.toFixed(3)} / ${r.codecCost.plainMs.p95.toFixed(3)} ms`],
          ['Start input per operation, sealed + codec p50/p95', `${r.codecCost.encryptedMs.p50.toFixed(3)} / ${r.codecCost.encryptedMs.p95.toFixed(3)} ms`],
        ] as [string, string][])
      : []),
    [
      'History events per operation, mean (min–max) [floor; baseline]',
      `${mean(r.cost?.events)} [${mean(r.floor.cost?.events)}; ${mean(r.baseline.cost?.events)}]`,
    ],
    [
      'Workflow tasks per operation, mean (min–max) [floor; baseline]',
      `${mean(r.cost?.workflowTasks)} [${mean(r.floor.cost?.workflowTasks)}; ${mean(r.baseline.cost?.workflowTasks)}]`,
    ],
    [
      'History bytes per operation (JSON), mean [floor] → LOS/floor',
      `${mean(r.cost?.historyJsonBytes)} [${mean(r.floor.cost?.historyJsonBytes)}] → ${
        r.cost && r.floor.cost ? times(r.cost.historyJsonBytes.mean / r.floor.cost.historyJsonBytes.mean) : na
      }`,
    ],
    ['CPU ms per operation, closed loop', cpuLine(r.closedLoop.cpuMsPerOperation)],
    ['CPU ms per operation, floor', cpuLine(r.floor.cpuMsPerOperation)],
    ['CPU ms per operation, baseline', cpuLine(r.baseline.cpuMsPerOperation)],
    [
      'Machine during the closed loop (cores busy / by other processes / iowait)',
      r.closedLoop.machine
        ? `${round(r.closedLoop.machine.busyCores, 2)} / ${round(r.closedLoop.machine.otherCores, 2)} / ${round(r.closedLoop.machine.iowaitCores, 2)} of ${r.machine.cores}`
        : na,
    ],
    ['Worker peak RSS during the load phases', bytes(r.memory.workerPeakThroughputBytes)],
    ...(r.api ? apiSummaryRows(r.api).slice(1) : []),
  ];
  for (const c of r.scale?.checkpoints ?? []) {
    rows.push([
      `Scale: ${c.open} open operations, cache ${r.memory.cachedWorkflows}${c.settled ? '' : ' (not settled)'}`,
      `worker RSS ${bytes(c.workerRssBytes)} (peak ${bytes(c.workerPeakBytes)}), database ${bytes(c.database?.total)}`,
    ]);
  }
  return rows;
}

/** ✓ when the figure meets its target, ✗ when it does not (n/a without a figure). */
const meets = (met: boolean | undefined) => (met === undefined ? '' : met ? ' ✓' : ' ✗');

/** The API's figures against issue 18's targets, for the summary tables. */
export function apiSummaryRows(a: ApiComparison): [string, string][] {
  const decisions = a.openThroughApi.decisionRoundTripMs;
  return [
    [
      `Closed loop, direct on Temporal (${a.concurrency} in flight, ${a.durationSeconds}s)`,
      `${rateOf(a.closedDirect)} (${a.closedDirect.completed} done, ${a.closedDirect.failed} failed)`,
    ],
    [
      `Closed loop through the API (${a.concurrency} in flight, ${a.durationSeconds}s) → API/direct (target ≥ ${API_TARGETS.throughputRatio})`,
      `${rateOf(a.closedThroughApi)} (${a.closedThroughApi.completed} done, ${a.closedThroughApi.failed} failed) → ${times(a.throughputRatio)}${meets(
        a.throughputRatio === undefined ? undefined : a.throughputRatio >= API_TARGETS.throughputRatio,
      )}`,
    ],
    [
      `Decision round trip through the API p50/p95/p99, open loop at ${a.rate}/s (send → receipt; target p99 ≤ ${API_TARGETS.decisionRoundTripP99Ms} ms)`,
      `${ms(decisions)} (${decisions?.count ?? 0} decisions, ${a.openThroughApi.decisionsResent ?? 0} resent)${meets(
        decisions === undefined ? undefined : decisions.p99 <= API_TARGETS.decisionRoundTripP99Ms,
      )}`,
    ],
    ...(a.openDirect
      ? ([[`Decision round trip direct p50/p95/p99, open loop at ${a.rate}/s (reference)`, ms(a.openDirect.decisionRoundTripMs)]] as [string, string][])
      : []),
    [
      'Decision round trip p50/p95/p99, closed loop: direct | through the API',
      `${ms(a.closedDirect.decisionRoundTripMs)} | ${ms(a.closedThroughApi.decisionRoundTripMs)}`,
    ],
    ['CPU ms per operation, closed loop direct', cpuLine(a.closedDirect.cpuMsPerOperation)],
    ['CPU ms per operation, closed loop through the API', cpuLine(a.closedThroughApi.cpuMsPerOperation)],
  ];
}

/** The API comparison's section of a Markdown report. */
export function apiMarkdown(a: ApiComparison, n: number, cores: number): string {
  return [
    '## Through the API (issue 18)',
    '',
    `The coordinator's actions (registering the tip, the assess, schedule and close decisions) go through \`LosClient\` over HTTP to the API process (${a.door.apiUrl}), signed in as the machine client \`${a.door.clientId}\` (client credentials at ${a.door.issuer}, a coordinator of Umeå; ${a.door.tokensFetched} token(s) fetched, renewed before expiry), or directly through api/engine.ts on the bench's own Temporal client. Everything else is the same: the bench watches each operation by the state query on its own Temporal client in both.`,
    '',
    mdTable(['figure', 'value'], apiSummaryRows(a)),
    '',
    phaseMarkdown(`Closed loop, direct: ${a.concurrency} in flight`, a.closedDirect, n, cores),
    phaseMarkdown(`Closed loop through the API: ${a.concurrency} in flight`, a.closedThroughApi, n, cores),
    phaseMarkdown(`Open loop through the API: ${a.rate}/s offered`, a.openThroughApi, n, cores),
    ...(a.openDirect ? [phaseMarkdown(`Open loop, direct: ${a.rate}/s offered (reference)`, a.openDirect, n, cores)] : []),
  ].join('\n');
}

/** A plain-text table for the terminal. */
export function renderSummary(r: BenchResult): string {
  const rows = summaryRows(r);
  const width = Math.max(...rows.map(([label]) => label.length));
  const header = `LOS engine benchmark ${r.runId}${r.settings.quick ? ' (quick)' : ''}: ${r.machine.cores} cores, Node ${r.versions.node}, Temporal ${r.versions.temporalServer ?? '?'}, nats-server ${r.versions.natsServer ?? '?'}`;
  const line = '-'.repeat(Math.min(160, width + 50));
  return [header, machineSummary(r), line, ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`), line].join('\n');
}

const mdTable = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

function percentileRows(label: string, p: Percentiles | undefined): (string | number)[] {
  return p ? [label, p.count, round(p.p50), round(p.p95), round(p.p99), round(p.max)] : [label, 0, na, na, na, na];
}

/** One load phase's section of a Markdown report. */
export function phaseMarkdown(name: string, p: PhaseReport, n: number, cores: number): string {
  return [
    `### ${name}`,
    '',
    `${p.started} started, ${p.completed} completed, ${p.failed} failed. Throughput ${perSecond(p.throughputPerSecond)} (${p.throughputMethod}, ${round(p.windowSeconds)} s); drain ${round(p.drainSeconds)} s. ${round(p.eventsDeliveredPerSecond, 1)} events delivered to agencies per second; ${round(p.stateQueriesPerOperation, 1)} state queries per operation (their cost is in the figures).`,
    '',
    mdTable(
      ['latency (ms)', 'n', 'p50', 'p95', 'p99', 'max'],
      [
        percentileRows('lifecycle (register → workflow result)', p.lifecycleMs),
        percentileRows('assess update round trip', p.assessRoundTripMs),
        ...(p.decisionRoundTripMs
          ? [percentileRows(`every decision's round trip (send → receipt; ${p.decisionsResent ?? 0} resent)`, p.decisionRoundTripMs)]
          : []),
        percentileRows(`notify: assess returned → all ${n} hold their mandate request`, p.notifyAllMs),
        percentileRows(`notify: assess sent → all ${n} hold their mandate request`, p.notifyAllFromSendMs),
        percentileRows('notify, per event: assess returned → this agency holds it', p.notifyEachMs),
        ...(p.answerMs !== undefined || p.answerProbesUnresolved !== undefined
          ? [percentileRows('answer: acked by JetStream → state query shows it', p.answerMs)]
          : []),
      ],
    ),
    '',
    mdTable(
      ['lifecycle step (ms)', 'n', 'p50', 'p95', 'p99', 'max'],
      Object.entries(p.stepsMs).map(([step, q]) => percentileRows(step, q)),
    ),
    '',
    `CPU seconds in the phase: ${
      Object.entries(p.cpuSeconds)
        .map(([k, v]) => `${k} ${round(v, 1)}`)
        .join(', ') || na
    }; per completed operation (ms): ${cpuLine(p.cpuMsPerOperation)}.`,
    machineLine(p.machine, cores),
    `Peak RSS sampled in the phase: ${
      Object.entries(p.peakRssBytes)
        .map(([k, v]) => `${k} ${mib(v)} MiB`)
        .join(', ') || na
    }.`,
    ...(p.answerProbesUnresolved ? [`Answer probes never resolved: ${p.answerProbesUnresolved}.`] : []),
    ...(Object.keys(p.errors).length > 0 ? ['', 'Failures:', ...Object.entries(p.errors).map(([e, c]) => `- ${c} × ${e}`)] : []),
    '',
  ].join('\n');
}

export function renderMarkdown(r: BenchResult): string {
  const n = r.lifecycle.agencies.length;
  const phase = (name: string, p: PhaseReport) => phaseMarkdown(name, p, n, r.machine.cores);

  const cost = (c: HistoryCost | undefined) =>
    c
      ? [
          ['history events', mean(c.events)],
          ['workflow tasks completed', mean(c.workflowTasks)],
          ['activities scheduled', mean(c.activities)],
          ['timers started', mean(c.timers)],
          ['updates accepted', mean(c.updates)],
          ['signals', mean(c.signals)],
          ['history size, JSON bytes', mean(c.historyJsonBytes)],
        ]
      : [];
  const losCost = cost(r.cost);
  const baseCost = cost(r.baseline.cost);
  const floorCost = cost(r.floor.cost);

  const scale = r.scale;
  return [
    `# LOS engine benchmark ${r.runId}${r.settings.quick ? ' (quick run)' : ''}`,
    '',
    `${r.startedAt} → ${r.finishedAt} (${round(r.wallSeconds, 0)} s). Figures are measurements on this machine, not targets; see bench/README.md for how to read them.${eraserNote()}`,
    '',
    machineSummary(r),
    '',
    '## Machine and versions',
    '',
    mdTable(
      ['', ''],
      [
        ['cores', `${r.machine.cores} (available parallelism ${r.machine.availableParallelism}), ${r.machine.cpuModel}`],
        ['memory', `${r.machine.memoryMiB} MiB`],
        [
          'load average at start / end',
          `${r.machine.loadAverageAtStart.map((l) => round(l, 2)).join(', ')} / ${r.machine.loadAverageAtEnd.map((l) => round(l, 2)).join(', ')}`,
        ],
        ['OS', r.versions.os],
        ['Node', r.versions.node],
        ['Temporal CLI', r.versions.temporalCli ?? na],
        ['Temporal server', r.versions.temporalServer ?? na],
        ['nats-server', r.versions.natsServer ?? na],
        ['Temporal TypeScript SDK', r.versions.temporalSdk],
        ['nats.js', r.versions.natsJs],
        ['Temporal', r.stack.temporal],
        ['NATS', r.stack.nats],
        ['processes', r.stack.engine],
      ],
    ),
    '',
    '## Settings',
    '',
    `Open loop ${r.settings.rate}/s for ${r.settings.duration} s, then ${r.settings.notifyRate}/s for ${r.settings.duration} s; closed loop ${r.settings.concurrency} in flight for ${r.settings.duration} s; ${r.settings.warmup} warm-up operations; scale run ${r.settings.open} operations; raw JetStream ${r.settings.rawEvents} events; ${r.settings.historySample} histories sampled per workflow type.`,
    '',
    `Each operation: tip categories ${r.lifecycle.categories.join(', ')} → ${n} candidate agencies in the national catalogue (${r.lifecycle.agencies.join(', ')}), all accepting at once; the second wave notifies the other ${r.lifecycle.secondWave}. Action scheduled ${r.lifecycle.actionLeadMs} ms ahead, follow-up after ${String(r.lifecycle.config.followUpAfter)}. Per operation: ${r.lifecycle.perOperation.notices} notifications in ${r.lifecycle.perOperation.fanOuts} fan-outs, ${r.lifecycle.perOperation.agencyAnswers} agency answers (updates via the bridge), ${r.lifecycle.perOperation.coordinatorDecisions} coordinator decisions (updates), ${r.lifecycle.perOperation.timers} lifecycle timers.`,
    '',
    '## Summary',
    '',
    mdTable(['figure', 'value'], summaryRows(r)),
    '',
    '## Load phases',
    '',
    phase(`Open loop: ${r.openLoop.offeredRatePerSecond}/s offered`, r.openLoop),
    phase(`Open loop for notify latency: ${r.notifyLoop.offeredRatePerSecond}/s offered`, r.notifyLoop),
    phase(`Closed loop: ${r.closedLoop.concurrency} in flight`, r.closedLoop),
    ...(r.closedLoopWithoutEncryption
      ? [
          phase(
            `Closed loop without encryption: ${r.closedLoopWithoutEncryption.concurrency} in flight (worker and bridge without payload codec or sealing, tips not sealed)`,
            r.closedLoopWithoutEncryption,
          ),
        ]
      : []),
    ...(r.api ? [apiMarkdown(r.api, n, r.machine.cores)] : []),
    '### Floor: the same logical work, hand-tuned',
    '',
    `bench/baseline-workflow.ts (\`floorOperation\`) and bench/floor.ts, its own worker in the bench process: ${r.lifecycle.perOperation.fanOuts} activities, one per fan-out, each publishing its notices (${r.lifecycle.perOperation.notices} in all, real mandate-request CloudEvents with Nats-Msg-Id) to a file-backed JetStream stream; the agencies read and ack every notice and answer the ${r.lifecycle.perOperation.agencyAnswers} that ask with one signal each; ${r.lifecycle.perOperation.coordinatorDecisions} decisions as signals; ${r.lifecycle.perOperation.timers} timers of the same length. ${r.floor.started} started, ${r.floor.completed} completed, ${r.floor.failed} failed; throughput ${perSecond(r.floor.throughputPerSecond)} (${r.floor.throughputMethod}); lifecycle ${ms(r.floor.lifecycleMs)}. LOS closed-loop throughput / floor: ${times(r.floor.losRatio)}. CPU ms per operation: ${cpuLine(r.floor.cpuMsPerOperation)}. ${machineLine(r.floor.machine, r.machine.cores)}`,
    ...(Object.keys(r.floor.errors).length > 0 ? ['', 'Failures:', ...Object.entries(r.floor.errors).map(([e, c]) => `- ${c} × ${e}`)] : []),
    '',
    '### Baseline: a bare workflow of the same shape',
    '',
    `bench/baseline-workflow.ts (\`baselineOperation\`), its own worker in the bench process: ${r.lifecycle.perOperation.notices} no-op activities, one per notice, ${r.lifecycle.perOperation.signals} signals sent by the bench client (${r.lifecycle.perOperation.agencyAnswers} answers, ${r.lifecycle.perOperation.coordinatorDecisions} decisions), ${r.lifecycle.perOperation.timers} timers of the same length. ${r.baseline.started} started, ${r.baseline.completed} completed, ${r.baseline.failed} failed; throughput ${perSecond(r.baseline.throughputPerSecond)} (${r.baseline.throughputMethod}); lifecycle ${ms(r.baseline.lifecycleMs)}. LOS closed-loop throughput / baseline: ${times(r.baseline.losRatio)}. CPU ms per operation: ${cpuLine(r.baseline.cpuMsPerOperation)}. ${machineLine(r.baseline.machine, r.machine.cores)}`,
    ...(Object.keys(r.baseline.errors).length > 0 ? ['', 'Failures:', ...Object.entries(r.baseline.errors).map(([e, c]) => `- ${c} × ${e}`)] : []),
    '',
    '### Raw JetStream',
    '',
    `${r.rawJetStream.events} events of ${r.rawJetStream.bytesPerEvent} bytes (a real mandate-request CloudEvent with the same headers and Nats-Msg-Id), one at a time, to a file-backed stream on the same nats-server, read by a pull consumer. Publish → ack ${ms(r.rawJetStream.publishAckMs)}; publish → received ${ms(r.rawJetStream.publishToReceiveMs)}; awaited publish loop ${round(r.rawJetStream.publishLoopPerSecond, 0)} events/s. Notify cost ratio (LOS per-event notify p50 / raw publish → received p50): ${times(r.rawJetStream.notifyCostRatio)}.`,
    '',
    '## Cost per operation',
    '',
    `From ${r.cost?.sampled ?? 0} LOS, ${r.floor.cost?.sampled ?? 0} floor and ${r.baseline.cost?.sampled ?? 0} baseline histories (fetchHistory), mean (min–max):`,
    '',
    mdTable(
      ['', 'LOS operation', 'floor', 'baseline'],
      losCost.map(([label, value], i) => [label!, value!, floorCost[i]?.[1] ?? na, baseCost[i]?.[1] ?? na]),
    ),
    '',
    '## Memory',
    '',
    `Worker peak RSS during warm-up and the load phases: ${bytes(r.memory.workerPeakThroughputBytes)} (RSS after them ${bytes(r.memory.workerRssAfterThroughputBytes)}); bridge ${bytes(r.memory.bridgePeakThroughputBytes)}. ${
      r.memory.peakResetAfterStartup
        ? 'VmHWM was reset once the worker was polling, so start-up (bundling the workflows) is not in this peak'
        : 'VmHWM could not be reset, so the peak is the highest RSS sampled every 250 ms'
    }. At start-up (bundling the workflows) the worker peaked at ${bytes(r.memory.workerStartupPeakBytes)} and held ${bytes(r.memory.workerRssAtReadyBytes)} once polling. The worker keeps at most ${r.memory.cachedWorkflows} operations in its sticky cache (MAX_CACHED_WORKFLOWS).`,
    '',
    ...(scale
      ? [
          `## Scale: ${scale.registered} operations left open`,
          '',
          `Registered and left in assessment (assessment deadline ${scale.assessmentDeadline}, so each holds a durable reminder timer); ${scale.failed} registrations failed. Database before the scale run: ${bytes(scale.databaseBefore?.total)} (it already holds the load phases' histories). CPU seconds: ${
            Object.entries(scale.cpuSeconds)
              .map(([k, v]) => `${k} ${round(v, 1)}`)
              .join(', ') || na
          }. ${machineLine(scale.machine, r.machine.cores)}`,
          '',
          'Registrations/s is how fast the bench started workflows; taken into assessment/s is how fast the worker ran their first workflow task (since the previous checkpoint), which is what the checkpoint waits for.',
          '',
          mdTable(
            [
              'open',
              'settled',
              's since start',
              'registrations/s',
              'taken into assessment/s',
              'worker CPU s',
              'worker RSS',
              'worker peak',
              'bridge RSS',
              'SQLite db',
              'db-wal',
              'total on disk',
            ],
            scale.checkpoints.map((c, i) => {
              const previous = scale.checkpoints[i - 1];
              const taken = (c.open - (previous?.open ?? 0)) / (c.secondsSinceStart - (previous?.secondsSinceStart ?? 0));
              return [
                c.open,
                c.settled ? 'yes' : 'no',
                round(c.secondsSinceStart),
                round(c.registrationsPerSecond),
                round(taken),
                c.workerCpuSeconds === undefined ? na : round(c.workerCpuSeconds),
                bytes(c.workerRssBytes),
                bytes(c.workerPeakBytes),
                bytes(c.bridgeRssBytes),
                bytes(c.database?.db),
                bytes(c.database?.wal),
                bytes(c.database?.total),
              ];
            }),
          ),
          '',
        ]
      : []),
    '## Caveats',
    '',
    `- ${r.machine.cores} cores are shared by the Temporal server, nats-server, the worker, the bridge and the bench process (coordinator, ${r.lifecycle.agencies.length + r.lifecycle.secondWave} simulated agencies, the baseline and floor workers and the floor's agencies). Every figure is what this whole stack achieves together on them, not what any one part could do alone; the CPU split above shows where the time went.`,
    '- The dev server runs on SQLite. A production Temporal (PostgreSQL or Cassandra, several history shards) behaves differently in throughput, latency and disk use.',
    '- Latencies are taken with performance.now() in the bench process; answer latency is polled (10 ms between state queries) and ends when the query response arrives, so it includes one query round trip and up to one poll interval.',
    '- The baseline answers with signals sent straight from the client; the floor answers with a signal once its agency has read the notice from JetStream; LOS answers travel agency → JetStream → bridge → update. The baseline and floor workers share the bench process with the client; the LOS worker has its own process.',
    `- Load average at start: ${r.machine.loadAverageAtStart.map((l) => round(l, 2)).join(', ')}. Other work on the machine during the run changes the figures.`,
    '',
  ].join('\n');
}
