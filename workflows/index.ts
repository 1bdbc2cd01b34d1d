/** The workflows the worker registers. Everything here runs in Temporal's deterministic sandbox. */
export { losOperationV2 } from './operation.js';
export { eraseOperationData } from './erasure.js';
