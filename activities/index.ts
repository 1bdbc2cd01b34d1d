/** Activities do I/O and nothing else: every decision was made in the workflow from domain rules. */
export { PLAINTEXT_ONLY, createNotifyActivities } from './notify.js';
export type { Delivery, DeliveryBatch, DeliveryResult, NotifyActivities, Unsealer } from './notify.js';
export { createKeyActivities, ERASURE_RECONCILIATION } from './keys.js';
export type { ErasureReconciliation, KeyActivities } from './keys.js';
