/** The coordinator's side: start and steer operations through the typed client. */
export { DEFAULT_CATALOGUE_PATH, InvalidInputError, loadCatalogueFile, registerTip } from './operations.js';
export type { RegisterOptions, Registration } from './operations.js';
export { runCli } from './cli.js';
export { OPERATOR_VIEWS, allOf, onTaskQueue, operationsQuery, quote, temporalCliCommand } from './queries.js';
export type { ListFilter } from './queries.js';
export { DECISION_FREE_TEXT, assertPlain, sealDecision, sealTip } from './sealing.js';
