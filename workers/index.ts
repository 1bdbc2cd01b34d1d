/**
 * The engine's processes: the Temporal worker, the NATS → Temporal bridge with its dead-letter watcher, and the
 * codec server, wired by the one composition root (compose.ts); main.ts runs one of them as a process.
 */
export { composeEngine, engineTopology } from './compose.js';
export type { Engine, EngineRole, EngineVariant, EngineWiring } from './compose.js';
export { builtWorkflowBundle, currentWorkflowBundle, WORKFLOWS_PATH } from './workflowBundle.js';
export type { OperationWorkerOptions } from './worker.js';
export { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, judgeInbound, startBridge } from './bridge.js';
export type { Bridge, BridgeOptions } from './bridge.js';
export { startDeadLetterWatcher } from './deadLetters.js';
export type { DeadLetterWatcher } from './deadLetters.js';
export { startCodecServer } from './codecServer.js';
export type { CodecServer, CodecServerOptions } from './codecServer.js';
export { createLogger } from './logger.js';
export type { EngineLogger } from './logger.js';
export { connectEngineNats } from './startup.js';
export { ENGINE_NODE_OPTIONS, engineNodeOptions } from './memory.js';
