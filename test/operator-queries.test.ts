import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { OPERATOR_VIEWS, allOf, onTaskQueue } from '../domain/queries.js';
import type { OperationState } from '../domain/index.js';
import { assessUpdate, stateQuery } from '../workflows/definitions.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/**
 * The operator guide's saved views, run against real operations in different phases. Each view is narrowed
 * to this file's task queue so operations of other test files on the same dev server do not interfere.
 */
let engine: TestEngine;
const ids = { assessment: '', overdueAssessment: '', jointAction: '' };

const stateOf = (operationId: string) => engine.client.workflow.getHandle(operationId).query(stateQuery);
const until = (operationId: string, test: (s: OperationState) => boolean) => eventually(() => stateOf(operationId), test, 30_000);

async function listed(query: string): Promise<string[]> {
  const found: string[] = [];
  for await (const info of engine.client.workflow.list({ query: allOf(query, onTaskQueue(engine.taskQueue)) })) found.push(info.workflowId);
  return found.sort();
}

/** Visibility is eventually consistent: wait for the expected answer, and fail with the last one seen. */
async function expectListed(query: string, expected: string[]) {
  const want = [...expected].sort();
  const found = await eventually(
    () => listed(query),
    (seen) => JSON.stringify(seen) === JSON.stringify(want),
  );
  expect(found).toEqual(want);
}

beforeAll(async () => {
  engine = await startTestEngine('operator-queries');
  await engine.startAgencies(DEMO_BEHAVIOURS);

  ids.assessment = (await engine.register(sampleTip())).operationId;
  // A short assessment deadline: escalated after two seconds, and flagged overdue while the decision is owed.
  ids.overdueAssessment = (await engine.register(sampleTip(), { config: { assessmentDeadline: '2s' } })).operationId;
  const joint = await engine.register(sampleTip());
  ids.jointAction = joint.operationId;

  await until(ids.assessment, (s) => s.phase === 'assessment');
  await until(ids.jointAction, (s) => s.phase === 'assessment');
  await engine.decide(joint.handle, assessUpdate, { decision: 'proceed' });
  await until(ids.jointAction, (s) => s.phase === 'joint_action');
  await until(ids.overdueAssessment, (s) => s.overdue);
}, 120_000);
afterAll(async () => {
  await engine?.stop();
});

describe('the operator guide’s saved views', () => {
  it('documents exactly these queries', () => {
    expect(Object.values(OPERATOR_VIEWS).map((view) => view.query)).toEqual(['LosOverdue = true', "LosPhase = 'assessment'", "LosAgencies = 'polisen'"]);
  });

  it('finds only the overdue operation with the overdue view', async () => {
    await expectListed(OPERATOR_VIEWS.overdue.query, [ids.overdueAssessment]);
  });

  it('finds both operations still in assessment, overdue or not, with the assessment view', async () => {
    await expectListed(OPERATOR_VIEWS.inAssessment.query, [ids.assessment, ids.overdueAssessment]);
  });

  it('finds the operation Polisen takes part in with the agency view, and none still in assessment', async () => {
    await expectListed(OPERATOR_VIEWS.involvingPolisen.query, [ids.jointAction]);
  });
});
