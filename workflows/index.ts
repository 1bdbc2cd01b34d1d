/** The workflows the worker registers. Everything here runs in Temporal's deterministic sandbox. */
export { losOperationV2 } from './operation.js';
/** Frozen v1 code, registered until the last operation started on it has ended (README, "Changing workflow code"). */
export { losOperation } from './legacy/operation-v1.js';
export { eraseOperationData } from './erasure.js';
