/** Activities do I/O and nothing else: every decision was made in the workflow from domain rules. */
export { createNotifyActivities } from './notify.js';
export type { AgencyNotice, CoordinatorNotice, Delivery, DeliveryBatch, DeliveryReceipt, NotifyActivities, SteeringNotice } from './notify.js';
