/**
 * `npm run bench:flood`: only the flood phase of `npm run bench` (issue 21), on the bench's stack (dev server,
 * nats-server, the worker and the bridge as processes): one agency floods the bridge at 600/s in each way while
 * another answers its own operations every 100 ms; the other agency's answer p50/p95/p99, per kind and overall.
 * Writes bench/results/flood-<time>.{json,md} and flood-latest.{json,md}.
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadCatalogueFile } from '../config/index.js';
import { bridgeSettled, floodSettings, measureFlood, type FloodResult } from './flood.js';
import { LIFECYCLE_CATEGORIES, lifecycleContext } from './operations.js';
import { floodRows } from './report.js';
import { endBenchRun, machineFacts, readVersions, startBenchRun, waitUntilReady, writeResults, type MachineFacts, type Versions } from './stack.js';
import { candidateAgencies, type AgencyId } from '../domain/index.js';

const log = (line: string) => console.error(`[bench] ${line}`);

interface FloodBenchResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  versions: Versions;
  flood: FloodResult;
}

function render(result: FloodBenchResult): string {
  return [
    '# Flood: one agency floods, another answers',
    '',
    `${result.startedAt} → ${result.finishedAt}, \`npm run bench:flood\`. Machine: ${result.machine.cores} × ${result.machine.cpuModel}; load average ${result.machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start. The worker and the bridge are child processes.`,
    '',
    '| | p50 / p95 / p99 |',
    '|---|---|',
    ...floodRows(result.flood).map(([what, figure]) => `| ${what} | ${figure} |`),
    '',
  ].join('\n');
}

async function main() {
  const positive = (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a number > 0`);
    return n;
  };
  const defaults = floodSettings(false);
  const settings = new Command()
    .name('bench:flood')
    .description("One agency floods the bridge in each way while another answers: the other agency's answer latency.")
    .option('--seconds <s>', 'seconds each kind of flood lasts', positive, defaults.seconds)
    .option('--rate <r>', 'flood messages per second', positive, defaults.ratePerSecond)
    .option('--keep', 'keep the scratch directory (logs of every process)')
    .parse()
    .opts<{ seconds: number; rate: number; keep?: boolean }>();
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { startedAt, loadAtStart, runId, scratch, taskQueue, stack, worker, bridge } = await startBenchRun('flood', log);
  try {
    await waitUntilReady(worker, bridge, stack, taskQueue);
    const versions = await readVersions(stack);
    const catalogue = loadCatalogueFile();
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue, taskQueue, runId });
    const [flooder, other] = candidateAgencies(LIFECYCLE_CATEGORIES, catalogue) as [AgencyId, AgencyId];
    log(`flood: ${flooder} floods at ${settings.rate}/s for ${settings.seconds} s in each way while ${other} answers`);
    const flood = await measureFlood(ctx, stack.nc, {
      seconds: settings.seconds,
      ratePerSecond: settings.rate,
      sampleEveryMs: defaults.sampleEveryMs,
      flooder,
      other,
      settled: bridgeSettled(stack.nc),
    });
    const result: FloodBenchResult = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineFacts(loadAtStart),
      versions,
      flood,
    };
    writeResults('flood-', 'flood-latest', startedAt, result, render(result));
    console.log(render(result));
  } finally {
    await endBenchRun({ worker, bridge, stack, scratch }, settings.keep ?? false, log);
  }
}

main().catch((err) => {
  console.error(`bench:flood failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
