/**
 * `npm run bench:locked`: issue 20's figure. The production topology of `npm run cluster` measured twice in one run
 * with the same closed loop (same lifecycle, same operations in flight, same duration): first locked as deployed
 * (the Temporal server authorising every call with the identity provider's tokens over TLS, NATS over TLS), then
 * open (no authorisation, plaintext frontend, NATS in plaintext). The first cluster is stopped and removed before the
 * second starts: they share the machine and PostgreSQL. Writes bench/results/locked-<time>.{json,md} and
 * locked-latest.{json,md}: each side's throughput, CPU per operation per process, and locked ÷ open (target ≥ 0.9).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TEMPORAL_SERVER_VERSION } from '../scripts/temporal-server.js';
import { machineFacts, writeResults, type MachineFacts } from './stack.js';
import { round } from './stats.js';
import { measureTopology, phaseRowsOf, type ClusterSwitches, type TopologyRun, type TopologySettings } from './topologies.js';

export const LOCKED_TARGET = 0.9;
const SIDES = ['locked', 'open'] as const;
type Side = (typeof SIDES)[number];
/** `--split`'s run in between: Temporal locked, NATS in plaintext, which tells NATS's TLS from Temporal's locks. */
const SPLIT = 'temporal-locked';
type Run = Side | typeof SPLIT;
const SWITCHES: Record<Run, ClusterSwitches> = {
  locked: { secure: true, natsTls: true },
  [SPLIT]: { secure: true, natsTls: false },
  open: { secure: false, natsTls: false },
};
const TITLES: Record<Run, string> = {
  locked: 'locked (authorisation, TLS)',
  [SPLIT]: 'Temporal locked, NATS in plaintext',
  open: 'open (plaintext)',
};

export interface LockedBenchResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  versions: { node: string; temporalServer: string };
  settings: TopologySettings;
  runs: Record<Side, TopologyRun> & { [SPLIT]?: TopologyRun };
  /** Closed-loop throughput locked ÷ open. */
  ratio: number;
  target: number;
}

const log = (line: string) => console.error(`[bench] ${line}`);

function readSettings(): TopologySettings & { keep: boolean; split: boolean } {
  const whole = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 1`);
    return n;
  };
  const flags = new Command()
    .name('bench:locked')
    .description('The cluster with authorisation and TLS against the same cluster open and in plaintext: closed-loop throughput and CPU per operation.')
    .option('--duration <s>', 'seconds of closed loop on each cluster', whole, 120)
    .option('--concurrency <c>', 'operations in flight on each cluster', whole, 20)
    .option('--split', 'a third run in between, Temporal locked and NATS in plaintext, to tell where the cost goes')
    .option('--keep', 'keep the scratch directory (the clusters’ logs)')
    .parse()
    .opts<{ duration: number; concurrency: number; keep?: boolean; split?: boolean }>();
  return { rate: 0, duration: flags.duration, concurrency: flags.concurrency, historySample: 5, keep: flags.keep ?? false, split: flags.split ?? false };
}

export function lockedMarkdown(result: LockedBenchResult): string {
  const { locked, open } = result.runs;
  const shown = (['locked', SPLIT, 'open'] as const).filter((run) => result.runs[run]);
  const measured = shown.map((run) => result.runs[run]!);
  const processes = [...new Set(measured.flatMap((r) => Object.keys(r.closedLoop.cpuMsPerProcess ?? {})))].sort();
  const roles = [...new Set(measured.flatMap((r) => Object.keys(r.closedLoop.cpuMsPerOperation)))].sort();
  const cpuTotal = (r: TopologyRun) => round(Object.values(r.closedLoop.cpuMsPerOperation).reduce((a, b) => a + b, 0));
  const rows: [string, (r: TopologyRun) => string][] = [
    ['stack', (r) => r.stack],
    ['measured at', (r) => r.startedAt],
    ['load average at start', (r) => r.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')],
    [
      'closed loop: in flight, completed/started',
      (r) => `${r.settings.concurrency} for ${r.settings.duration} s, ${r.closedLoop.completed}/${r.closedLoop.started}`,
    ],
    ...phaseRowsOf<TopologyRun>('closed loop', (r) => r.closedLoop, [...roles, ...processes]),
    ['closed loop: CPU ms/op, all measured processes', (r) => String(cpuTotal(r))],
    ['history events per operation (mean)', (r) => (r.cost ? `${round(r.cost.events.mean, 0)}` : '–')],
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const met = result.ratio >= result.target;
  return [
    '# The cluster locked and open',
    '',
    'Written by `npm run bench:locked` (bench/locked.ts) on one machine. The production topology of `npm run cluster` (Temporal on',
    'PostgreSQL, three NATS nodes with three replicas, two workers, two bridges) started twice, one after the other: **locked** as',
    'deployed (every Temporal call authorised with a token from the identity provider, the frontend over TLS, NATS clients and routes',
    'over TLS) and **open** (no authorisation, plaintext frontend, NATS in plaintext; the NATS accounts and NKEYs stay). The same closed',
    'loop on each: the full lifecycle (5 candidate agencies, 38 notifications, 20 answers, 3 decisions, 2 timers per operation) with',
    'the same operations in flight for the same time. Latencies are p50 / p95 / p99 in ms; CPU is milliseconds per completed operation,',
    'per role (summed over its processes) and per process; `idp` is the identity provider, which only the locked cluster runs.',
    '',
    `**Locked ÷ open throughput: ${result.ratio.toFixed(2)}** (target ≥ ${result.target}) ${met ? '✓' : '✗'}; ` +
      `${locked.closedLoop.throughputPerSecond.toFixed(2)}/s against ${open.closedLoop.throughputPerSecond.toFixed(2)}/s.`,
    '',
    ...(result.runs[SPLIT]
      ? [
          `\`--split\` ran a third cluster in between, Temporal locked and NATS in plaintext: ${result.runs[SPLIT].closedLoop.throughputPerSecond.toFixed(2)}/s, ` +
            `${round(result.runs[SPLIT].closedLoop.throughputPerSecond / open.closedLoop.throughputPerSecond, 2)} of the open cluster's.`,
          '',
        ]
      : []),
    `${result.machine.cores} cores (${result.machine.cpuModel}), load average ${result.machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')} at the start; ` +
      `Temporal server ${result.versions.temporalServer}, Node ${result.versions.node}.`,
    '',
    line(['', ...shown.map((run) => TITLES[run])]),
    line(['---', ...shown.map(() => '---')]),
    ...rows.map(([label, value]) => line([label, ...measured.map(value)])),
    '',
  ].join('\n');
}

async function main() {
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const { keep, split, ...settings } = readSettings();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const scratch = mkdtempSync(join(tmpdir(), 'los-bench-locked-'));
  try {
    const runs: Partial<Record<Run, TopologyRun>> = {};
    // One cluster at a time: each is stopped and its databases dropped before the next starts.
    for (const side of split ? (['locked', SPLIT, 'open'] as const) : SIDES) {
      mkdirSync(join(scratch, side), { recursive: true });
      log(`the ${side} cluster`);
      runs[side] = await measureTopology('cluster', settings, join(scratch, side), { cluster: SWITCHES[side], openLoop: false });
    }
    const complete = runs as Record<Side, TopologyRun> & { [SPLIT]?: TopologyRun };
    const open = complete.open.closedLoop.throughputPerSecond;
    const result: LockedBenchResult = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineFacts(loadAtStart),
      versions: { node: process.version, temporalServer: TEMPORAL_SERVER_VERSION },
      settings,
      runs: complete,
      ratio: open > 0 ? round(complete.locked.closedLoop.throughputPerSecond / open, 3) : 0,
      target: LOCKED_TARGET,
    };
    const markdown = lockedMarkdown(result);
    writeResults('locked-', 'locked-latest', startedAt, result, markdown);
    console.log(markdown);
    log('written: bench/results/locked-latest.{json,md}');
  } finally {
    if (!keep) rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
