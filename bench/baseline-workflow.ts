import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

/**
 * The two workflows the LOS operation is compared with, both driven by the same plan of the LOS lifecycle.
 *
 * - `baselineOperation`, the bare workflow: the same number of activities, signals and timers per
 *   operation, in the same order, with no domain logic, no search attributes and no payload worth the name.
 *   Its activities publish nothing.
 * - `floorOperation`, the floor: the least a hand-tuned workflow needs to do the same logical work. One
 *   activity per fan-out publishes every notice of it to JetStream (deterministic Nats-Msg-Id each), agencies
 *   read them from their stream and answer with one signal each, and the timers are the same.
 *
 * Whatever the LOS operation costs beyond these is the price of its rules, its record and its UI status.
 */

export const decisionSignal = defineSignal('decision');
export const answerSignal = defineSignal('answer');

export type BaselineStep =
  /** Wait for the coordinator's next decision. */
  | { kind: 'decision' }
  /** Notify this many agencies at once; the `answered` ones answer each with a signal. */
  | { kind: 'notify'; answered: number; plain: number }
  /** Wait until this many answers have arrived in all. */
  | { kind: 'answers'; total: number }
  | { kind: 'sleep'; ms: number };

export interface BaselineActivities {
  deliverNotice(answered: boolean): Promise<void>;
}

/** One fan-out of the floor: `batch` numbers it within the operation, so its message ids are deterministic. */
export interface FloorFanOut {
  batch: number;
  answered: number;
  plain: number;
}

export interface FloorActivities {
  /** Publishes every notice of the fan-out to JetStream; a retry republishes only what the stream has not stored. */
  publishFanOut(fanOut: FloorFanOut): Promise<void>;
}

const { deliverNotice } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });
const { publishFanOut } = proxyActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });

/** Walks the plan; `notify` carries out each notify step, numbered from 0. */
async function runPlan(plan: BaselineStep[], notify: (step: Extract<BaselineStep, { kind: 'notify' }>, index: number) => Promise<unknown>) {
  let decisions = 0;
  let answers = 0;
  let decisionsNeeded = 0;
  let fanOuts = 0;
  setHandler(decisionSignal, () => void (decisions += 1));
  setHandler(answerSignal, () => void (answers += 1));
  for (const step of plan) {
    switch (step.kind) {
      case 'decision':
        decisionsNeeded += 1;
        await condition(() => decisions >= decisionsNeeded);
        break;
      case 'notify':
        await notify(step, fanOuts++);
        break;
      case 'answers':
        await condition(() => answers >= step.total);
        break;
      case 'sleep':
        await sleep(step.ms);
        break;
    }
  }
  return { decisions, answers };
}

export function baselineOperation(plan: BaselineStep[]): Promise<{ decisions: number; answers: number }> {
  return runPlan(plan, (step) =>
    Promise.all([...Array<boolean>(step.answered).fill(true), ...Array<boolean>(step.plain).fill(false)].map((answered) => deliverNotice(answered))),
  );
}

export function floorOperation(plan: BaselineStep[]): Promise<{ decisions: number; answers: number }> {
  return runPlan(plan, (step, batch) => publishFanOut({ batch, answered: step.answered, plain: step.plain }));
}
