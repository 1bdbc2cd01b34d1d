/** The coordinator's side: start and steer operations through the typed client. */
export { DEFAULT_CATALOGUE_PATH, InvalidInputError, howItEnded, loadCatalogueFile, openOperationsAbout, registerTip } from './operations.js';
export { decisionUpdateId, operationIdFor } from './operation-id.js';
export { parseDecision, sendDecision } from './decisions.js';
export type { EndedOperation, ParallelOperation, RegisterOptions, Registration } from './operations.js';
export { ENTITY_KEY_ENV, ENTITY_KEY_FILE_ENV, SetupError, entityKeyFromEnvironment, entityReference, requireEntityKey } from './entityReference.js';
export { runCli } from './cli.js';
export { OPERATOR_VIEWS, allOf, onTaskQueue, operationsQuery, quote, temporalCliCommand } from './queries.js';
export type { ListFilter } from './queries.js';
export { DECISION_FREE_TEXT, assertPlain, sealDecision, sealTip } from './sealing.js';
