import { z } from 'zod';
import { ACTIVITY_CATEGORIES, AGENCY_IDS, DECISIONS, OperationConfig, PHASES, Tip, Urgency, describeIssues, type DecisionKind } from '../domain/index.js';
import { AccessRecord } from '../vault/index.js';
import { Person } from './auth.js';

/**
 * The API's request and response schemas. Requests are the domain's own schemas (the tip, each decision row's);
 * responses are what the engine's typed results hold, written here once so the OpenAPI document says them.
 */

const names = new WeakMap<z.ZodType, string>();

/** Names a schema for the domain's rejection message: "tip rejected: …", "assessment rejected: …". */
export function named<S extends z.ZodType>(schema: S, what: string): S {
  names.set(schema, what);
  return schema;
}
export const namedSchema = (schema: z.ZodType) => names.get(schema);

export const describeIssuesFor = (error: z.ZodError, input: unknown) => describeIssues(error, input);

/** A decision's name in the path: the row's update name in kebab case (`decideQuorum` → `decide-quorum`). */
export const decisionPathName = (kind: DecisionKind) => DECISIONS[kind].update.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const DECISION_PATHS = Object.fromEntries((Object.keys(DECISIONS) as DecisionKind[]).map((kind) => [decisionPathName(kind), kind])) as Record<
  string,
  DecisionKind
>;

export const OperationId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._-]+$/, 'must be an operation ID such as los-umea-0123456789abcdef0123');
export const OperationParams = named(z.object({ id: OperationId }), 'path');

/** The tip, and optionally the operation's deadlines and periods (default: the engine's). */
export const RegisterTipBody = named(
  Tip.extend({ config: OperationConfig.optional().meta({ description: 'The operation’s deadlines and periods; the engine’s defaults when absent.' }) }),
  'tip',
);

const ParallelOperation = z.object({ operationId: z.string(), phase: z.string().optional(), municipality: z.string().optional() });

export const Registration = z
  .object({
    operationId: z.string(),
    outcome: z.enum(['started', 'unchanged', 'corrected', 'ended']),
    /** The pseudonymous entity reference (search attribute LosEntityRef). */
    entityRef: z.string(),
    sameBusiness: z.array(ParallelOperation).meta({ description: 'Other open operations about the same business.' }),
    correction: z.object({ changed: z.array(z.string()), told: z.array(z.string()) }).optional(),
    ended: z
      .object({
        how: z.string(),
        at: z.string().optional(),
        reason: z.string().optional().meta({ description: 'Why, read as the caller may: "(sealed)" when they may not.' }),
      })
      .optional(),
  })
  .meta({ id: 'Registration' });

export const DecisionReceipt = z
  .object({ phase: z.enum(PHASES), stage: z.string(), waitingFor: z.string() })
  .meta({ id: 'DecisionReceipt', description: 'Where the operation stands right after the decision.' });

const TimelineEntry = z.object({
  at: z.string(),
  kind: z.string(),
  agency: z.string().optional(),
  text: z.string(),
  by: z.object({ sub: z.string(), name: z.string(), role: z.string() }).optional().meta({ description: 'Who decided or registered, in which role.' }),
});
/** The tip as its coordinator reads it: a sealed value reads as text (an erased one as "erased on …"). */
const Readable = z.string();
export const ShownTip = z
  .object({
    entity: z.object({ orgNumber: Readable, name: Readable, address: Readable, municipality: z.string() }),
    categories: z.array(z.enum(ACTIVITY_CATEGORIES)),
    description: Readable,
    urgency: Urgency,
    source: z
      .object({ kind: z.string(), agency: z.enum(AGENCY_IDS).optional(), protected: z.boolean(), reference: Readable.optional() })
      .meta({ description: 'Where the tip came from; a protected source’s reference never leaves the engine.' }),
    receivedAt: z.string(),
  })
  .meta({ id: 'ShownTip', description: 'The registered tip (after any correction): the business and what was observed.' });

export const OperationView = z
  .object({
    state: z.looseObject({ operationId: z.string(), phase: z.enum(PHASES), municipality: z.string() }),
    timeline: z.array(TimelineEntry),
    tip: ShownTip.optional().meta({
      description: 'Only for a coordinator of the operation’s municipality (on the access log); never for the steering group or operators.',
    }),
  })
  .meta({ id: 'OperationView', description: 'The operation’s state and timeline, personal fields unsealed only for an entitled reader.' });

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');
export const ListQuery = named(
  z.object({
    phase: z.enum(PHASES).optional(),
    overdue: flag.optional(),
    municipality: z.string().min(1).max(100).optional(),
    agency: z.enum(AGENCY_IDS).optional(),
    sameBusiness: OperationId.optional().meta({ description: 'Only operations about the same business as this one.' }),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  }),
  'query',
);

export const ListedOperation = z.object({
  operationId: z.string(),
  status: z.string(),
  phase: z.string().optional(),
  overdue: z.boolean().optional(),
  nextDeadline: z.string().optional(),
  municipality: z.string().optional(),
  agencies: z.array(z.string()),
  startedAt: z.string(),
});
export const OperationList = z.object({ query: z.string(), operations: z.array(ListedOperation) }).meta({ id: 'OperationList' });

export const AccessLog = z.object({ operationId: z.string(), records: z.array(AccessRecord) }).meta({ id: 'AccessLog' });

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 instant with its offset, e.g. 2026-11-02T09:15:00+01:00' });
export const AccessLogQuery = named(
  z
    .object({
      operation: OperationId.optional().meta({ description: 'Only this operation’s records.' }),
      security: flag
        .optional()
        .meta({ description: 'true: only the security log, the records that name no operation (refusals before any operation was named).' }),
      who: z.string().min(1).max(300).optional().meta({ description: 'Only this person: the token’s subject, or `unauthenticated`.' }),
      from: Instant.optional().meta({ description: 'From this instant (inclusive).' }),
      to: Instant.optional().meta({ description: 'Up to this instant (inclusive).' }),
      allowed: flag.optional().meta({ description: 'true: allowed reads only; false: refusals only.' }),
      limit: z.coerce.number().int().min(1).max(1000).default(200),
      after: z.coerce.number().int().min(0).optional().meta({ description: 'Continue after this record (the previous page’s `next`).' }),
    })
    .refine((q) => !(q.operation !== undefined && q.security === true), {
      message: 'operation and security=true exclude each other',
      path: ['security'],
      params: { code: 'operation-and-security' },
    })
    .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to), {
      message: 'must not be before from',
      path: ['to'],
      params: { code: 'to-before-from' },
    }),
  'query',
);

export const AccessLogSearch = z
  .object({
    records: z.array(AccessRecord.extend({ seq: z.number().int().meta({ description: 'The record’s position in the log (stream sequence).' }) })),
    scanned: z.number().int().meta({ description: 'Records read for this page.' }),
    next: z.number().int().optional().meta({ description: 'There may be more: ask again with after=<next>.' }),
  })
  .meta({ id: 'AccessLogSearch', description: 'Access-log records, oldest first.' });

export const Disclosure = z.object({
  at: z.string().meta({ description: 'When the operation sent the event (ISO instant, UTC).' }),
  agency: z.enum(AGENCY_IDS),
  agencyName: z.string().meta({ description: 'The agency’s name in the API’s catalogue.' }),
  event: z.string().meta({ description: 'The event kind, e.g. mandate_requested.' }),
  eventId: z.string().meta({ description: 'The CloudEvent id (also its Nats-Msg-Id).' }),
  eventType: z.string().meta({ description: 'The CloudEvent type, e.g. se.los.mandate.requested.v1.' }),
  fields: z.array(z.string()).meta({ description: 'The personal fields it carried, as paths in its data (entity.name); never their values.' }),
  status: z.enum(['sending', 'delivered']),
  legalGround: z.string().nullable().meta({ description: 'The reference the operation’s catalogue names for this agency and event kind; null when none.' }),
  legalGroundText: z.string().meta({ description: 'The reference, or “ingen rättslig grund angiven”.' }),
});
export const DisclosureRegisterView = z
  .object({
    operationId: z.string(),
    catalogueNamesGrounds: z.boolean().meta({ description: 'False when the operation’s catalogue names no legal ground at all.' }),
    disclosures: z.array(Disclosure),
  })
  .meta({ id: 'DisclosureRegister', description: 'Which personal fields went to which agency, when, in which event and on which legal ground.' });

const SameBusinessOperation = z.object({
  operationId: z.string(),
  status: z.string(),
  phase: z.string().optional(),
  municipality: z.string().optional(),
  overdue: z.boolean().optional(),
  nextDeadline: z.string().optional(),
  agencies: z.array(z.string()).optional(),
  startedAt: z.string().optional(),
});
export const SameBusiness = z
  .object({
    operationId: z.string(),
    operations: z
      .array(SameBusinessOperation)
      .meta({ description: 'A coordinator: their own municipality’s, in full. The steering group: every one, id, status and phase only.' }),
    others: z
      .object({ count: z.number().int(), byPhase: z.record(z.string(), z.number().int()) })
      .optional()
      .meta({ description: 'A coordinator: how many other municipalities’ operations there are, and in which phases.' }),
  })
  .meta({ id: 'SameBusiness', description: 'The other operations about the same business (the keyed pseudonym LosEntityRef); no personal field.' });

export const KeyRotation = z
  .object({ rewrapped: z.number().int(), entries: z.number().int(), currentMasterKeyId: z.string(), inUse: z.record(z.string(), z.number().int()) })
  .meta({ id: 'KeyRotation' });

export const AuthConfig = z
  .object({
    issuer: z.string(),
    cliClientId: z.string(),
    audience: z.string(),
    temporalAudience: z.string().optional().meta({
      description:
        'The Temporal server’s JWT audience, when it authorises calls with the provider’s tokens: `los login` asks for it too, and `los token --for temporal` prints a token for it.',
    }),
  })
  .meta({ id: 'AuthConfig', description: 'What `los login` needs: the provider, its public client and the API’s audience (and Temporal’s).' });

export const SessionView = z
  .object({
    person: Person.nullable(),
    csrfToken: z.string().optional().meta({ description: 'Send it as header x-csrf-token on every state-changing request.' }),
  })
  .meta({ id: 'SessionView' });

export const LoginQuery = named(z.object({ returnTo: z.string().max(2000).optional() }), 'query');
export const CallbackQuery = named(
  z.looseObject({
    state: z.string().max(200).optional(),
    code: z.string().max(4000).optional(),
    error: z.string().max(200).optional(),
    error_description: z.string().max(1000).optional(),
  }),
  'query',
);
