/** The coordinator's side: start and steer operations through the typed client. */
export { InvalidInputError, howItEnded, openOperationsAbout, registerTip } from './operations.js';
export { decisionUpdateId, operationIdFor } from './operation-id.js';
export { parseDecision, sendDecision } from './decisions.js';
export { executeSigned } from './signed-updates.js';
export type { DecisionKeys } from './decisions.js';
export type { EndedOperation, ParallelOperation, RegisterOptions, Registration } from './operations.js';
export { runCli } from './cli.js';
export { OPERATOR_VIEWS, allOf, onTaskQueue, operationsQuery, quote, temporalCliCommand } from './queries.js';
export type { ListFilter } from './queries.js';
