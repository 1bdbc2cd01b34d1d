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
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadCatalogueFile } from '../config/index.js';
import { STAGES, type Stage } from '../domain/index.js';
import { DEMO_PASSWORD } from '../scripts/identity-provider.js';
import { CookieJar, passwordLogin } from '../scripts/oidc-sign-in.js';
import { searchAttributes } from '../workflows/definitions.js';
import { LIFECYCLE_CATEGORIES, benchTip, lifecycleContext } from './operations.js';
import {
  endBenchRun,
  readVersions,
  startApiDoor,
  startBenchRun,
  waitUntilReady,
  type Versions,
  machineFacts,
  writeResults,
  type MachineFacts,
} from './stack.js';
import { percentiles, round, type Percentiles } from './stats.js';

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
  runId: string;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  machine: MachineFacts;
  versions: Versions;
  visibility: { total: number; real: number; rows: number; municipalities: number; umea: number; umeaAwaitingDecision: number; fillSeconds: number };
  pages: { decisionsDue: Percentiles; operation: Percentiles; steering: Percentiles };
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
  const row = (label: string, p: Percentiles, target: boolean) =>
    `| ${label} | ${p.count} | ${round(p.p50)} | ${round(p.p95)} | ${round(p.p99)} | ${round(p.max)} | ${target ? (p.p95 <= TARGET_P95_MS ? '✓' : '✗') : ''} |`;
  const v = r.visibility;
  return [
    `# LOS console benchmark ${r.runId}`,
    '',
    `${r.startedAt} → ${r.finishedAt} (${round(r.wallSeconds, 0)} s), \`npm run bench:console\`. Machine: ${r.machine.cores} × ${r.machine.cpuModel}, ${r.machine.memoryMiB} MiB, ${r.versions.os}; load average ${load(r.machine.loadAverageAtStart)} at start, ${load(r.machine.loadAverageAtEnd)} at end. Node ${r.versions.node}, Temporal ${r.versions.temporalServer ?? '?'} (dev server, SQLite), nats-server ${r.versions.natsServer ?? '?'}. The worker, the bridge, the API and the identity provider are child processes.`,
    '',
    `Visibility: ${v.total} running \`losOperation\` executions over ${v.municipalities} municipalities: ${v.real} real operations (registered as a coordinator would, in assessment) and ${v.rows} visibility rows of the same shape (the engine's search attributes, stages spread evenly, on a task queue no worker polls), filled in ${round(v.fillSeconds, 0)} s. Umeå holds ${v.umea} of them, ${v.umeaAwaitingDecision} in a stage that awaits the coordinator's decision: the decisions-due page lists them all, soonest deadline first, and the most recent 200 of the others.`,
    '',
    `Anna (coordinator, Umeå) and Cecilia (steering group) signed in at the identity provider; each page fetched one at a time with the session cookie, request to last byte, after 10 unmeasured fetches. The operation page reads a real operation (its state and timeline through the API's reading path, unsealed, on the access log). The steering group's page is one visibility query (the overdue operations, about 1 in 37 rows here, most on the task queue no worker polls); its open escalations come from the same rows, and no operation is asked.`,
    '',
    `| page (ms) | n | p50 | p95 | p99 | max | p95 ≤ ${TARGET_P95_MS} ms |`,
    '|---|---|---|---|---|---|---|',
    row('decisions due (`/konsol`, coordinator)', r.pages.decisionsDue, true),
    row('an operation (`/konsol/operationer/:id`)', r.pages.operation, true),
    row('overdue and open escalations across municipalities (`/konsol`, steering group)', r.pages.steering, true),
    '',
    'Not measured here: the same pages on `npm run cluster` (PostgreSQL visibility, authorisation and TLS).',
    '',
  ].join('\n');
}

async function main() {
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  const settings = new Command()
    .name('bench:console')
    .description('The console’s decisions-due and operation pages with many operations in visibility.')
    .option('--operations <n>', 'running operations in visibility in all', whole, 10_000)
    .option('--real <n>', 'of them, real operations registered through the engine', whole, 40)
    .option('--samples <n>', 'fetches of each page', whole, 200)
    .option('--keep', 'keep the scratch directory (logs of every process)')
    .parse()
    .opts<{ operations: number; real: number; samples: number; keep?: boolean }>();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { startedAt, benchStart, loadAtStart, runId, scratch, taskQueue, stack, worker, bridge } = await startBenchRun('console', log);
  const door = await startApiDoor(stack, taskQueue, scratch).catch(async (err: unknown) => {
    await worker.stop();
    await bridge.stop();
    await stack.stop();
    throw err;
  });
  try {
    await waitUntilReady(worker, bridge, stack, taskQueue);
    const versions = await readVersions(stack);
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
      await passwordLogin(`${door.url}/auth/login?returnTo=%2Fkonsol`, username, DEMO_PASSWORD, { jar });
      return (path: string) => ({ url: `${door.url}${path}`, headers: { cookie: jar.header(new URL(door.url)) } });
    };
    const timed = async (request: { url: string; headers: Record<string, string> }, expect: string): Promise<number> => {
      const t0 = performance.now();
      const response = await fetch(request.url, { headers: request.headers, redirect: 'manual' });
      const body = await response.text();
      const ms = performance.now() - t0;
      if (response.status !== 200 || !body.includes(expect)) throw new Error(`${request.url} answered ${response.status} without "${expect}"`);
      return ms;
    };
    const measure = async (name: string, request: (i: number) => { url: string; headers: Record<string, string> }, expect: string) => {
      log(`measuring ${name}`);
      for (let i = 0; i < 10; i++) await timed(request(i), expect);
      const samples: number[] = [];
      for (let i = 0; i < settings.samples; i++) samples.push(await timed(request(i), expect));
      return percentiles(samples)!;
    };
    const anna = await session('anna');
    const cecilia = await session('cecilia');
    const decisionsDue = await measure('the decisions-due page', () => anna('/konsol'), real[0]!);
    const operation = await measure('an operation page', (i) => anna(`/konsol/operationer/${real[i % real.length]!}`), 'los-umea-');
    const steering = await measure('the steering group’s page', () => cecilia('/konsol'), '<table');

    const result: ConsoleBenchResult = {
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
    writeResults('console-', 'console-latest', startedAt, result, render(result));
    console.log(render(result));
  } finally {
    await door.stop();
    await endBenchRun({ worker, bridge, stack, scratch }, settings.keep ?? false, log);
  }
}

main().catch((err) => {
  console.error(`bench:console failed: ${(err as Error).stack ?? err}${(err as Error).cause ? `\ncaused by: ${String((err as Error).cause)}` : ''}`);
  process.exit(1);
});
