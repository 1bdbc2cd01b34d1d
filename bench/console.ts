/**
 * `npm run bench:console`: issue 19's figure for the console: the decisions-due page (`/konsol`) and an operation
 * page, p95 ≤ 200 ms, with 10,000 operations in Temporal's visibility.
 *
 * The stack is the bench's (dev server on SQLite, nats-server, the worker, the bridge, the identity provider and
 * the API as processes). Visibility is filled in two ways: `--real` operations registered as a coordinator would
 * (a real workflow each, in assessment, read by the operation-page measurement), and the rest of the 10,000 as
 * visibility rows of the same shape — `losOperation` executions started with the search attributes the engine sets
 * (municipality, phase, stage, next deadline) on a task queue no worker polls, spread over 20 municipalities and
 * over the stages — because the decisions-due page reads visibility only, and registering 10,000 real operations
 * takes this machine about 15 minutes (bench/results/latest.md, scale). Anna (coordinator, Umeå) signs in at the
 * provider; each page is then fetched one at a time with her session cookie, timed from request to last byte.
 * Writes bench/results/console-<time>.{json,md} and console-latest.{json,md}.
 *
 * `--topology cluster` measures the same on the production topology of `npm run cluster` (scripts/cluster.ts, as
 * `npm run bench -- --topology cluster` starts it: Temporal on PostgreSQL with authorisation and TLS, three NATS
 * nodes, two workers, two bridges, the API and the identity provider as their own processes), and writes
 * console-cluster-<time>.{json,md} and console-cluster-latest.{json,md}.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parseServerTiming } from '../api/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { STAGES, type Stage } from '../domain/index.js';
import { DEMO_PASSWORD } from '../scripts/identity-provider.js';
import { CookieJar, passwordLogin } from '../scripts/oidc-sign-in.js';
import { searchAttributes } from '../workflows/definitions.js';
import { LIFECYCLE_CATEGORIES, benchTip, lifecycleContext } from './operations.js';
import {
  readVersions,
  startApiDoor,
  startBenchRun,
  waitUntilReady,
  type BenchRun,
  type Versions,
  machineFacts,
  writeResults,
  type MachineFacts,
} from './stack.js';
import { percentiles, round, sleep, type Percentiles } from './stats.js';
import { clusterStack, TOPOLOGIES, type Topology } from './topologies.js';
import type { KeyStore } from '../vault/index.js';

const MUNICIPALITIES = [
  'Umeå',
  'Malmö',
  'Luleå',
  'Göteborg',
  'Stockholm',
  'Uppsala',
  'Västerås',
  'Örebro',
  'Linköping',
  'Helsingborg',
  'Jönköping',
  'Norrköping',
  'Lund',
  'Gävle',
  'Sundsvall',
  'Borås',
  'Eskilstuna',
  'Karlstad',
  'Växjö',
  'Halmstad',
];
const WORKING_STAGES = (Object.keys(STAGES) as Stage[]).filter((stage) => stage !== 'ended');
const TARGET_P95_MS = 200;

interface ConsoleBenchResult {
  topology: Topology;
  /** The stack, in words. */
  stack: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  machine: MachineFacts;
  versions: Versions;
  visibility: { total: number; real: number; rows: number; municipalities: number; umea: number; umeaAwaitingDecision: number; fillSeconds: number };
  pages: { decisionsDue: PageFigures; operation: PageFigures; steering: PageFigures };
}

/** One page's fetches: the time to the last byte, and where the API says it went (its Server-Timing header). */
interface PageFigures extends Percentiles {
  /** The API's own time per request (`app` in Server-Timing), from its first hook to the reply. */
  server: Percentiles;
  /** Of the fetches slower than the target: how many, and their mean milliseconds per step the API names. */
  slow: { count: number; meanMs: Record<string, number> };
}

const whole = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 1`);
  return n;
};
const log = (line: string) => console.error(`[bench:console] ${line}`);

async function inParallel(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function render(r: ConsoleBenchResult): string {
  const load = (l: number[]) => l.map((x) => round(x, 2)).join(' ');
  const row = (label: string, p: PageFigures, target: boolean) =>
    `| ${label} | ${p.count} | ${round(p.p50)} | ${round(p.p95)} | ${round(p.p99)} | ${round(p.max)} | ${target ? (p.p95 <= TARGET_P95_MS ? '✓' : '✗') : ''} | ${round(p.server.p50)} / ${round(p.server.p95)} | ${slowSteps(p)} |`;
  const slowSteps = (p: PageFigures) =>
    p.slow.count === 0
      ? 'none'
      : `${p.slow.count}: ${Object.entries(p.slow.meanMs)
          .map(([step, ms]) => `${step} ${round(ms)}`)
          .join(', ')}`;
  const v = r.visibility;
  const cluster = r.topology === 'cluster';
  return [
    `# LOS console benchmark ${r.runId}${cluster ? ' on the cluster' : ''}`,
    '',
    `${r.startedAt} → ${r.finishedAt} (${round(r.wallSeconds, 0)} s), \`npm run bench:console${cluster ? ' -- --topology cluster' : ''}\`. Machine: ${r.machine.cores} × ${r.machine.cpuModel}, ${r.machine.memoryMiB} MiB, ${r.versions.os}; load average ${load(r.machine.loadAverageAtStart)} at start, ${load(r.machine.loadAverageAtEnd)} at end. Node ${r.versions.node}, Temporal ${r.versions.temporalServer ?? '?'}, nats-server ${r.versions.natsServer ?? '?'}. The stack: ${r.stack}; ${cluster ? 'every engine process, the API and the identity provider are child processes of `scripts/cluster.ts`' : 'the worker, the bridge, the API and the identity provider are child processes'}.`,
    '',
    `Visibility: ${v.total} running \`losOperation\` executions over ${v.municipalities} municipalities: ${v.real} real operations (registered as a coordinator would, in assessment) and ${v.rows} visibility rows of the same shape (the engine's search attributes, stages spread evenly, on a task queue no worker polls), filled in ${round(v.fillSeconds, 0)} s. Umeå holds ${v.umea} of them, ${v.umeaAwaitingDecision} in a stage that awaits the coordinator's decision: the decisions-due page lists them all, soonest deadline first, then the 50 most recently started of the others and how many there are.`,
    '',
    `Anna (coordinator, Umeå) and Cecilia (steering group) signed in at the identity provider; each page fetched one at a time with the session cookie, request to last byte, after 10 unmeasured fetches. The operation page reads a real operation (its state and timeline through the API's reading path, unsealed, on the access log). The steering group's page is one visibility query (the overdue operations, about 1 in 37 rows here, most on the task queue no worker polls); its open escalations come from the same rows, and no operation is asked.`,
    '',
    `| page (ms) | n | p50 | p95 | p99 | max | p95 ≤ ${TARGET_P95_MS} ms | API's own time p50 / p95 | fetches over ${TARGET_P95_MS} ms: mean per step |`,
    '|---|---|---|---|---|---|---|---|---|',
    row('decisions due (`/konsol`, coordinator)', r.pages.decisionsDue, true),
    row('an operation (`/konsol/operationer/:id`)', r.pages.operation, true),
    row('overdue and open escalations across municipalities (`/konsol`, steering group)', r.pages.steering, true),
    '',
    "The API's own time and its steps are its `Server-Timing` header: `auth` checking the session, `temporal` the calls into Temporal (visibility, queries), `unseal` unsealing with the access-log record, `app` from the request's first hook to the reply; the rest of a fetch is the connection, the body's transfer and the client.",
    '',
    cluster
      ? 'The same pages on the dev server: `npm run bench:console` (bench/results/console-latest.md).'
      : 'The same pages on the production topology of `npm run cluster` (PostgreSQL visibility, authorisation and TLS): `npm run bench:console -- --topology cluster` (bench/results/console-cluster-latest.md).',
    '',
  ].join('\n');
}

/** A running stack with the API, whichever topology: what the measurement needs of it. */
type RunFacts = Pick<BenchRun, 'startedAt' | 'benchStart' | 'loadAtStart' | 'runId' | 'scratch' | 'taskQueue'>;
interface ConsoleStack extends RunFacts {
  topology: Topology;
  describe: string;
  client: Client;
  keys: KeyStore;
  apiUrl: string;
  versions: Versions;
  stop(): Promise<void>;
}

/** The dev server (SQLite), one nats-server, the worker, the bridge, the identity provider and the API. */
async function devConsoleStack(): Promise<ConsoleStack> {
  const { stack, worker, bridge, ...run } = await startBenchRun('console', log);
  const stopEngine = async () => {
    await worker.stop();
    await bridge.stop();
    await stack.stop();
  };
  const door = await startApiDoor(stack, run.taskQueue, run.scratch).catch(async (err: unknown) => {
    await stopEngine();
    throw err;
  });
  const stop = async () => {
    await door.stop();
    await stopEngine();
  };
  try {
    await waitUntilReady(worker, bridge, stack, run.taskQueue);
    const describe = `the dev server (SQLite) at ${stack.temporalAddress}, one nats-server, one worker, one bridge, the API`;
    return { ...run, topology: 'dev', describe, client: stack.client, keys: stack.keys, apiUrl: door.url, versions: await readVersions(stack), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The production topology of `npm run cluster`, with its API, as the topology bench starts it (bench/topologies.ts). */
async function clusterConsoleStack(): Promise<ConsoleStack> {
  const startedAt = new Date();
  const runId = `${startedAt.getTime().toString(36)}${randomBytes(2).toString('hex')}`;
  const run: RunFacts = {
    startedAt,
    benchStart: performance.now(),
    loadAtStart: loadavg(),
    runId,
    scratch: mkdtempSync(join(tmpdir(), 'los-bench-console-cluster-')),
    taskQueue: `los-bench-${runId}`,
  };
  log(`run ${runId}; scratch ${run.scratch}; starting the cluster`);
  const stack = await clusterStack(run.scratch, run.taskQueue, runId, {}, { api: true });
  try {
    const apiUrl = stack.apiUrl!;
    for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
      const healthy = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy) break;
      if (Date.now() > deadline) throw new Error(`the cluster's API did not answer at ${apiUrl}/healthz within 120 s; see ${run.scratch}`);
    }
    const { describe, client, keys } = stack;
    return { ...run, topology: 'cluster', describe, client, keys, apiUrl, versions: await readVersions(stack), stop: () => stack.stop() };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

async function main() {
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const settings = new Command()
    .name('bench:console')
    .description('The console’s decisions-due and operation pages with many operations in visibility.')
    .option('--operations <n>', 'running operations in visibility in all', whole, 10_000)
    .option('--real <n>', 'of them, real operations registered through the engine', whole, 40)
    .option('--samples <n>', 'fetches of each page', whole, 200)
    .addOption(
      new Option('--topology <topology>', 'dev: the dev server (SQLite); cluster: the production topology of npm run cluster (PostgreSQL)')
        .choices(TOPOLOGIES)
        .default('dev'),
    )
    .option('--keep', 'keep the scratch directory (logs of every process)')
    .parse()
    .opts<{ operations: number; real: number; samples: number; topology: Topology; keep?: boolean }>();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stack = settings.topology === 'cluster' ? await clusterConsoleStack() : await devConsoleStack();
  const { startedAt, benchStart, loadAtStart, runId, scratch, taskQueue, versions } = stack;
  try {
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue: loadCatalogueFile(), taskQueue, runId });
    const fillStart = performance.now();

    log(`registering ${settings.real} real operations in Umeå`);
    const real: string[] = [];
    await inParallel(settings.real, 8, async (i) => {
      const { operationId } = await ctx.driver.register(benchTip(runId, i, LIFECYCLE_CATEGORIES), { assessmentDeadline: '30 days' });
      real.push(operationId);
    });

    const rows = Math.max(0, settings.operations - settings.real);
    log(`starting ${rows} visibility rows over ${MUNICIPALITIES.length} municipalities`);
    let umea = settings.real;
    let umeaAwaiting = settings.real; // the real ones wait for their assessment
    const unpolled = `los-bench-unpolled-${runId}`;
    await inParallel(rows, 32, async (i) => {
      const municipality = MUNICIPALITIES[i % MUNICIPALITIES.length]!;
      const stage = WORKING_STAGES[Math.floor(i / MUNICIPALITIES.length) % WORKING_STAGES.length]!;
      const phase = STAGES[stage].phase!;
      if (municipality === 'Umeå') {
        umea += 1;
        if (['assessment', 'quorum_decision', 'schedule_decision', 'closing_decision'].includes(stage)) umeaAwaiting += 1;
      }
      await stack.client.workflow.start('losOperation', {
        workflowId: `los-bench-row-${runId}-${i}`,
        taskQueue: unpolled,
        args: [{}],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: searchAttributes.municipality, value: municipality },
          { key: searchAttributes.phase, value: phase },
          { key: searchAttributes.stage, value: stage },
          { key: searchAttributes.nextDeadline, value: new Date(Date.now() + ((i * 7919) % 720) * 3_600_000) },
          { key: searchAttributes.overdue, value: i % 37 === 0 },
        ],
      });
      if ((i + 1) % 2_000 === 0) log(`  ${i + 1} rows`);
    });
    // Visibility is eventually consistent: wait until it counts every one.
    for (;;) {
      const { count } = await stack.client.workflow.count(`ExecutionStatus = 'Running' AND WorkflowType = 'losOperation'`);
      if (count >= settings.operations) break;
      await new Promise((resolveLater) => setTimeout(resolveLater, 500));
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    log(`visibility holds ${settings.operations} running operations (${round(fillSeconds, 0)} s)`);

    const session = async (username: string) => {
      const jar = new CookieJar();
      await passwordLogin(`${stack.apiUrl}/auth/login?returnTo=%2Fkonsol`, username, DEMO_PASSWORD, { jar });
      return (path: string) => ({ url: `${stack.apiUrl}${path}`, headers: { cookie: jar.header(new URL(stack.apiUrl)) } });
    };
    const timed = async (request: { url: string; headers: Record<string, string> }, expect: string) => {
      const t0 = performance.now();
      const response = await fetch(request.url, { headers: request.headers, redirect: 'manual' });
      const body = await response.text();
      const ms = performance.now() - t0;
      if (response.status !== 200 || !body.includes(expect)) throw new Error(`${request.url} answered ${response.status} without "${expect}"`);
      const steps = Object.fromEntries(Object.entries(parseServerTiming(response.headers.get('server-timing'))).map(([step, { ms }]) => [step, ms]));
      if (steps.app === undefined) throw new Error(`${request.url} answered without the API's own time in Server-Timing`);
      return { ms, steps: steps as Record<string, number> & { app: number } };
    };
    const measure = async (name: string, request: (i: number) => { url: string; headers: Record<string, string> }, expect: string): Promise<PageFigures> => {
      log(`measuring ${name}`);
      for (let i = 0; i < 10; i++) await timed(request(i), expect);
      const samples: Awaited<ReturnType<typeof timed>>[] = [];
      for (let i = 0; i < settings.samples; i++) samples.push(await timed(request(i), expect));
      const slow = samples.filter((sample) => sample.ms > TARGET_P95_MS);
      const meanMs: Record<string, number> = {};
      for (const sample of slow) for (const [step, ms] of Object.entries(sample.steps)) meanMs[step] = (meanMs[step] ?? 0) + ms / slow.length;
      if (slow.length > 0) log(`  ${slow.length} fetches over ${TARGET_P95_MS} ms; their mean per step: ${JSON.stringify(meanMs)}`);
      return {
        ...percentiles(samples.map((sample) => sample.ms))!,
        server: percentiles(samples.map((sample) => sample.steps.app))!,
        slow: { count: slow.length, meanMs },
      };
    };
    const anna = await session('anna');
    const cecilia = await session('cecilia');
    const decisionsDue = await measure('the decisions-due page', () => anna('/konsol'), real[0]!);
    const operation = await measure('an operation page', (i) => anna(`/konsol/operationer/${real[i % real.length]!}`), 'los-umea-');
    const steering = await measure('the steering group’s page', () => cecilia('/konsol'), '<table');

    const result: ConsoleBenchResult = {
      topology: stack.topology,
      stack: stack.describe,
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: (performance.now() - benchStart) / 1000,
      machine: machineFacts(loadAtStart),
      versions,
      visibility: {
        total: settings.operations,
        real: settings.real,
        rows,
        municipalities: MUNICIPALITIES.length,
        umea,
        umeaAwaitingDecision: umeaAwaiting,
        fillSeconds,
      },
      pages: { decisionsDue, operation, steering },
    };
    const cluster = stack.topology === 'cluster' ? 'cluster-' : '';
    writeResults(`console-${cluster}`, `console-${cluster}latest`, startedAt, result, render(result));
    console.log(render(result));
  } finally {
    await stack.stop();
    if (settings.keep) log(`scratch kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:console failed: ${(err as Error).stack ?? err}${(err as Error).cause ? `\ncaused by: ${String((err as Error).cause)}` : ''}`);
  process.exit(1);
});
