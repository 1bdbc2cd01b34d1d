import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

/**
 * The floor the LOS workflow is compared with: the same number of activities, signals and timers per
 * operation, in the same order, with no domain logic, no search attributes and no payload worth the name.
 * Whatever the LOS operation costs beyond this is the price of its rules, its record and its UI status.
 */

export const decisionSignal = defineSignal('decision');
export const answerSignal = defineSignal('answer');

export type BaselineStep =
  /** Wait for the coordinator's next decision. */
  | { kind: 'decision' }
  /** Run this many no-op activities at once; the bench answers each `answered` one with a signal. */
  | { kind: 'notify'; answered: number; plain: number }
  /** Wait until this many answers have arrived in all. */
  | { kind: 'answers'; total: number }
  | { kind: 'sleep'; ms: number };

export interface BaselineActivities {
  deliverNotice(answered: boolean): Promise<void>;
}

const { deliverNotice } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export async function baselineOperation(plan: BaselineStep[]): Promise<{ decisions: number; answers: number }> {
  let decisions = 0;
  let answers = 0;
  let decisionsNeeded = 0;
  setHandler(decisionSignal, () => void (decisions += 1));
  setHandler(answerSignal, () => void (answers += 1));
  for (const step of plan) {
    switch (step.kind) {
      case 'decision':
        decisionsNeeded += 1;
        await condition(() => decisions >= decisionsNeeded);
        break;
      case 'notify':
        await Promise.all([...Array<boolean>(step.answered).fill(true), ...Array<boolean>(step.plain).fill(false)].map((answered) => deliverNotice(answered)));
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
