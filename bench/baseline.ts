import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { answerSignal, decisionSignal, type BaselineActivities, type BaselineStep, type FloorActivities, type baselineOperation } from './baseline-workflow.js';
import type { Completion } from './load.js';

/**
 * Runs a comparison workflow (bench/baseline-workflow.ts) with the LOS operation's shape: the bare baseline,
 * whose activities do nothing but tell the bench client, or the floor, whose activities publish to JetStream
 * and whose agencies (bench/floor.ts) answer what they read. Either way the answer is a signal, the part an
 * agency plays in the LOS lifecycle, and the coordinator's decisions follow the answers. The worker runs in
 * this process.
 */

export const BASELINE_WORKFLOWS_PATH = new URL('./baseline-workflow.ts', import.meta.url).pathname;

/** The LOS lifecycle as the benchmark drives it, step for step; see stages in workflows/operation.ts. */
export function baselinePlan(agencies: number, secondWave: number, actionLeadMs: number, followUpMs: number): BaselineStep[] {
  return [
    { kind: 'decision' }, // assess: proceed
    { kind: 'notify', answered: agencies, plain: 0 }, // mandate requests
    { kind: 'answers', total: agencies },
    { kind: 'decision' }, // schedule
    { kind: 'notify', answered: agencies, plain: 0 }, // briefings, answered by readiness
    { kind: 'sleep', ms: actionLeadMs }, // the action's start timer
    { kind: 'notify', answered: 0, plain: agencies }, // action started
    { kind: 'notify', answered: agencies, plain: 0 }, // findings requests
    { kind: 'answers', total: 3 * agencies },
    { kind: 'sleep', ms: followUpMs }, // the follow-up period
    { kind: 'notify', answered: agencies, plain: 0 }, // outcome requests
    { kind: 'notify', answered: 0, plain: secondWave }, // second-wave notices
    { kind: 'answers', total: 4 * agencies },
    { kind: 'decision' }, // close
    { kind: 'notify', answered: 0, plain: agencies }, // operation closed
  ];
}

/**
 * The floor's plan: notify steps with nothing to wait for between them are one fan-out, as a hand-tuned
 * workflow would send them (action started with the findings requests; the outcome requests with the
 * second-wave notices).
 */
export function floorPlan(plan: BaselineStep[]): BaselineStep[] {
  const out: BaselineStep[] = [];
  for (const step of plan) {
    const last = out[out.length - 1];
    if (step.kind === 'notify' && last?.kind === 'notify')
      out[out.length - 1] = { kind: 'notify', answered: last.answered + step.answered, plain: last.plain + step.plain };
    else out.push(step);
  }
  return out;
}

/** Per operation: notices (the bare baseline runs one activity each), fan-outs (the floor runs one activity each), signals and timers. */
export function planCounts(plan: BaselineStep[]): { notices: number; fanOuts: number; signals: number; timers: number } {
  const counts = { notices: 0, fanOuts: 0, signals: 0, timers: 0 };
  for (const step of plan) {
    if (step.kind === 'notify') {
      counts.fanOuts += 1;
      counts.notices += step.answered + step.plain;
      counts.signals += step.answered;
    } else if (step.kind === 'decision') counts.signals += 1;
    else if (step.kind === 'sleep') counts.timers += 1;
  }
  return counts;
}

type BaselineHandle = WorkflowHandle<typeof baselineOperation>;

interface Running {
  handle: BaselineHandle;
  answersSent: number;
  error?: Error;
}

export interface BaselineSample extends Completion {
  workflowId: string;
}

export type ComparisonKind = 'baseline' | 'floor';

const WORKFLOW_TYPE: Record<ComparisonKind, string> = { baseline: 'baselineOperation', floor: 'floorOperation' };

export class BaselineRunner {
  private readonly running = new Map<string, Running>();
  /** After this many answers the coordinator takes its next decision: schedule, then close. */
  private readonly decisionAfter: Set<number>;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly runId: string,
    private readonly plan: BaselineStep[],
    agencies: number,
    private readonly kind: ComparisonKind = 'baseline',
  ) {
    this.decisionAfter = new Set([agencies, 4 * agencies]);
  }

  readonly activities: BaselineActivities = {
    deliverNotice: async (answered) => {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (answered && workflowId) void this.answer(workflowId);
    },
  };

  /** The floor passes the activities that publish to JetStream; the bare baseline uses its own no-ops. */
  createWorker(connection: NativeConnection, activities: BaselineActivities | FloorActivities = this.activities): Promise<Worker> {
    return Worker.create({ connection, taskQueue: this.taskQueue, workflowsPath: BASELINE_WORKFLOWS_PATH, activities });
  }

  /**
   * Answers as an agency would: after the notice, not inside it, so the activity returns at once. The
   * coordinator's next decision follows the answer that completes a round. Resolves once the signals are sent.
   */
  answer(workflowId: string): Promise<void> {
    const op = this.running.get(workflowId);
    if (!op) return Promise.resolve();
    op.answersSent += 1;
    const decides = this.decisionAfter.has(op.answersSent);
    return (async () => {
      await op.handle.signal(answerSignal);
      if (decides) await op.handle.signal(decisionSignal);
    })().catch((err: Error) => {
      op.error ??= err;
    });
  }

  async runOne(index: number): Promise<BaselineSample> {
    const workflowId = `bench-${this.kind}-${this.runId}-${index}`;
    const startedAt = performance.now();
    try {
      // Both workflow types take the plan and return the same; baselineOperation stands for either.
      const handle = await this.client.workflow.start<typeof baselineOperation>(WORKFLOW_TYPE[this.kind], {
        workflowId,
        taskQueue: this.taskQueue,
        args: [this.plan],
      });
      const op: Running = { handle, answersSent: 0 };
      this.running.set(workflowId, op);
      await handle.signal(decisionSignal);
      await handle.result();
      if (op.error) throw op.error;
      return { ok: true, workflowId, startedAt, finishedAt: performance.now() };
    } catch (err) {
      return { ok: false, workflowId, startedAt, finishedAt: performance.now(), error: (err as Error).message };
    } finally {
      this.running.delete(workflowId);
    }
  }
}
