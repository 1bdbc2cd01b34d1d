/**
 * `npm run bench -- --topology dev|cluster|both`: the LOS lifecycle measured the same way on the embedded dev
 * stack (dev server on SQLite, one nats-server, one worker, one bridge) and on the production topology of
 * scripts/cluster.ts (Temporal server on PostgreSQL, three NATS nodes with three replicas, two workers, two
 * bridges), written side by side to bench/results/topologies-latest.{json,md}. A run of one topology replaces
 * that topology's column and keeps the other's. The floor, baseline, raw JetStream, answer burst and scale
 * phases of the full bench are not part of it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { defaultBehaviour, startSimulatedAgency, type SimulatedAgency, type SimulatedAgencyOptions } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { AGENCY_IDS, SUBJECTS, type AgencyId } from '../domain/index.js';
import { removeCluster, startCluster, type ClusterOptions } from '../scripts/cluster.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { postgresFromEnvironment, psqlQuery, type Postgres } from '../scripts/temporal-server.js';
import type { KeyStore } from '../vault/index.js';
import { historyCost, type HistoryCost } from './history.js';
import { closedLoop, openLoop, type LoadResult } from './load.js';
import { AgencyWatch, lifecycleContext, runLifecycle, type LifecycleSample } from './operations.js';
import { CpuMeter, sqliteSize } from './processes.js';
import { startEngineProcess, startStack, waitUntilReady } from './stack.js';
import { mib, percentiles, round, sleep, type Percentiles } from './stats.js';

export type Topology = 'dev' | 'cluster';
export const TOPOLOGIES: readonly Topology[] = ['dev', 'cluster'];

export interface TopologySettings {
  rate: number;
  duration: number;
  concurrency: number;
  historySample: number;
}

/** One topology's figures. CPU is grouped by role: every NATS node together, every worker together, … */
export interface TopologyRun {
  topology: Topology;
  startedAt: string;
  stack: string;
  settings: TopologySettings;
  loadAverageAtStart: number[];
  /** Left out by the comparison of the locked and the open cluster (bench/locked.ts). */
  openLoop?: PhaseFigures;
  closedLoop: PhaseFigures;
  /** Growth of the Temporal database(s) on disk over both phases, per operation started in them. */
  databaseBytesPerOperation: number;
  databaseBytesAfter: number;
  cost?: HistoryCost;
}

export interface PhaseFigures {
  started: number;
  completed: number;
  failed: number;
  throughputPerSecond: number;
  lifecycleMs?: Percentiles;
  notifyAllMs?: Percentiles;
  assessRoundTripMs?: Percentiles;
  cpuMsPerOperation: Record<string, number>;
  /** The same per process (`nats#0`, `workers#1`, …). */
  cpuMsPerProcess?: Record<string, number>;
  busyCores?: number;
  otherCores?: number;
  /** Why operations failed, with how many failed so. */
  errors: Record<string, number>;
}

/** What the bench needs of a running topology. */
export interface TopologyStack {
  describe: string;
  client: Client;
  keys: KeyStore;
  /** The key store's NATS connection (for the server's version). */
  nc: NatsConnection;
  /** The API's origin, when the stack was started with it. */
  apiUrl?: string;
  agencyConnection(agency: AgencyId): Pick<SimulatedAgencyOptions, 'servers' | 'credentials' | 'tls'>;
  /** The processes to meter, by role: several processes of one role are added up. */
  pids(): Record<string, number[]>;
  databaseBytes(): number;
  stop(): Promise<void>;
}

const log = (line: string) => console.error(`[bench] ${line}`);

async function devStack(scratch: string, taskQueue: string): Promise<TopologyStack> {
  const stack = await startStack(scratch, log);
  const worker = startEngineProcess('worker', stack, taskQueue, scratch);
  const bridge = startEngineProcess('bridge', stack, taskQueue, scratch);
  await waitUntilReady(worker, bridge, stack, taskQueue);
  if (!stack.dbFile) throw new Error('the dev topology needs the SQLite file of the dev server (TEMPORAL_DB_FILE when TEMPORAL_ADDRESS is given)');
  const dbFile = stack.dbFile;
  return {
    describe: `dev server (SQLite) at ${stack.temporalAddress}, one nats-server, one worker, one bridge`,
    client: stack.client,
    keys: stack.keys,
    nc: stack.nc,
    agencyConnection: () => ({ servers: stack.natsUrl }),
    pids: () => ({
      temporal: [stack.temporal?.process.pid ?? -1],
      nats: [stack.nats?.process.pid ?? -1],
      workers: [worker.child.pid ?? -1],
      bridges: [bridge.child.pid ?? -1],
      bench: [process.pid],
    }),
    databaseBytes: () => sqliteSize(dbFile).total,
    async stop() {
      await worker.stop();
      await bridge.stop();
      await stack.stop();
    },
  };
}

/** pg_database_size of the cluster's two databases. */
function postgresBytes(postgres: Postgres, databases: string[]): number {
  const list = databases.map((name) => `'${name}'`).join(',');
  return Number(psqlQuery(postgres, `select sum(pg_database_size(datname)) from pg_database where datname in (${list})`)[0]);
}

/** How the cluster is started: as deployed (authorisation and TLS), unless the bench's comparison asks for it open. */
export type ClusterSwitches = Pick<ClusterOptions, 'secure' | 'natsTls'>;

/** The production topology of `npm run cluster`, ready: every worker polls and a bridge waits; with `api`, its API process too. */
export async function clusterStack(
  scratch: string,
  taskQueue: string,
  runId: string,
  switches: ClusterSwitches = {},
  options: { api?: boolean } = {},
): Promise<TopologyStack> {
  const postgres = postgresFromEnvironment();
  const prefix = `los_bench_${runId}`;
  const dataDir = join(scratch, 'cluster');
  const cluster = await startCluster({
    prefix,
    dataDir,
    taskQueue,
    postgres,
    ...switches,
    ...(options.api ? { api: {} } : {}),
    engineEnv: { LOG_LEVEL: 'warn', SHUTDOWN_GRACE_SECONDS: '5' },
    log,
  });
  const { client, keys, nc, close } = await cluster.connectClient('los-bench-keys');
  // Ready means every worker polls and a bridge waits on the answers' consumer.
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const described = await client.workflowService
      .describeTaskQueue({ namespace: cluster.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */ })
      .catch(() => undefined);
    const consumer = await jsm.consumers.info(SUBJECTS.streamIn, SUBJECTS.bridgeConsumer).catch(() => undefined);
    const workers = cluster.engine.filter((p) => p.role === 'worker').length;
    if ((described?.pollers?.length ?? 0) >= workers && (consumer?.num_waiting ?? 0) > 0) break;
    if (Date.now() > deadline) throw new Error(`the cluster's engine was not ready after 180 s; see ${join(dataDir, 'engine')}`);
    await sleep(500);
  }
  const pidsOf = (role: 'worker' | 'bridge') => cluster.engine.filter((p) => p.role === role).map((p) => p.child?.pid ?? -1);
  const locks =
    (cluster.temporalAccess.issuer ? 'authorising every call with a token' : 'open') +
    (cluster.temporalAccess.tls ? ' over TLS' : ' in plaintext') +
    (cluster.nats.tls ? '; NATS over TLS' : '; NATS in plaintext');
  return {
    describe: `Temporal server ${cluster.temporal.address} on PostgreSQL ${postgres.host}:${postgres.port} (${locks}), three NATS nodes (replicas 3), two workers, two bridges${cluster.api ? ', the API' : ''}`,
    client,
    keys,
    nc,
    ...(cluster.api ? { apiUrl: cluster.api.url } : {}),
    agencyConnection: (agency) => ({
      servers: cluster.nats.urls,
      credentials: { nkeySeed: cluster.seeds.agencies[agency]! },
      ...(cluster.nats.tls ? { tls: cluster.nats.tls } : {}),
    }),
    pids: () => ({
      temporal: [cluster.temporal.process.pid ?? -1],
      ...(cluster.idp ? { idp: [cluster.idp.process.pid ?? -1] } : {}),
      nats: cluster.nats.nodes.map((node) => node.process?.pid ?? -1),
      workers: pidsOf('worker'),
      bridges: pidsOf('bridge'),
      bench: [process.pid],
    }),
    databaseBytes: () => postgresBytes(postgres, Object.values(cluster.databases)),
    async stop() {
      await close();
      await cluster.stop();
      await removeCluster(prefix, dataDir, postgres);
    },
  };
}

/** CPU per role: the meter reads each process, and the processes of one role are summed. */
function byRole(stack: TopologyStack): { meter: CpuMeter; total(used: Record<string, number>): Record<string, number> } {
  const meter = new CpuMeter(() => Object.fromEntries(Object.entries(stack.pids()).flatMap(([role, pids]) => pids.map((pid, i) => [`${role}#${i}`, pid]))));
  return {
    meter,
    total(used) {
      const roles: Record<string, number> = {};
      for (const [name, seconds] of Object.entries(used)) {
        const role = name.split('#')[0]!;
        roles[role] = (roles[role] ?? 0) + seconds;
      }
      return roles;
    },
  };
}

function figures(result: LoadResult<LifecycleSample>, perProcess: Record<string, number>, cpu: ReturnType<typeof byRole>): PhaseFigures {
  const done = result.samples.filter((s) => s.ok);
  const machine = cpu.meter.machine();
  const perOperation = (seconds: Record<string, number>) =>
    Object.fromEntries(Object.entries(seconds).map(([name, s]) => [name, result.completed > 0 ? round((s * 1000) / result.completed) : 0]));
  return {
    started: result.samples.length,
    completed: result.completed,
    failed: result.failed,
    throughputPerSecond: result.throughputPerSecond,
    lifecycleMs: percentiles(done.map((s) => s.lifecycleMs!)),
    notifyAllMs: percentiles(done.map((s) => s.notifyAllMs!)),
    assessRoundTripMs: percentiles(done.map((s) => s.assessRoundTripMs!)),
    cpuMsPerOperation: perOperation(cpu.total(perProcess)),
    cpuMsPerProcess: perOperation(perProcess),
    ...(machine ? { busyCores: round(machine.busyCores, 2), otherCores: round(machine.otherCores, 2) } : {}),
    errors: countErrors(result.samples),
  };
}

function countErrors(samples: LifecycleSample[]): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const sample of samples) if (!sample.ok) errors[sample.error ?? 'unknown'] = (errors[sample.error ?? 'unknown'] ?? 0) + 1;
  return errors;
}

export async function measureTopology(
  topology: Topology,
  settings: TopologySettings,
  scratch: string,
  options: { cluster?: ClusterSwitches; openLoop?: boolean } = {},
): Promise<TopologyRun> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const taskQueue = `los-bench-${runId}`;
  const loadAverageAtStart = loadavg();
  log(`${topology}: starting the stack`);
  const stack = topology === 'cluster' ? await clusterStack(scratch, taskQueue, runId, options.cluster) : await devStack(scratch, taskQueue);
  const agencies: SimulatedAgency[] = [];
  try {
    const catalogue = loadCatalogueFile();
    const watch = new AgencyWatch();
    for (const agency of AGENCY_IDS) {
      agencies.push(
        await startSimulatedAgency(agency, defaultBehaviour(agency), { ...stack.agencyConnection(agency), onEvent: watch.onEvent, onAnswer: watch.onAnswer }),
      );
    }
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue, taskQueue, runId, watch });
    let index = 0;
    const lifecycle = (probeAnswers: boolean) => () => runLifecycle(ctx, index++, { probeAnswers });
    log(`${topology}: warm-up`);
    watch.beginPhase();
    await Promise.all(Array.from({ length: 2 }, lifecycle(false)));
    const cpu = byRole(stack);
    const databaseBefore = stack.databaseBytes();

    let open: LoadResult<LifecycleSample> | undefined;
    let openFigures: PhaseFigures | undefined;
    if (options.openLoop ?? true) {
      log(`${topology}: open loop ${settings.rate}/s for ${settings.duration}s`);
      watch.beginPhase();
      cpu.meter.begin();
      open = await openLoop(settings.rate, settings.duration, lifecycle(false));
      openFigures = figures(open, cpu.meter.end(), cpu);
      log(`  ${open.completed} completed, ${open.failed} failed`);
    }

    log(`${topology}: closed loop, ${settings.concurrency} in flight for ${settings.duration}s`);
    watch.beginPhase();
    cpu.meter.begin();
    const closed = await closedLoop(settings.concurrency, settings.duration, lifecycle(false));
    const closedFigures = figures(closed, cpu.meter.end(), cpu);
    log(`  ${closed.completed} completed, ${closed.failed} failed, ${closed.throughputPerSecond.toFixed(2)}/s`);

    const databaseAfter = stack.databaseBytes();
    const operations = (open?.samples.length ?? 0) + closed.samples.length;
    const sample = closed.samples.filter((s) => s.ok && s.operationId).map((s) => s.operationId!);
    const cost = await historyCost(stack.client, sample.slice(0, settings.historySample));
    return {
      topology,
      startedAt: new Date().toISOString(),
      stack: stack.describe,
      settings,
      loadAverageAtStart,
      ...(openFigures ? { openLoop: openFigures } : {}),
      closedLoop: closedFigures,
      databaseBytesPerOperation: operations > 0 ? Math.round((databaseAfter - databaseBefore) / operations) : 0,
      databaseBytesAfter: databaseAfter,
      ...(cost ? { cost } : {}),
    };
  } finally {
    for (const agency of agencies) await agency.stop().catch(() => undefined);
    await stack.stop();
  }
}

const RESULTS = join(PROJECT_ROOT, 'bench', 'results');

/** Runs the topologies asked for, keeps the other's last run, and writes the side-by-side table. */
export async function runTopologies(topologies: readonly Topology[], settings: TopologySettings, scratch: string): Promise<void> {
  const latest = join(RESULTS, 'topologies-latest.json');
  const runs: Partial<Record<Topology, TopologyRun>> = existsSync(latest)
    ? (JSON.parse(readFileSync(latest, 'utf8')) as { runs: Record<Topology, TopologyRun> }).runs
    : {};
  for (const topology of topologies) {
    mkdirSync(join(scratch, topology), { recursive: true });
    runs[topology] = await measureTopology(topology, settings, join(scratch, topology));
  }
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(latest, `${JSON.stringify({ cores: availableParallelism(), runs }, null, 2)}\n`);
  const markdown = renderTopologies(runs);
  writeFileSync(join(RESULTS, 'topologies-latest.md'), markdown);
  console.log(markdown);
  log('written: bench/results/topologies-latest.{json,md}');
}

export function renderTopologies(runs: Partial<Record<Topology, TopologyRun>>): string {
  const shown = TOPOLOGIES.filter((t) => runs[t]);
  const phaseRows = (name: string, phase: (r: TopologyRun) => PhaseFigures | undefined): [string, (r: TopologyRun) => string][] =>
    phaseRowsOf(name, phase, ['temporal', 'nats', 'workers', 'bridges', 'bench']);
  const rows: [string, (r: TopologyRun) => string][] = [
    ['stack', (r) => r.stack],
    ['measured at', (r) => r.startedAt],
    ['load average at start', (r) => r.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')],
    [
      'open loop: offered, completed/started',
      (r) => `${r.settings.rate}/s for ${r.settings.duration} s, ${r.openLoop?.completed ?? 0}/${r.openLoop?.started ?? 0}`,
    ],
    ...phaseRows('open loop', (r) => r.openLoop),
    [
      'closed loop: in flight, completed/started',
      (r) => `${r.settings.concurrency} for ${r.settings.duration} s, ${r.closedLoop.completed}/${r.closedLoop.started}`,
    ],
    ...phaseRows('closed loop', (r) => r.closedLoop),
    ['database growth per operation', (r) => `${(r.databaseBytesPerOperation / 1024).toFixed(1)} KiB`],
    ['database size after', (r) => `${mib(r.databaseBytesAfter)} MiB`],
    ['history events per operation (mean)', (r) => (r.cost ? `${round(r.cost.events.mean, 0)}` : '–')],
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    '# Dev server and cluster, side by side',
    '',
    'Written by `npm run bench -- --topology dev|cluster|both` (bench/topologies.ts) on one 2-core machine. The same lifecycle as the full',
    'bench (5 candidate agencies, 38 notifications, 20 answers, 3 decisions, 2 timers per operation); latencies are p50 / p95 / p99 in ms. CPU is',
    'milliseconds per completed operation, each role summed over its processes (the cluster has three NATS nodes, two workers, two bridges);',
    '"others" is CPU used meanwhile by processes outside the run. Database growth is on disk per operation started (SQLite file and WAL for',
    'the dev server; pg_database_size of both databases for the cluster).',
    '',
    line(['', ...shown.map((t) => (t === 'dev' ? 'dev server (SQLite)' : 'cluster (PostgreSQL, 3 NATS nodes)'))]),
    line(['---', ...shown.map(() => '---')]),
    ...rows.map(([label, value]) => line([label, ...shown.map((t) => value(runs[t]!))])),
    '',
  ].join('\n');
}

const ms = (p: Percentiles | undefined) => (p ? `${round(p.p50, 0)} / ${round(p.p95, 0)} / ${round(p.p99, 0)}` : '–');
const failures = (phase: PhaseFigures) =>
  Object.entries(phase.errors ?? {})
    .map(([error, count]) => `${count}× ${error}`)
    .join('; ') || 'none';

/** A phase's rows of a side-by-side table: throughput, failures, latencies, CPU per operation of each of `cpu` (roles or processes). */
export function phaseRowsOf<R>(name: string, phase: (r: R) => PhaseFigures | undefined, cpu: string[]): [string, (r: R) => string][] {
  const of = (r: R, value: (p: PhaseFigures) => string) => {
    const figures = phase(r);
    return figures ? value(figures) : '–';
  };
  return [
    [`${name}: throughput /s`, (r) => of(r, (p) => p.throughputPerSecond.toFixed(2))],
    [`${name}: failures`, (r) => of(r, failures)],
    [`${name}: lifecycle ms`, (r) => of(r, (p) => ms(p.lifecycleMs))],
    [`${name}: assess round trip ms`, (r) => of(r, (p) => ms(p.assessRoundTripMs))],
    [`${name}: notify all agencies ms`, (r) => of(r, (p) => ms(p.notifyAllMs))],
    ...cpu.map((who): [string, (r: R) => string] => [
      `${name}: CPU ms/op, ${who}`,
      (r) => of(r, (p) => String(p.cpuMsPerOperation[who] ?? p.cpuMsPerProcess?.[who] ?? '–')),
    ]),
    [`${name}: machine busy cores (others)`, (r) => of(r, (p) => `${p.busyCores ?? '–'} (${p.otherCores ?? '–'})`)],
  ];
}
