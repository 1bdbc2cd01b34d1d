import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import {
  OperationStart,
  catalogueSnapshot,
  correctableFields,
  deadlineAfter,
  disclosureRegister,
  freshMemory,
  rejection,
  tipAsShown,
} from '../domain/index.js';
import { handleAnswers } from './answers.js';
import { handleDecisions } from './decisions.js';
import { FailureType } from './failures.js';
import {
  correctableTipQuery,
  disclosuresQuery,
  registeredTipQuery,
  stateQuery,
  timelineQuery,
  type OperationInput,
  type OperationResult,
} from './definitions.js';
import { arrangesErasure, Fanout, learnEngineKeys } from './notifier.js';
import { nowMs, Operation } from './operation-state.js';
import { cancelOperation, sendCorrections, stagesOf } from './stages.js';
import { continueAsNewDue } from './waiting.js';

/**
 * The start input, checked as the typed client checks it: a bad start fails at once, naming the field. A whole
 * catalogue (a start that skipped the typed client) is cut to the snapshot the typed client sends, so that
 * continue-as-new carries no more.
 */
function parseStart(input: unknown): OperationInput {
  const parsed = OperationStart.safeParse(input);
  if (!parsed.success) {
    // The message names the fields only (the Temporal UI shows it to operators); the values go in the encrypted details.
    const { message, quoted } = rejection('operation input', parsed.error, input);
    throw ApplicationFailure.create({ message, type: FailureType.InvalidInput, nonRetryable: true, details: [{ quoted }] });
  }
  return { ...parsed.data, catalogue: catalogueSnapshot(parsed.data.catalogue, parsed.data.tip.categories) };
}

/**
 * One LOS operation: one tip carried through assessment, mandate matching, joint action and follow-up.
 * The main loop runs one stage at a time (workflows/stages.ts); coordinator decisions and agency answers
 * arrive as updates (decisions.ts, answers.ts); the state and its rules live in operation-state.ts and
 * domain/. Every stage keeps its deadline in memory, so the operation can continue-as-new at any stage
 * boundary and resume exactly where it was.
 */
export async function losOperation(input: OperationInput): Promise<OperationResult> {
  const { tip, config, catalogue, author } = input?.memory ? input : parseStart(input);
  const op = new Operation(tip, config, catalogue, input.memory ?? freshMemory());
  handleAnswers(op);
  handleDecisions(op);
  setHandler(stateQuery, () => op.view());
  setHandler(timelineQuery, () => [...op.memory.timeline]);
  setHandler(disclosuresQuery, () => disclosureRegister(op.memory.timeline, op.catalogue));
  setHandler(correctableTipQuery, () => correctableFields(op.tip));
  setHandler(registeredTipQuery, () => tipAsShown(op.tip));
  const stages = stagesOf(op);

  if (op.memory.timeline.length === 0) op.register(deadlineAfter(nowMs(), config.assessmentDeadline), author);
  else op.resume();
  if (op.memory.apiKey === undefined) await learnEngineKeys(op);

  while (op.memory.stage !== 'ended') {
    if (op.cancelling) {
      await cancelOperation(op);
      break;
    }
    if (op.hasIntent('correction')) await sendCorrections(op);
    if (continueAsNewDue(op)) {
      // Months-long operations must not outgrow their history: carry everything into a fresh run.
      await condition(allHandlersFinished);
      op.flushStatus();
      return continueAsNew<typeof losOperation>({ tip: op.tip, config, catalogue, memory: op.carryOver() });
    }
    await stages[op.memory.stage]();
  }

  await condition(allHandlersFinished);
  op.flushStatus();
  // Kept no longer than needed: the erasure outlives this workflow and destroys the data key after the retention.
  // The final fan-out arranged it (notifier.ts); an ending that told nobody sends one for the erasure alone.
  if (arrangesErasure(op)) await new Fanout(op).send();
  return {
    operationId: op.operationId,
    phase: op.memory.phase,
    ...(op.memory.endReason !== undefined ? { endReason: op.memory.endReason } : {}),
    ...(op.memory.phase === 'closed' ? { outcome: op.summary() } : {}),
  };
}
