import { ApplicationFailure, log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  MoveRefused,
  STAGES,
  callOffAction,
  cancelOperation,
  carriedOver,
  closeOperation,
  correctTip,
  decisionNonceTaken,
  engineKeysLearned,
  deadlineMissed,
  deadlineReminded,
  reminderOvertaken,
  reminderTooLate,
  dismissOperation,
  erasureArranged,
  escalate,
  expireRequests,
  findingsIn,
  followUpDue,
  formatStockholm,
  mandatesIn,
  openRequest,
  orderReinspection,
  outcomesIn,
  overrideQuorum,
  participantsOf,
  pendingDecisions,
  proceedToMandates,
  recordIntent,
  recordOnTimeline,
  registerTip,
  requestBook,
  requestInformation,
  requestMandatesAgain,
  rescheduleAction,
  resumed,
  retext,
  scheduleAction,
  startAction,
  summariseOutcomes,
  takeAnswer,
  takeIntent,
  waitingFor,
  type AgencyAnswer,
  type Author,
  type DecidedBy,
  type SeenNonce,
  type AgencyId,
  type AnswerOutcome,
  type Awaiting,
  type CorrectableTipField,
  type CorrectionNotice,
  type Correlation,
  type DecisionContext,
  type DecisionReceipt,
  type Deadline,
  type HeldActionPlan,
  type Intent,
  type IntentOf,
  type CatalogueSnapshot,
  type MemoryView,
  type OperationConfig,
  type OperationMemory,
  type OperationState,
  type RequestBook,
  type RequestEventName,
  type RescheduleAction,
  type Sealed,
  type TimelineEntry,
  type TimelineKind,
  type Tip,
} from '../domain/index.js';
import { searchAttributes } from './definitions.js';
import { FailureType } from './failures.js';

/**
 * The workflow sandbox replaces Date with the time of the current workflow task, identical on replay, so
 * this is Temporal's deterministic clock, not the wall clock.
 */
export const nowMs = (): number => Date.now();
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * One operation's state, and the only writer of it: every change is a transition of domain/
 * (operation-memory.ts, operation-transitions.ts) applied here, at the workflow's clock. Stages, handlers and
 * the notifier read `memory` (read only) and call the methods below; the phase and stage machines refuse any
 * move they do not list. Also what operators see: current details, search attributes, the query view.
 */
export class Operation {
  readonly operationId = workflowInfo().workflowId;
  readonly municipality: string;
  private state: OperationMemory;
  private currentTip: Tip;

  constructor(
    tip: Tip,
    readonly config: OperationConfig,
    readonly catalogue: CatalogueSnapshot,
    memory: OperationMemory,
  ) {
    this.currentTip = tip;
    this.municipality = tip.entity.municipality;
    this.state = memory;
  }

  /** Everything the operation carries, read only. */
  get memory(): MemoryView {
    return this.state;
  }

  /** Correctable (amendTip): stages always read the current one. */
  get tip(): Tip {
    return this.currentTip;
  }

  /**
   * Applies one transition at the workflow's clock. A move the phase or stage machine refuses is a bug in the
   * workflow: the operation fails with that reason rather than go on in a state the rules do not know.
   */
  private apply<R extends { memory: OperationMemory }>(change: (m: OperationMemory, now: number) => R): R {
    const from = this.state.phase;
    let result: R;
    try {
      result = change(this.state, nowMs());
    } catch (err) {
      if (err instanceof MoveRefused)
        throw ApplicationFailure.nonRetryable(`internal: ${err.message}`, err.machine === 'phase' ? FailureType.PhaseRule : FailureType.StageRule);
      throw err;
    }
    this.state = result.memory;
    if (result.memory.phase !== from) log.info('phase changed', { operationId: this.operationId, from, to: result.memory.phase });
    return result;
  }

  private change(change: (m: OperationMemory, now: number) => OperationMemory): void {
    this.apply((m, now) => ({ memory: change(m, now) }));
  }

  // --- the record ---------------------------------------------------------------------------------------
  record(kind: TimelineKind, text: string, agency?: TimelineEntry['agency'], by?: DecidedBy): void {
    this.change((m, now) => recordOnTimeline(m, now, kind, text, agency, by));
  }

  /** A signed decision's nonce, so that the same decision sent again is refused as a replay. */
  decisionTaken(taken: SeenNonce): void {
    this.change((m, now) => decisionNonceTaken(m, taken, now));
  }

  // --- the start and the run ----------------------------------------------------------------------------
  /** A new operation: the tip on the record, the phase at assessment, the assessment's deadline started. */
  register(assessmentDueMs: number, author?: Author): void {
    this.change((m, now) => registerTip(m, this.tip, now, assessmentDueMs, author));
    this.publishStatus();
  }

  /** A continued run: on the record where it resumes. */
  resume(): void {
    this.change(resumed);
    this.publishStatus();
  }

  /** What the next run starts from at continue-as-new. */
  carryOver(): OperationMemory {
    this.change(carriedOver);
    return this.state;
  }

  // --- agencies and their requests ----------------------------------------------------------------------
  participants(): AgencyId[] {
    return participantsOf(this.state);
  }

  /** LosAgencies: the agencies taking part, and those asked something they have not answered yet. */
  involvedAgencies(): AgencyId[] {
    return [...new Set([...this.participants(), ...this.state.pending.map((p) => p.agency)])].sort();
  }

  /** Every agency that has heard of the operation: asked anything, or told in the second wave. */
  toldAgencies(): AgencyId[] {
    return [...new Set([...this.state.agencies.map((a) => a.agency), ...this.state.secondWave])].sort();
  }

  pendingOf(awaiting: Awaiting): MemoryView['pending'] {
    return this.state.pending.filter((p) => p.awaiting === awaiting);
  }

  /** The requests an answer is matched against. */
  requests(): RequestBook {
    return requestBook(this.state, this.operationId);
  }

  /** Opens a request; the answer must echo its correlation key. */
  openRequest(event: RequestEventName, round: number, agency: AgencyId, dueMs: number): Correlation {
    const { requestId } = this.apply((m) => openRequest(m, event, round, agency, dueMs));
    return { operationId: this.operationId, requestId };
  }

  /** Closes every still-open request of a kind as missing, and says who was missing. */
  expire(awaiting: Awaiting): AgencyId[] {
    const { missing } = this.apply((m, now) => expireRequests(m, awaiting, now));
    this.publishStatus();
    return missing;
  }

  /** An agency's answer, handed over by the bridge and admitted by the validator. */
  takeAnswer(answer: AgencyAnswer): AnswerOutcome {
    const { outcome } = this.apply((m, now) => takeAnswer(m, answer, this.operationId, now));
    if (outcome === 'applied') this.publishStatus();
    return outcome;
  }

  /** A corrected tip: applied at once, and the intent to tell the agencies that hold the changed data. */
  correct(corrected: Tip, changed: readonly CorrectableTipField[], notices: CorrectionNotice[], by?: DecidedBy): void {
    const before = this.tip;
    this.currentTip = corrected;
    this.apply((m, now) => correctTip(m, before, corrected, changed, notices, now, by));
  }

  // --- intents ------------------------------------------------------------------------------------------
  intend(intent: Intent): void {
    this.change((m) => recordIntent(m, intent));
  }

  hasIntent(...kinds: Intent['kind'][]): boolean {
    return this.state.intents.some((i) => kinds.includes(i.kind));
  }

  /** Takes the oldest intent of a kind, for the stage that acts on it. */
  takeIntent<K extends Intent['kind']>(kind: K): IntentOf<K> | undefined {
    return this.apply((m) => takeIntent(m, kind)).intent;
  }

  get cancelling(): boolean {
    return this.hasIntent('cancel');
  }

  decisionContext(): DecisionContext {
    return {
      phase: this.state.phase,
      stage: this.state.stage,
      intended: pendingDecisions(this.state.intents),
      participants: this.participants(),
      catalogue: this.catalogue.agencies.map((a) => a.id),
      now: nowMs(),
      waitingFor: this.waitingFor(),
    };
  }

  // --- the lifecycle: each a transition of domain/operation-transitions.ts ------------------------------
  // Every one that moves the stage publishes the new status to the UI at once.
  requestInformation(targets: readonly AgencyId[]): number {
    return this.apply((m) => requestInformation(m, targets)).round;
  }

  proceedToMandates(candidates: readonly AgencyId[], mandateDueMs: number): number {
    const result = this.apply((m, now) => proceedToMandates(m, candidates, now, mandateDueMs));
    this.publishStatus();
    return result.round;
  }

  requestMandatesAgain(targets: readonly AgencyId[], mandateDueMs: number): number {
    const result = this.apply((m, now) => requestMandatesAgain(m, targets, now, mandateDueMs));
    this.publishStatus();
    return result.round;
  }

  mandatesIn(): void {
    this.change((m, now) => mandatesIn(m, this.config.quorum, now));
    this.publishStatus();
  }

  overrideQuorum(): void {
    this.change(overrideQuorum);
    this.publishStatus();
  }

  dismiss(event: 'assessed_dismiss' | 'quorum_dismiss', reason: string | Sealed): void {
    this.change((m, now) => dismissOperation(m, event, now, reason));
    this.publishStatus();
  }

  scheduleAction(plan: HeldActionPlan): { team: AgencyId[]; round: number } {
    const { team, round } = this.apply((m, now) => scheduleAction(m, plan, now));
    this.publishStatus();
    return { team, round };
  }

  callOffAction(): void {
    this.change(callOffAction);
    this.publishStatus();
  }

  rescheduleAction(change: Pick<RescheduleAction, 'at' | 'place'>): void {
    this.change((m, now) => rescheduleAction(m, change, now));
    this.publishStatus();
  }

  startAction(findingsDueMs: number): { team: AgencyId[]; round: number } {
    const { team, round } = this.apply((m, now) => startAction(m, now, findingsDueMs));
    this.publishStatus();
    return { team, round };
  }

  findingsIn(followUpDueMs: number): void {
    this.change((m, now) => findingsIn(m, now, followUpDueMs));
    this.publishStatus();
  }

  followUpDue(outcomesDueMs: number): { team: AgencyId[]; round: number; secondWave: AgencyId[] } {
    const { team, round, secondWave } = this.apply((m, now) => followUpDue(m, this.catalogue, now, outcomesDueMs));
    this.publishStatus();
    return { team, round, secondWave };
  }

  outcomesIn(): void {
    this.change(outcomesIn);
    this.publishStatus();
  }

  orderReinspection(): void {
    this.change(orderReinspection);
    this.publishStatus();
  }

  close(summary: string | Sealed): void {
    this.change((m, now) => closeOperation(m, summary, now));
    this.publishStatus();
  }

  cancel(reason: string | Sealed): void {
    this.change((m, now) => cancelOperation(m, reason, now));
    this.publishStatus();
  }

  // --- deadlines ----------------------------------------------------------------------------------------
  escalate(): void {
    this.change(escalate);
  }

  deadlineReminded(): void {
    this.change(deadlineReminded);
  }

  /** True when a reminder now would come at or after the deadline it reminds of. */
  reminderTooLate(): boolean {
    return reminderTooLate(this.state, nowMs());
  }

  /** The reminder's time came only after the deadline: none goes out, on the record. */
  reminderOvertaken(label: string): void {
    this.change((m, now) => reminderOvertaken(m, label, now));
  }

  deadlineMissed(label: string): void {
    this.change((m, now) => deadlineMissed(m, label, now));
  }

  // --- the fan-out --------------------------------------------------------------------------------------
  /** Puts the events of a fan-out on the record as they are sent; returns where their entries begin. */
  recordSending(entries: readonly { kind: TimelineKind; text: string; agency: TimelineEntry['agency']; eventId: string; fields: readonly string[] }[]): number {
    const from = this.state.timeline.length;
    this.change((m, now) =>
      entries.reduce((next, e) => recordOnTimeline(next, now, e.kind, e.text, e.agency, undefined, { eventId: e.eventId, fields: e.fields }), m),
    );
    return from;
  }

  /** The fan-out's entries, from `from` on, say what became of each event. */
  recordDelivered(from: number, texts: readonly string[]): void {
    this.change((m) => retext(m, from, texts));
  }

  erasureArranged(): void {
    this.change((m, now) => erasureArranged(m, this.config.retention, now));
  }

  engineKeysLearned(keys: { bridgeKey: string; apiKey: string }): void {
    this.change((m) => engineKeysLearned(m, keys));
  }

  // --- what people see ----------------------------------------------------------------------------------
  nextDeadline(): Deadline | undefined {
    const deadline = this.state.deadline;
    return deadline ? { what: deadline.what, dueAt: deadline.dueAt } : undefined;
  }

  waitingFor(): string {
    return waitingFor(this.state.stage, [...new Set(this.state.pending.map((p) => p.agency))]);
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
    const memory = this.state;
    const deadline = this.nextDeadline();
    const involved = this.involvedAgencies();
    const held = workflowInfo().typedSearchAttributes;
    const changes = [];
    if (held.get(searchAttributes.municipality) !== this.municipality) changes.push({ key: searchAttributes.municipality, value: this.municipality });
    if (held.get(searchAttributes.phase) !== memory.phase) changes.push({ key: searchAttributes.phase, value: memory.phase });
    if (held.get(searchAttributes.stage) !== memory.stage) changes.push({ key: searchAttributes.stage, value: memory.stage });
    if ((held.get(searchAttributes.agencies) ?? []).join(',') !== involved.join(',')) changes.push({ key: searchAttributes.agencies, value: involved });
    if ((held.get(searchAttributes.nextDeadline)?.toISOString() ?? null) !== (deadline?.dueAt ?? null))
      changes.push({ key: searchAttributes.nextDeadline, value: deadline ? new Date(deadline.dueAt) : null });
    if (held.get(searchAttributes.overdue) !== memory.overdue) changes.push({ key: searchAttributes.overdue, value: memory.overdue });
    if (changes.length > 0) upsertSearchAttributes(changes);
    setCurrentDetails(this.currentDetails());
  }

  /** Separate paragraphs, so the UI shows one fact per line; the static facts repeat for continued runs. */
  private currentDetails(): string {
    const { state: memory, tip } = this;
    const deadline = this.nextDeadline();
    const action = memory.action && STAGES[memory.stage].phase === 'joint_action' ? memory.action.plan : undefined;
    return [
      `**Phase:** ${memory.phase}${memory.overdue ? ' (overdue)' : ''}`,
      `**Waiting for:** ${this.waitingFor()}`,
      `**Next deadline:** ${deadline ? `${deadline.what} at ${formatStockholm(deadline.dueAt)}` : 'none'}`,
      ...(action ? [`**Joint action:** #${memory.rounds.action} at ${formatStockholm(action.at)}, lead ${action.lead}`] : []),
      `**Municipality:** ${this.municipality} · **Suspected activity:** ${tip.categories.join(', ')} · **Urgency:** ${tip.urgency} · **Tip source:** ${tip.source.kind}${tip.source.protected ? ' (protected)' : ''}`,
    ].join('\n\n');
  }

  summary() {
    return summariseOutcomes(this.state.agencies, this.state.coordinatorSummary);
  }

  view(): OperationState {
    const memory = this.state;
    const deadline = this.nextDeadline();
    return {
      operationId: this.operationId,
      phase: memory.phase,
      municipality: this.municipality,
      categories: [...this.tip.categories],
      agencies: memory.agencies.map((a) => ({ ...a })),
      pending: [...memory.pending],
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
    return { phase: this.state.phase, stage: this.state.stage, waitingFor: this.waitingFor() };
  }
}
