import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  type CorrectableFields,
  type DecisionKind,
  type DecisionReceipt,
  type OperationState,
  type Plain,
  type Sealed,
  type TimelineEntry,
  type TipAsShown,
} from '../domain/index.js';
import { readAs } from '../vault/index.js';
import { correctableTipQuery, registeredTipQuery, stateQuery, timelineQuery } from '../workflows/definitions.js';
import type { Person } from './auth.js';
import { timedStep } from './timing.js';
import { howItEnded, registerTip, sendDecision, type Registration as EngineRegistration } from './engine.js';
import { ProblemError } from './problems.js';
import { author, requireOwnMunicipality } from './routes/common.js';
import type { z } from 'zod';
import type { RegisterTipBody } from './schemas.js';
import type { ApiServices } from './server.js';

/**
 * What a person does to an operation, whichever door they came by: the JSON routes and the console's pages call
 * these, so a read through either is on the access log the same way and a decision takes the same path.
 */

export type WithDeadline = <T>(work: (client: Client) => Promise<T>) => Promise<T>;

export interface OperationRead {
  state: OperationState;
  timeline: TimelineEntry[];
  /** The tip (the business, the description, the source but a protected one's reference): its own coordinator's only. */
  tip?: Plain<TipAsShown>;
}

/**
 * An operation's state and timeline as this person may read them: unsealed for its coordinator, with the tip,
 * sealed otherwise, and without the tip (the steering group and operators never see the business); on the access log.
 */
export async function readOperation(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  id: string,
  origin?: { address: string; asked: string },
): Promise<OperationRead> {
  const { keys, audit } = services;
  if (person.role === 'coordinator') await requireOwnMunicipality(services, person, id);
  // One after the other: a query left in flight would retry on a connection closed meanwhile.
  const state = await withDeadline((client) => client.workflow.getHandle(id).query(stateQuery));
  const timeline = await withDeadline((client) => client.workflow.getHandle(id).query(timelineQuery));
  if (person.role === 'operator') {
    // What the Temporal UI shows operators: sealed fields stay sealed; the read is on the record all the same.
    await audit.record({
      at: new Date().toISOString(),
      who: person.sub,
      role: person.role,
      operationId: id,
      action: 'show',
      payloads: [],
      allowed: true,
      detail: 'sealed fields left sealed',
      ...(origin ?? {}),
    });
    return { state, timeline };
  }
  const role = person.role === 'coordinator' ? 'coordinator' : 'steering_group';
  const tip = role === 'coordinator' ? await withDeadline((client) => client.workflow.getHandle(id).query(registeredTipQuery)) : undefined;
  const reader = { sub: person.sub, role, ...(person.municipality ? { municipality: person.municipality } : {}) } as const;
  // One read, one record on the access log: the state, the timeline and, for the coordinator, the tip.
  const [read, readTimeline, readTip] = await timedStep('unseal', () =>
    readAs<unknown>(keys, audit, {
      reader,
      action: 'show',
      operationId: id,
      values: tip === undefined ? [state, timeline] : [state, timeline, tip],
      payloads: [],
      ...(origin ? { origin } : {}),
    }),
  );
  return { state: read as OperationState, timeline: readTimeline as TimelineEntry[], ...(readTip !== undefined ? { tip: readTip as Plain<TipAsShown> } : {}) };
}

/**
 * What a correction would replace: the registered tip's correctable fields, for the operation's own coordinator
 * only, unsealed as a read of personal data and on the access log like any read.
 */
export async function readCorrectable(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  id: string,
  origin?: { address: string; asked: string },
): Promise<CorrectableFields> {
  if (person.role !== 'coordinator') throw new ProblemError('forbidden', 'only the operation’s coordinator corrects its tip');
  await requireOwnMunicipality(services, person, id);
  const registered = await withDeadline((client) => client.workflow.getHandle(id).query(correctableTipQuery));
  const reader = { sub: person.sub, role: 'coordinator', municipality: person.municipality! } as const;
  const [read] = await readAs<CorrectableFields>(services.keys, services.audit, {
    reader,
    action: 'show',
    operationId: id,
    values: [registered],
    payloads: [],
    ...(origin ? { origin } : {}),
  });
  return read!;
}

/** A coordinator's decision on an operation of their municipality, signed as theirs and sent to it. */
export async function decideAs<K extends DecisionKind>(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  id: string,
  kind: K,
  decision: unknown,
): Promise<DecisionReceipt> {
  const { keys, signer } = services;
  await requireOwnMunicipality(services, person, id);
  // The person from the verified token is the author; the API's signature vouches for it to the operation.
  return withDeadline(async (client) => {
    const handle = client.workflow.getHandle(id);
    try {
      return await sendDecision(handle, { keys, signer }, author(person), kind, decision as never);
    } catch (err) {
      // Temporal answers an update to a closed workflow as "not found": say that it has ended, and how.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const description = await handle.describe().catch(() => undefined);
      if (description === undefined || description.status.name === 'RUNNING') throw err;
      const { how } = await howItEnded(handle, description);
      throw new ProblemError('not-allowed-now', `${kind} rejected: operation ${id} has ended (${how}); it takes no more decisions`);
    }
  });
}

/** A coordinator registers a tip of their own municipality: a new operation, or a correction of the running one. */
export async function registerAs(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  body: z.infer<typeof RegisterTipBody>,
): Promise<EngineRegistration> {
  const { config, ...tip } = body;
  if (tip.entity.municipality.normalize('NFC') !== person.municipality)
    throw new ProblemError('forbidden', `coordinators of ${person.municipality} may not register tips about a business in ${tip.entity.municipality}`);
  const { keys, signer, entityKey, catalogue, taskQueue } = services;
  return withDeadline((client) =>
    registerTip(client, tip, {
      keys,
      signer,
      author: author(person),
      entityKey,
      catalogue,
      ...(config ? { config } : {}),
      ...(taskQueue ? { taskQueue } : {}),
    }),
  );
}

/** Why an operation ended is personal data: read as the person may, and on the access log. */
export async function endedAsRead(services: ApiServices, person: Person, registration: EngineRegistration) {
  const ended = registration.ended!;
  const base = { how: ended.how, ...(ended.at ? { at: ended.at } : {}) };
  if (ended.reason === undefined) return base;
  if (typeof ended.reason === 'string') return { ...base, reason: ended.reason };
  const [reason] = await readAs<string | Sealed>(services.keys, services.audit, {
    reader: { sub: person.sub, role: 'coordinator', ...(person.municipality ? { municipality: person.municipality } : {}) },
    action: 'register',
    operationId: registration.operationId,
    values: [ended.reason],
    payloads: [],
  }).catch(() => ['(sealed)']);
  return { ...base, reason: typeof reason === 'string' ? reason : '(sealed)' };
}
