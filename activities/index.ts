/** Activities do I/O and nothing else: every decision was made in the workflow from domain rules. */
export { PLAINTEXT_ONLY, createNotifyActivities, encodeCloudEvent, sourceFor } from './notify.js';
export type { AgencyNotice, CoordinatorNotice, DeliveryReceipt, NotifyActivities, SteeringNotice } from './notify.js';
export { createKeyActivities } from './keys.js';
export type { KeyActivities } from './keys.js';
