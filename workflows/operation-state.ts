import { ApplicationFailure, log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  REQUESTS,
  STAGES,
  formatStockholm,
  moveStage,
  newAgencyRecord,
  pendingDecisions,
  recordMissing,
  requestId,
  summariseOutcomes,
  transition,
  waitingFor,
  type AgencyId,
  type AgencyStatus,
  type Awaiting,
  type ClosedRequest,
  type ConflictLog,
  type FirstAnswer,
  type Correlation,
  type DecisionContext,
  type DecisionReceipt,
  type Deadline,
  type DeadlineName,
  type CatalogueSnapshot,
  type OperationConfig,
  type OperationState,
  type PendingRequest,
  type PhaseEvent,
  type RequestEventName,
  type Stage,
  type StageEvent,
  type TimelineEntry,
  type TimelineKind,
  type Sealed,
  type Tip,
} from '../domain/index.js';
import { searchAttributes, type Intent, type OperationMemory } from './definitions.js';
import { FailureType } from './failures.js';

/**
 * The workflow sandbox replaces Date with the time of the current workflow task, identical on replay, so
 * this is Temporal's deterministic clock, not the wall clock.
 */
export const nowMs = (): number => Date.now();
export const iso = (ms: number): string => new Date(ms).toISOString();

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
    secondWave: [],
    overdue: false,
    rounds: { information: 0, mandate: 0, action: 1 },
    intents: [],
    corrections: 0,
    erasureArranged: false,
    continuedAsNew: 0,
  };
}

type IntentOf<K extends Intent['kind']> = Extract<Intent, { kind: K }>;

/**
 * One operation's state and the moves on it that every part of the workflow shares: the record, the stage
 * machine, the agencies' records and open requests, and what operators see. Rules come from domain/.
 */
export class Operation {
  readonly operationId = workflowInfo().workflowId;
  readonly municipality: string;
  readonly agencies: Map<AgencyId, AgencyStatus>;
  readonly pending: Map<string, PendingRequest>;
  readonly closedRequests: Map<string, ClosedRequest>;
  /** Conflicting answers per request: the first answer stands, later different ones are kept (bounded). */
  readonly conflicts: Map<string, ConflictLog>;
  readonly seenAnswerIds: Set<string>;

  constructor(
    /** Correctable (amendTip): stages always read the current one. */
    public tip: Tip,
    readonly config: OperationConfig,
    readonly catalogue: CatalogueSnapshot,
    readonly memory: OperationMemory,
  ) {
    this.municipality = tip.entity.municipality;
    this.agencies = new Map(memory.agencies.map((a) => [a.agency, a]));
    this.pending = new Map(memory.pending.map((p) => [p.requestId, p]));
    this.closedRequests = new Map(memory.closedRequests.map((p) => [p.requestId, p]));
    this.conflicts = new Map(memory.conflicts.map((c) => [c.requestId, c]));
    this.seenAnswerIds = new Set(memory.seenAnswerIds);
  }

  // --- the record ---------------------------------------------------------------------------------------
  record(kind: TimelineKind, text: string, agency?: TimelineEntry['agency']): TimelineEntry {
    const entry: TimelineEntry = { at: iso(nowMs()), kind, text, ...(agency ? { agency } : {}) };
    this.memory.timeline.push(entry);
    return entry;
  }

  // --- agencies and their requests ----------------------------------------------------------------------
  agency(agency: AgencyId): AgencyStatus {
    let entry = this.agencies.get(agency);
    if (!entry) {
      entry = newAgencyRecord(agency);
      this.agencies.set(agency, entry);
    }
    return entry;
  }

  update(record: AgencyStatus): void {
    this.agencies.set(record.agency, record);
  }

  participants(): AgencyId[] {
    return [...this.agencies.values()].filter((a) => a.mandate === 'accepted').map((a) => a.agency);
  }

  /** LosAgencies: the agencies taking part, and those asked something they have not answered yet. */
  involvedAgencies(): AgencyId[] {
    return [...new Set([...this.participants(), ...[...this.pending.values()].map((p) => p.agency)])].sort();
  }

  /** Every agency that has heard of the operation: asked anything, or told in the second wave. */
  toldAgencies(): AgencyId[] {
    return [...new Set([...this.agencies.keys(), ...this.memory.secondWave])].sort();
  }

  pendingOf(awaiting: Awaiting): PendingRequest[] {
    return [...this.pending.values()].filter((p) => p.awaiting === awaiting);
  }

  /** Opens a request; the answer must echo its correlation key. */
  openRequest(event: RequestEventName, round: number, agency: AgencyId, dueMs: number): Correlation {
    const id = requestId(event, round, agency);
    this.pending.set(id, { requestId: id, agency, awaiting: REQUESTS[event].awaiting, dueAt: iso(dueMs) });
    return { operationId: this.operationId, requestId: id };
  }

  /** Closes a request, by its first answer or by its deadline. */
  closeRequest(request: PendingRequest, answeredBy?: FirstAnswer): void {
    this.pending.delete(request.requestId);
    this.closedRequests.set(request.requestId, answeredBy ? { ...request, answeredBy } : request);
  }

  /** Closes every still-open request of a kind as missing, and says who was missing. */
  expire(awaiting: Awaiting): AgencyId[] {
    const missing: AgencyId[] = [];
    for (const open of this.pendingOf(awaiting)) {
      this.closeRequest(open);
      this.update(recordMissing(this.agency(open.agency), awaiting));
      missing.push(open.agency);
      this.record('no_answer', `no ${awaiting.replace('_', ' ')} by ${open.dueAt}`, open.agency);
    }
    this.publishStatus();
    return missing;
  }

  // --- intents ------------------------------------------------------------------------------------------
  intend(intent: Intent): void {
    this.memory.intents.push(intent);
  }

  hasIntent(...kinds: Intent['kind'][]): boolean {
    return this.memory.intents.some((i) => kinds.includes(i.kind));
  }

  /** Takes the oldest intent of a kind, for the stage that acts on it. */
  takeIntent<K extends Intent['kind']>(kind: K): IntentOf<K> | undefined {
    const index = this.memory.intents.findIndex((i) => i.kind === kind);
    if (index < 0) return undefined;
    return this.memory.intents.splice(index, 1)[0] as IntentOf<K>;
  }

  get cancelling(): boolean {
    return this.hasIntent('cancel');
  }

  decisionContext(): DecisionContext {
    return {
      phase: this.memory.phase,
      stage: this.memory.stage,
      intended: pendingDecisions(this.memory.intents),
      participants: this.participants(),
      catalogue: this.catalogue.agencies.map((a) => a.id),
      now: nowMs(),
      waitingFor: this.waitingFor(),
    };
  }

  // --- phase and stage ----------------------------------------------------------------------------------
  /** Moves the phase; the phase machine in domain/ decides whether the move is possible at all. */
  move(event: PhaseEvent): void {
    const result = transition(this.memory.phase, event);
    if (!result.ok) throw ApplicationFailure.nonRetryable(`internal: ${result.reason}`, FailureType.PhaseRule);
    this.record('phase_changed', `${this.memory.phase} → ${result.to}`);
    log.info('phase changed', { operationId: this.operationId, from: this.memory.phase, to: result.to });
    this.memory.phase = result.to;
  }

  /** Moves the stage by the stage machine, and starts the new stage's deadline if it has one. */
  advance(event: StageEvent, deadline?: { what: DeadlineName; dueMs: number; reminded?: boolean }): void {
    const result = moveStage(this.memory.stage, event);
    if (!result.ok) throw ApplicationFailure.nonRetryable(`internal: ${result.reason}`, FailureType.StageRule);
    this.enter(result.to, deadline);
  }

  enter(stage: Stage, deadline?: { what: DeadlineName; dueMs: number; reminded?: boolean }): void {
    this.memory.stage = stage;
    this.memory.deadline = deadline
      ? { what: deadline.what, startedAt: iso(nowMs()), dueAt: iso(deadline.dueMs), reminded: deadline.reminded ?? false, missed: false }
      : undefined;
    this.publishStatus();
  }

  /** Ends the operation: the phase moves to its end, nothing is owed any more, operators' views let it go. */
  end(event: PhaseEvent, stageEvent: StageEvent, reason?: string | Sealed): void {
    this.move(event);
    if (reason !== undefined) this.memory.endReason = reason;
    for (const open of [...this.pending.values()]) this.closeRequest(open);
    this.memory.overdue = false;
    this.advance(stageEvent);
  }

  // --- what people see ----------------------------------------------------------------------------------
  nextDeadline(): Deadline | undefined {
    const deadline = this.memory.deadline;
    return deadline ? { what: deadline.what, dueAt: deadline.dueAt } : undefined;
  }

  waitingFor(): string {
    return waitingFor(this.memory.stage, [...new Set([...this.pending.values()].map((p) => p.agency))]);
  }

  /** The UI's current details at once (they cost no history event); search attributes at the next flush. */
  publishStatus(): void {
    setCurrentDetails(this.currentDetails());
  }

  /**
   * Search attributes: no personal data, no entity identifiers. Upserted only where they differ from what the
   * run holds (what the start set, what a continued run carried over, what the last upsert wrote), and only when
   * the workflow is about to wait or send, since each upsert is an event in the history: one step of
   * straight-line code leaves at most one. An empty agency list is not written over an absent one: no query tells them apart.
   */
  flushStatus(): void {
    const { memory } = this;
    const deadline = this.nextDeadline();
    const involved = this.involvedAgencies();
    const held = workflowInfo().typedSearchAttributes;
    const changes = [];
    if (held.get(searchAttributes.municipality) !== this.municipality) changes.push({ key: searchAttributes.municipality, value: this.municipality });
    if (held.get(searchAttributes.phase) !== memory.phase) changes.push({ key: searchAttributes.phase, value: memory.phase });
    if ((held.get(searchAttributes.agencies) ?? []).join(',') !== involved.join(',')) changes.push({ key: searchAttributes.agencies, value: involved });
    if ((held.get(searchAttributes.nextDeadline)?.toISOString() ?? null) !== (deadline?.dueAt ?? null))
      changes.push({ key: searchAttributes.nextDeadline, value: deadline ? new Date(deadline.dueAt) : null });
    if (held.get(searchAttributes.overdue) !== memory.overdue) changes.push({ key: searchAttributes.overdue, value: memory.overdue });
    if (changes.length > 0) upsertSearchAttributes(changes);
    setCurrentDetails(this.currentDetails());
  }

  /** Separate paragraphs, so the UI shows one fact per line; the static facts repeat for continued runs. */
  private currentDetails(): string {
    const { memory, tip } = this;
    const deadline = this.nextDeadline();
    const action = memory.action && STAGES[memory.stage].phase === 'joint_action' ? memory.action.plan : undefined;
    return [
      `**Phase:** ${memory.phase}${memory.overdue ? ' (overdue)' : ''}`,
      `**Waiting for:** ${this.waitingFor()}`,
      `**Next deadline:** ${deadline ? `${deadline.what} at ${formatStockholm(deadline.dueAt)}` : 'none'}`,
      ...(action ? [`**Joint action:** #${memory.rounds.action} at ${formatStockholm(action.at)}, lead ${action.lead}`] : []),
      `**Municipality:** ${this.municipality} · **Suspected activity:** ${tip.categories.join(', ')} · **Urgency:** ${tip.urgency}`,
    ].join('\n\n');
  }

  summary() {
    return summariseOutcomes([...this.agencies.values()], this.memory.coordinatorSummary);
  }

  view(): OperationState {
    const { memory } = this;
    const deadline = this.nextDeadline();
    return {
      operationId: this.operationId,
      phase: memory.phase,
      municipality: this.municipality,
      categories: [...this.tip.categories],
      agencies: [...this.agencies.values()].map((a) => ({ ...a })),
      pending: [...this.pending.values()],
      ...(deadline ? { nextDeadline: deadline } : {}),
      overdue: memory.overdue,
      stage: memory.stage,
      waitingFor: this.waitingFor(),
      ...(memory.action ? { action: memory.action.plan } : {}),
      ...(memory.phase === 'closed' || memory.phase === 'follow_up' ? { outcome: this.summary() } : {}),
      ...(memory.endReason ? { endReason: memory.endReason } : {}),
      actionNumber: memory.rounds.action,
      secondWave: [...memory.secondWave],
    };
  }

  receipt(): DecisionReceipt {
    return { phase: this.memory.phase, stage: this.memory.stage, waitingFor: this.waitingFor() };
  }

  snapshot(): OperationMemory {
    return {
      ...this.memory,
      agencies: [...this.agencies.values()],
      pending: [...this.pending.values()],
      closedRequests: [...this.closedRequests.values()],
      conflicts: [...this.conflicts.values()],
      seenAnswerIds: [...this.seenAnswerIds],
    };
  }
}
