/** The workflows the worker registers. Everything here runs in Temporal's deterministic sandbox. */
export { losOperation } from './operation.js';
export { eraseOperationData, reconcileErasures } from './erasure.js';
