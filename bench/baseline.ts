import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { answerSignal, decisionSignal, type BaselineActivities, type BaselineStep, type baselineOperation } from './baseline-workflow.js';
import type { Completion } from './load.js';

/**
 * Runs the baseline workflow with the LOS operation's shape. Its worker runs in this process (it needs no
 * NATS), and its activities do nothing but tell the bench client, which answers with a signal: the part an
 * agency plays in the LOS lifecycle.
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

export function planCounts(plan: BaselineStep[]): { activities: number; signals: number; timers: number } {
  let activities = 0;
  let signals = 0;
  let timers = 0;
  for (const step of plan) {
    if (step.kind === 'notify') {
      activities += step.answered + step.plain;
      signals += step.answered;
    } else if (step.kind === 'decision') signals += 1;
    else if (step.kind === 'sleep') timers += 1;
  }
  return { activities, signals, timers };
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
  ) {
    this.decisionAfter = new Set([agencies, 4 * agencies]);
  }

  readonly activities: BaselineActivities = {
    deliverNotice: async (answered) => {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (answered && workflowId) this.answer(workflowId);
    },
  };

  createWorker(connection: NativeConnection): Promise<Worker> {
    return Worker.create({ connection, taskQueue: this.taskQueue, workflowsPath: BASELINE_WORKFLOWS_PATH, activities: this.activities });
  }

  /** Answers as an agency would: after the notice, not inside it, so the activity returns at once. */
  private answer(workflowId: string): void {
    const op = this.running.get(workflowId);
    if (!op) return;
    op.answersSent += 1;
    const decides = this.decisionAfter.has(op.answersSent);
    void (async () => {
      await op.handle.signal(answerSignal);
      if (decides) await op.handle.signal(decisionSignal);
    })().catch((err: Error) => {
      op.error ??= err;
    });
  }

  async runOne(index: number): Promise<BaselineSample> {
    const workflowId = `bench-baseline-${this.runId}-${index}`;
    const startedAt = performance.now();
    try {
      const handle = await this.client.workflow.start<typeof baselineOperation>('baselineOperation', { workflowId, taskQueue: this.taskQueue, args: [this.plan] });
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
