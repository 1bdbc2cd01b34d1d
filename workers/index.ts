/** The engine's processes: the Temporal worker and the NATS → Temporal bridge. */
export { createOperationWorker } from './worker.js';
export { builtWorkflowBundle, currentWorkflowBundle, WORKFLOWS_PATH } from './workflowBundle.js';
export type { OperationWorkerOptions } from './worker.js';
export { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, judgeInbound, startBridge } from './bridge.js';
export type { Bridge, BridgeOptions } from './bridge.js';
export { startDeadLetterWatcher } from './deadLetters.js';
export type { DeadLetterWatcher } from './deadLetters.js';
export { connectEngineNats } from './startup.js';
