import type { AgencyId } from './agencies.js';
import type { Author, DecidedBy, SeenNonce } from './authorship.js';
import { newAgencyRecord, recordMissing } from './agency-record.js';
import type { ClosedRequest, ConflictLog, FirstAnswer } from './answers.js';
import type { CorrectionNotice } from './corrections.js';
import type { DecisionIntent } from './decision-table.js';
import type { HeldActionPlan } from './events.js';
import { transition, type Phase, type PhaseEvent } from './phases.js';
import { requestId } from './ids.js';
import { REQUESTS, type Awaiting, type RequestEventName } from './requests.js';
import type { Sealed } from './sealed.js';
import { moveStage, type DeadlineName, type Stage, type StageEvent } from './stages.js';
import type { AgencyStatus, PendingRequest, TimelineEntry, TimelineKind } from './state.js';
import type { Tip } from './tip.js';
import { formatStockholm } from './localTime.js';

/**
 * What an operation carries, and the small moves every transition is made of. Each function takes the memory
 * and returns a new one, never changing the one it was given: the workflow's `Operation` (workflows/operation-state.ts)
 * is the only holder and the only writer, and the lifecycle's transitions (operation-transitions.ts) are built from these.
 * Time comes in as an argument (epoch milliseconds): domain/ has no clock.
 */

/** A deadline as the operation keeps it: when it started, when it falls, and how far it has been acted on. */
export interface DeadlineMemory {
  what: DeadlineName;
  startedAt: string;
  dueAt: string;
  reminded: boolean;
  missed: boolean;
}

/**
 * A coordinator decision that has been admitted but not yet acted on. Update handlers only record intent;
 * the stage that owns the decision acts on it, so every effect happens in one place, in order.
 */
export type Intent =
  | DecisionIntent
  /** A corrected tip is applied at once; the agencies holding the changed data are told by the main loop. */
  | { kind: 'correction'; number: number; notices: CorrectionNotice[] };

export type IntentOf<K extends Intent['kind']> = Extract<Intent, { kind: K }>;

/** Everything an operation knows, carried whole across continue-as-new so that nothing is lost. */
export interface OperationMemory {
  phase: Phase;
  stage: Stage;
  timeline: TimelineEntry[];
  /** Every agency asked anything, in the order first asked. */
  agencies: AgencyStatus[];
  /** Requests still waiting for their answer, in the order opened. */
  pending: PendingRequest[];
  /** Requests answered or expired, in the order closed. */
  closedRequests: ClosedRequest[];
  /** Conflicting answers per request: the first answer stands, later different ones are kept (bounded). */
  conflicts: ConflictLog[];
  /** CloudEvent ids of answers already taken. */
  seenAnswerIds: string[];
  secondWave: AgencyId[];
  overdue: boolean;
  deadline?: DeadlineMemory;
  rounds: { information: number; mandate: number; action: number };
  action?: { plan: HeldActionPlan; revision: number };
  intents: Intent[];
  endReason?: string | Sealed;
  coordinatorSummary?: string | Sealed;
  /** How many corrections of the tip were applied. */
  corrections: number;
  /** The bridge's public key, learned from the engine's key store at start: agency answers count only with its signature. */
  bridgeKey?: string;
  /** The API's public key, learned with the bridge's: decisions count only with its signature. */
  apiKey?: string;
  /** Nonces of the signed decisions taken within the freshness window: the same one again is a replay. */
  decisionNonces: SeenNonce[];
  /** The ended operation's final fan-out has arranged the erasure (the erasure workflow, started with a delay). */
  erasureArranged: boolean;
  continuedAsNew: number;
}

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The memory as everyone but its holder sees it: read only, all the way down, so the compiler keeps the one writer. */
export type MemoryView = DeepReadonly<OperationMemory>;

/** A new operation, before its tip is registered: the stage machine starts at assessment. */
export function freshMemory(): OperationMemory {
  return {
    phase: 'tip',
    stage: 'assessment',
    timeline: [],
    agencies: [],
    pending: [],
    closedRequests: [],
    conflicts: [],
    seenAnswerIds: [],
    decisionNonces: [],
    secondWave: [],
    overdue: false,
    rounds: { information: 0, mandate: 0, action: 1 },
    intents: [],
    corrections: 0,
    erasureArranged: false,
    continuedAsNew: 0,
  };
}

/** A move the phase or stage machine does not list: a bug in the workflow, never a coordinator's mistake. */
export class MoveRefused extends Error {
  constructor(
    readonly machine: 'phase' | 'stage',
    reason: string,
  ) {
    super(reason);
    this.name = 'MoveRefused';
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Replaces the item with the same key in place, or appends it: the order is the order of first appearance. */
function upsert<T>(list: readonly T[], item: T, same: (a: T) => boolean): T[] {
  const index = list.findIndex(same);
  return index < 0 ? [...list, item] : list.map((existing, i) => (i === index ? item : existing));
}

// --- the record -------------------------------------------------------------------------------------------

export function recordOnTimeline(
  m: OperationMemory,
  now: number,
  kind: TimelineKind,
  text: string,
  agency?: TimelineEntry['agency'],
  by?: DecidedBy,
  sent?: { eventId: string; fields: readonly string[] },
): OperationMemory {
  const event = sent ? { eventId: sent.eventId, ...(sent.fields.length > 0 ? { fields: [...sent.fields] } : {}) } : {};
  return { ...m, timeline: [...m.timeline, { at: iso(now), kind, text, ...(agency ? { agency } : {}), ...(by ? { by } : {}), ...event }] };
}

/** Rewrites the texts of the entries from index `from` on (the timeline only grows, so an index stays put). */
export function retext(m: OperationMemory, from: number, texts: readonly string[]): OperationMemory {
  return { ...m, timeline: m.timeline.map((entry, i) => (i >= from && i < from + texts.length ? { ...entry, text: texts[i - from]! } : entry)) };
}

// --- agencies ---------------------------------------------------------------------------------------------

/** The agency's record, or a fresh one for an agency not asked anything yet. */
export function agencyRecord(m: OperationMemory, agency: AgencyId): AgencyStatus {
  return m.agencies.find((a) => a.agency === agency) ?? newAgencyRecord(agency);
}

export function withAgency(m: OperationMemory, status: AgencyStatus): OperationMemory {
  return { ...m, agencies: upsert(m.agencies, status, (a) => a.agency === status.agency) };
}

/** Changes the records of these agencies (created where new), in the order given. */
export function updateAgencies(m: OperationMemory, agencies: readonly AgencyId[], change: (status: AgencyStatus) => AgencyStatus): OperationMemory {
  return agencies.reduce((next, agency) => withAgency(next, change(agencyRecord(next, agency))), m);
}

/** Keeps a request's log of conflicting answers (one log per request). */
export function withConflictLog(m: OperationMemory, log: ConflictLog): OperationMemory {
  return { ...m, conflicts: upsert(m.conflicts, log, (c) => c.requestId === log.requestId) };
}

export function participantsOf(m: OperationMemory): AgencyId[] {
  return m.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency);
}

// --- requests ---------------------------------------------------------------------------------------------

/** Opens a request to one agency, due at `dueMs`; its answer must echo the request id in its correlation key. */
export function openRequest(
  m: OperationMemory,
  event: RequestEventName,
  round: number,
  agency: AgencyId,
  dueMs: number,
): { memory: OperationMemory; requestId: string } {
  const id = requestId(event, round, agency);
  const request: PendingRequest = { requestId: id, agency, awaiting: REQUESTS[event].awaiting, dueAt: iso(dueMs) };
  return { memory: { ...m, pending: upsert(m.pending, request, (p) => p.requestId === id) }, requestId: id };
}

/** Closes a request, by its first answer or by its deadline. */
export function closeRequest(m: OperationMemory, request: PendingRequest, answeredBy?: FirstAnswer): OperationMemory {
  const closed: ClosedRequest = answeredBy ? { ...request, answeredBy } : request;
  return {
    ...m,
    pending: m.pending.filter((p) => p.requestId !== request.requestId),
    closedRequests: upsert(m.closedRequests, closed, (p) => p.requestId === request.requestId),
  };
}

/** Closes every still-open request of a kind as missing, on the agency's record and the timeline, and says who was missing. */
export function expireRequests(m: OperationMemory, awaiting: Awaiting, now: number): { memory: OperationMemory; missing: AgencyId[] } {
  const missing: AgencyId[] = [];
  let next = m;
  for (const open of m.pending.filter((p) => p.awaiting === awaiting)) {
    next = closeRequest(next, open);
    next = withAgency(next, recordMissing(agencyRecord(next, open.agency), awaiting));
    missing.push(open.agency);
    next = recordOnTimeline(next, now, 'no_answer', `no ${awaiting.replace('_', ' ')} by ${formatStockholm(open.dueAt)}`, open.agency);
  }
  return { memory: next, missing };
}

// --- intents ----------------------------------------------------------------------------------------------

export function recordIntent(m: OperationMemory, intent: Intent): OperationMemory {
  return { ...m, intents: [...m.intents, intent] };
}

/** Takes the oldest intent of a kind, for the stage that acts on it. */
export function takeIntent<K extends Intent['kind']>(m: OperationMemory, kind: K): { memory: OperationMemory; intent?: IntentOf<K> } {
  const index = m.intents.findIndex((i) => i.kind === kind);
  if (index < 0) return { memory: m };
  return { memory: { ...m, intents: m.intents.filter((_, i) => i !== index) }, intent: m.intents[index] as IntentOf<K> };
}

// --- phase and stage --------------------------------------------------------------------------------------

/** Moves the phase, on the record; the phase machine decides whether the move is possible at all. */
export function movePhase(m: OperationMemory, event: PhaseEvent, now: number): OperationMemory {
  const result = transition(m.phase, event);
  if (!result.ok) throw new MoveRefused('phase', result.reason);
  return { ...recordOnTimeline(m, now, 'phase_changed', `${m.phase} → ${result.to}`), phase: result.to };
}

/** What starts with a stage that has a deadline: its name, when it falls, and whether its reminder is already done. */
export interface DeadlineStart {
  what: DeadlineName;
  dueMs: number;
  /** True where no reminder is sent (the action's start, the follow-up period). */
  reminded?: boolean;
}

function deadlineFrom(start: DeadlineStart | undefined, now: number): DeadlineMemory | undefined {
  return start ? { what: start.what, startedAt: iso(now), dueAt: iso(start.dueMs), reminded: start.reminded ?? false, missed: false } : undefined;
}

/** Moves the stage by the stage machine, and starts the new stage's deadline if it has one. */
export function advanceStage(m: OperationMemory, event: StageEvent, now: number, deadline?: DeadlineStart): OperationMemory {
  const result = moveStage(m.stage, event);
  if (!result.ok) throw new MoveRefused('stage', result.reason);
  return { ...m, stage: result.to, deadline: deadlineFrom(deadline, now) };
}

/**
 * The start: the tip goes on the record and the phase moves from `tip` to assessment. The stage machine is at
 * assessment from the first moment (freshMemory); what starts here is its deadline. Only a new operation can start.
 */
export function registerTip(m: OperationMemory, tip: Tip, now: number, assessmentDueMs: number, author?: Author): OperationMemory {
  const source = `${tip.source.kind}${tip.source.protected ? ' (protected)' : ''}`;
  const who = author ? ` by ${author.name} (${author.role})` : '';
  const by = author ? { sub: author.sub, name: author.name, role: author.role } : undefined;
  const registered = recordOnTimeline(
    m,
    now,
    'decision',
    `tip registered${who}: ${tip.categories.join(', ')}; urgency ${tip.urgency}; source ${source}`,
    undefined,
    by,
  );
  const started = movePhase(registered, 'tip_registered', now);
  return { ...started, deadline: deadlineFrom({ what: 'assessment', dueMs: assessmentDueMs }, now) };
}

/** Ends the operation: the phase moves to its end, nothing is owed any more, and the stage machine ends. */
export function endOperation(m: OperationMemory, event: PhaseEvent, stageEvent: StageEvent, now: number, reason?: string | Sealed): OperationMemory {
  let next = movePhase(m, event, now);
  if (reason !== undefined) next = { ...next, endReason: reason };
  for (const open of next.pending) next = closeRequest(next, open);
  return advanceStage({ ...next, overdue: false }, stageEvent, now);
}
