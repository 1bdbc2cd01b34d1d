/**
 * The key vault: the master key and each operation's data key (envelope encryption, erasure by destroying the
 * key), sealing of personal fields, the payload codec and failure converter every Temporal client and worker
 * uses, who may read what (access) and the log of every decode (audit), and the pseudonymous entity reference.
 * A library below the processes, the activities and the coordinator, which all hold keys through it.
 */
export {
  BridgeSigningKey,
  DEFAULT_RETENTION,
  ErasedError,
  KEY_BUCKET,
  KEY_STREAM,
  KeyStore,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE_ENV,
  NoDataKeyError,
  UnknownMasterKeyError,
  generateMasterKey,
  masterKey,
  openKeyStore,
  readMasterKeyring,
  sealedOperations,
} from './keys.js';
export type { DataKeyInfo, DecisionSigner, ErasureRecord, OverdueErasure, KeyStoreConnection, KeyStoreOptions, MasterKey, MasterKeyring } from './keys.js';
export {
  ENCODING_ENCRYPTED,
  FAILURE_CONVERTER_PATH,
  FORMAT_DEFLATE_D1,
  FORMAT_PLAIN,
  LosPayloadCodec,
  PAYLOAD_DICTIONARY,
  clientDataConverter,
  engineDataConverter,
  isReadableMetadata,
  isWorkflowMetadata,
} from './codec.js';
export { AccessDenied, Role, fingerprint, readAs } from './access.js';
export type { ReadRequest, Reader } from './access.js';
export { AUDIT_STREAM, AccessRecord, AuditLog, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SEARCH_SCAN_MAX, auditSubject } from './audit.js';
export type { AccessLogFilter, AccessLogPage } from './audit.js';
export { signDecision } from './decisions.js';
export type { DecisionToSign } from './decisions.js';
export { DECISION_FREE_TEXT, assertPlain, sealDecision, sealTip } from './sealing.js';
export type { Sealer } from './sealing.js';
export {
  ENTITY_KEY_ENV,
  ENTITY_KEY_FILE_ENV,
  ENTITY_KEY_MIN_LENGTH,
  SetupError,
  entityKeyFromEnvironment,
  entityReference,
  requireEntityKey,
} from './entityReference.js';
