/**
 * The failure types of the engine's ApplicationFailures, written once: the workflow and the notify activity
 * throw them, and the bridge and the clients branch on them. Importable from workflow code and from Node.
 */
export const FailureType = {
  /** The input breaks its schema: an operation's input, a decision, an answer or a batch of answers. */
  InvalidInput: 'InvalidInput',
  /** Well formed but not admissible now: a decision the stage does not allow, an answer that matches no request. */
  NotAllowedNow: 'NotAllowedNow',
  /** The operation has ended and takes no more answers; the bridge tells the agency "operation closed". */
  OperationEnded: 'OperationEnded',
  /** An answer (or batch) without a valid signature of the bridge: a Temporal client is not an agency. */
  Unsigned: 'Unsigned',
  /**
   * A decision not signed by the API, signed for another operation or update, by someone who may not take it
   * (a role other than coordinator, another municipality), stale, or replayed: a Temporal client is not a coordinator.
   */
  NotAuthorised: 'NotAuthorised',
  /** The operation does not hold the bridge's (or the API's) key yet (its first moments): the sender tries again shortly. */
  NotReady: 'NotReady',
  /** A correction that changes nothing: a plain re-registration, which leaves no trace in the history. */
  TipUnchanged: 'TipUnchanged',
  /** Internal: a phase move the phase rules do not allow (a bug, never the caller's fault). */
  PhaseRule: 'PhaseRule',
  /** Internal: a stage move the stage machine does not allow (a bug, never the caller's fault). */
  StageRule: 'StageRule',
  /** The notify activity holds sealed data but its process has no key store. */
  NoKeys: 'NoKeys',
  /** The notify activity cannot unseal: the operation's personal data was erased after its retention. */
  Erased: 'Erased',
  /** An outbound payload breaks the agency contract: a bug in the engine, which no retry can fix. */
  ContractViolation: 'ContractViolation',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
