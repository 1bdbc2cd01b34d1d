import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, patched, setHandler } from '@temporalio/workflow';
import { OperationStart, deadlineAfter, describeIssues } from '../domain/index.js';
import { handleAnswers } from './answers.js';
import { handleDecisions } from './decisions.js';
import { stateQuery, timelineQuery, type OperationInput, type OperationResult } from './definitions.js';
import { losOperationV1 } from './legacy/operation-v1.js';
import type { OperationInput as OperationInputV1 } from './legacy/v1-rules.js';
import { freshMemory, nowMs, Operation } from './operation-state.js';
import { cancelOperation, stagesOf } from './stages.js';
import { continueAsNewDue } from './waiting.js';

/**
 * Patch markers (README, "Changing workflow code"). Operations that passed the marked point before the
 * change replay the old path; new ones take the new path.
 */
const PATCHES = {
  /** Workflow code v2: the restructured operation. v1 operations (and their continued runs) stay on v1. */
  restructured: 'operation-v2',
} as const;

/** The start input, checked as the typed client checks it: a bad start fails at once, naming the field. */
function parseStart(input: unknown): OperationInput {
  const parsed = OperationStart.safeParse(input);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`operation input rejected: ${describeIssues(parsed.error, input)}`, 'InvalidInput');
  return parsed.data;
}

/**
 * One LOS operation: one tip carried through assessment, mandate matching, joint action and follow-up.
 * The main loop runs one stage at a time (workflows/stages.ts); coordinator decisions and agency answers
 * arrive as updates (decisions.ts, answers.ts); the state and its rules live in operation-state.ts and
 * domain/. Every stage keeps its deadline in memory, so the operation can continue-as-new at any stage
 * boundary and resume exactly where it was.
 */
export async function losOperation(input: OperationInput | OperationInputV1): Promise<OperationResult> {
  const continuedV1 = input?.memory !== undefined && (input.memory as { version?: number }).version !== 2;
  if (continuedV1 || !patched(PATCHES.restructured)) return losOperationV1(input as OperationInputV1);

  const { tip, config, catalogue } = input.memory ? (input as OperationInput) : parseStart(input);
  const op = new Operation(tip, config, catalogue, (input as OperationInput).memory ?? freshMemory());
  handleAnswers(op);
  handleDecisions(op);
  setHandler(stateQuery, () => op.view());
  setHandler(timelineQuery, () => [...op.memory.timeline]);
  const stages = stagesOf(op);

  if (op.memory.timeline.length === 0) {
    const source = `${tip.source.kind}${tip.source.protected ? ' (protected)' : ''}`;
    op.record('decision', `tip registered: ${tip.categories.join(', ')}; urgency ${tip.urgency}; source ${source}`);
    op.move('tip_registered');
    op.enter('assessment', { what: 'assessment', dueMs: deadlineAfter(nowMs(), config.assessmentDeadline) });
  } else {
    op.record('continued', `continued as new (run ${op.memory.continuedAsNew + 1}); resuming at ${op.memory.stage}`);
    op.publishStatus();
  }

  while (op.memory.stage !== 'ended') {
    if (op.cancelling) {
      await cancelOperation(op);
      break;
    }
    if (continueAsNewDue(op)) {
      // Months-long operations must not outgrow their history: carry everything into a fresh run.
      await condition(allHandlersFinished);
      op.memory.continuedAsNew += 1;
      return continueAsNew<typeof losOperation>({ tip, config, catalogue, memory: op.snapshot() });
    }
    await stages[op.memory.stage]();
  }

  await condition(allHandlersFinished);
  return {
    operationId: op.operationId,
    phase: op.memory.phase,
    ...(op.memory.endReason !== undefined ? { endReason: op.memory.endReason } : {}),
    ...(op.memory.phase === 'closed' ? { outcome: op.summary() } : {}),
  };
}
