import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { NotAllowedNowError, UnreachableError, type LosClient } from '../coordinator/index.js';
import { registerTip, sendDecision, type DecisionKeys, type RegisterOptions } from '../api/engine.js';
import type { Author, DecisionInput, DecisionKind, MandateCatalogue, OperationConfigInput, TipInput } from '../domain/index.js';

/**
 * The two doors the bench can drive an operation's coordinator through, behind one interface, so the lifecycle
 * (bench/operations.ts) is one code path and the figures of the two differ only by the door:
 * - `direct`: the engine-internal path the API itself takes (api/engine.ts `registerTip` and `sendDecision`) on
 *   the bench's own Temporal client and key store, as every bench before the API did;
 * - `api`: the typed client (`LosClient`) over HTTP to the API process, with a bearer token from the identity
 *   provider, as a municipality's case system would.
 * What the bench watches (the state query, the workflow's result, what agencies hold) is its instrument and the
 * same for both: it is not the coordinator's work.
 */
export interface CoordinatorDriver {
  readonly door: 'direct' | 'api';
  /** Registers the tip; `started` for a new operation. */
  register(tip: TipInput, config: OperationConfigInput): Promise<{ operationId: string; outcome: string }>;
  /** Sends one decision and returns once the operation has accepted it (the receipt). */
  decide<K extends DecisionKind>(operationId: string, kind: K, decision: DecisionInput<K>): Promise<unknown>;
  /** The operation has not caught up with this decision yet (its validator refused it for now): a coordinator sends it again. */
  notYet(err: unknown): boolean;
}

/** Who the bench decides and registers as on the direct path: a coordinator of Umeå, where its tips are, as the API would name them. */
export const BENCH_COORDINATOR: Author = { sub: 'bench.coordinator@umea', name: 'Bench coordinator', role: 'coordinator', municipality: 'Umeå' };

export interface DirectDriverOptions {
  client: Client;
  /** The key store: the tip and each decision's free text are sealed with the operation's data key, as the API does. */
  keys: RegisterOptions['keys'] & DecisionKeys['keys'];
  catalogue: MandateCatalogue;
  taskQueue: string;
}

export function directDriver({ client, keys, catalogue, taskQueue }: DirectDriverOptions): CoordinatorDriver {
  let signer: Promise<DecisionKeys['signer']> | undefined;
  return {
    door: 'direct',
    async register(tip, config) {
      const { operationId, outcome } = await registerTip(client, tip, { keys, catalogue, taskQueue, config, author: BENCH_COORDINATOR });
      return { operationId, outcome };
    },
    async decide(operationId, kind, decision) {
      signer ??= keys.apiSigningKey();
      return sendDecision(client.workflow.getHandle(operationId), { keys, signer: await signer }, BENCH_COORDINATOR, kind, decision);
    },
    notYet: (err) => err instanceof WorkflowUpdateFailedError,
  };
}

/** Through the HTTP API: the author is whoever the client's token names (the `los-case-system` machine client of Umeå). */
export function apiDriver(client: LosClient): CoordinatorDriver {
  return {
    door: 'api',
    register: (tip, config) => client.registerTip(tip, { config }),
    decide: (operationId, kind, decision) => client.decide(operationId, kind, decision),
    // 409: the operation's validator refused it for now (the stage does not take it yet). 503: the operation has not
    // learned the API's key yet and the API's own patience ran out (a loaded machine), as the direct door resends too.
    notYet: (err) => err instanceof NotAllowedNowError || (err instanceof UnreachableError && err.problem?.status === 503),
  };
}
