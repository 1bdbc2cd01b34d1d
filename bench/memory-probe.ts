/**
 * `tsx bench/memory-probe.ts [--open 1000,3000] [--concurrency 32]`: the worker's memory alone, faster than
 * `npm run bench`. Starts a dev server, nats-server and the LOS worker as a child process (as deployed,
 * configured through the environment: MAX_CACHED_WORKFLOWS, NODE_OPTIONS and the like pass through), registers
 * operations that wait in assessment on a 30-day timer, as the bench's scale phase does, and prints the
 * worker's RSS at each checkpoint with the highest RSS sampled (every 100 ms) on the way there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadCatalogueFile } from '../config/index.js';
import { lifecycleContext, registerWaiting } from './operations.js';
import { readCpuSeconds, readMemory } from './processes.js';
import { SCALE_ASSESSMENT_DEADLINE } from './scale.js';
import { startEngineProcess, startStack } from './stack.js';
import { sleep } from './stats.js';

const MiB = 2 ** 20;

async function main() {
  const flags = new Command()
    .option('--open <list>', 'checkpoints: operations open', '1000,3000')
    .option('--concurrency <n>', 'registrations in flight', '32')
    .option('--settle <s>', 'seconds to wait after each checkpoint before the reading', '5')
    .option('--keep', 'keep the scratch directory (logs, database)')
    .parse()
    .opts<{ open: string; concurrency: string; settle: string; keep?: boolean }>();
  const targets = flags.open.split(',').map(Number);
  const concurrency = Number(flags.concurrency);
  process.env.LOS_ENTITY_KEY ??= randomBytes(32).toString('hex');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const scratch = mkdtempSync(join(tmpdir(), 'los-memprobe-'));
  const runId = Date.now().toString(36);
  const taskQueue = `los-memprobe-${runId}`;
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const stack = await startStack(scratch, log);
  const worker = startEngineProcess('worker', stack, taskQueue, scratch);
  const pid = worker.child.pid!;
  try {
    // Ready: the worker polls its workflow task queue.
    for (;;) {
      if (worker.child.exitCode !== null) throw new Error(`worker exited; see ${worker.logFile}`);
      const described = await stack.client.workflowService
        .describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 })
        .catch(() => undefined);
      if ((described?.pollers?.length ?? 0) > 0) break;
      await sleep(250);
    }
    const ready = readMemory(pid)!;
    log(
      `worker ready: RSS ${(ready.rssBytes / MiB).toFixed(0)} MiB (NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ''}, MAX_CACHED_WORKFLOWS=${process.env.MAX_CACHED_WORKFLOWS ?? 'default'})`,
    );
    let peak = ready.rssBytes;
    const sampler = setInterval(() => {
      const reading = readMemory(pid);
      if (reading) peak = Math.max(peak, reading.rssBytes);
    }, 100);
    const ctx = lifecycleContext({ client: stack.client, keys: stack.keys, catalogue: loadCatalogueFile(), taskQueue, runId });
    const inAssessment = `TaskQueue = '${taskQueue}' AND LosPhase = 'assessment' AND ExecutionStatus = 'Running'`;
    const cpuAtStart = readCpuSeconds(pid) ?? 0;
    const startedAt = performance.now();
    let index = 0;
    let failed = 0;
    for (const target of targets) {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (index < target) {
            const mine = index++;
            await registerWaiting(ctx, mine, SCALE_ASSESSMENT_DEADLINE).catch(() => (failed += 1));
          }
        }),
      );
      for (;;) {
        const open = (await stack.client.workflow.count(inAssessment).catch(() => ({ count: -1 }))).count;
        if (open >= target - failed) break;
        await sleep(500);
      }
      const settledPeak = peak;
      const settled = readMemory(pid)!;
      await sleep(Number(flags.settle) * 1000);
      const after = readMemory(pid)!;
      log(
        `${target} open (${failed} failed), ${((performance.now() - startedAt) / 1000).toFixed(0)} s, worker CPU ${((readCpuSeconds(pid) ?? 0) - cpuAtStart).toFixed(1)} s: ` +
          `RSS ${(settled.rssBytes / MiB).toFixed(0)} MiB when settled, ${(after.rssBytes / MiB).toFixed(0)} MiB ${flags.settle} s later, peak ${(settledPeak / MiB).toFixed(0)} MiB`,
      );
      peak = after.rssBytes;
    }
    clearInterval(sampler);
  } finally {
    await worker.stop();
    await stack.stop();
    if (flags.keep) log(`scratch kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
