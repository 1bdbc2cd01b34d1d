/**
 * The engine's side of NATS: the JetStream topology (streams, consumers, limits), the accounts and permissions
 * of the engine and of each agency, NATS errors told apart by type, leader elections waited out, and the one
 * way a CloudEvent is published. A library: the processes, the activities, the key vault and the agency client
 * build on it; it owns no rules.
 */
export {
  ADVISORY_STREAM,
  BRIDGE_GROUP,
  BRIDGE_MAX_ACK_PENDING,
  DEAD_LETTER_BODY_BYTES,
  DEAD_LETTER_WATCHER,
  DEFAULT_INBOUND_QUOTA,
  DEFAULT_RETENTION,
  ANSWER_SUBJECTS_PER_AGENCY,
  MAX_ANSWER_BYTES,
  deadLettersPerSubject,
  MAX_MSG_SIZE,
  ensureTopology,
} from './jetstream.js';
export type { RetentionOptions, TopologyOptions } from './jetstream.js';
export {
  DEFAULT_ACCOUNT_LIMITS,
  ENGINE_ACCOUNT,
  ENGINE_IDENTITIES,
  agencyAccount,
  agencyKeyList,
  agencyPermissions,
  enginePermissions,
  freshSeeds,
  natsAccountsConfig,
  natsServerConfig,
  publicKeyOf,
  publicKeys,
  readSeedFile,
  seedFileName,
} from './natsAuth.js';
export type {
  AccountLimits,
  AgencyKeys,
  EngineIdentity,
  NatsAccountsOptions,
  NatsClusterNode,
  NatsIdentity,
  NatsSeeds,
  NatsServerConfigOptions,
  NatsTls,
  NatsUserPermissions,
} from './natsAuth.js';
export {
  JS_API_CODES,
  isAuthorizationFailure,
  isConsumerAlreadyThere,
  isMessageTooLarge,
  isNotSetUpYet,
  isPermissionViolation,
  isStreamNotFound,
} from './natsErrors.js';
export { ELECTION_PATIENCE_MS, passesWithElection, waitOutElection } from './elections.js';
export { publishCloudEvent } from './cloudEvents.js';
export {
  ERASURE_STREAM,
  ERASURE_SUBJECT,
  PERSONAL_DATA_STREAMS,
  streamSource,
  eraseAcknowledged,
  eraseMessage,
  eraseOperationMessages,
  startStreamEraser,
  storedAt,
} from './erasure.js';
export type { StreamEraser } from './erasure.js';
export type { CloudEventFields } from './cloudEvents.js';
