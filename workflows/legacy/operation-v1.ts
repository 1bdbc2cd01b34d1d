import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { AgencyNotice, CoordinatorNotice, NotifyActivities, SteeringNotice } from '../../activities/index.js';
import {
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  CloseOperation,
  OrderReinspection,
  QuorumDecision,
  RescheduleAction,
  ScheduleAction,
  applicableTools,
  briefing,
  candidateAgencies,
  currentRoundOutcomes,
  deadlineAfter,
  describeIssues,
  informationRequest,
  isTerminal,
  mandateRequest,
  parseAgencyAnswer,
  quorumMet,
  reminderTime,
  secondWaveNotice,
  summariseOutcomes,
  transition,
  type AgencyAnswer,
  type AgencyId,
  type AgencyStatus,
  type Correlation,
  type OperationState as OperationView,
  type DecisionReceipt,
  type DueDecision,
  type OutboundDataOf,
  type OutboundEventName,
  type PhaseEvent,
  type RequestEventName,
  type TimelineEntry,
  type TimelineKind,
} from '../../domain/index.js';
import {
  agencyAnswerUpdate,
  assessUpdate,
  callOffUpdate,
  cancelUpdate,
  closeUpdate,
  decideQuorumUpdate,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
  searchAttributes,
  stateQuery,
  timelineQuery,
  type AnswerReceipt,
  type OperationResult,
} from '../definitions.js';
import {
  AWAITING_BY_REQUEST,
  matchAnswer,
  type Awaiting,
  type Deadline,
  type DeadlineMemory,
  type OperationInput,
  type OperationMemory,
  type OperationState,
  type PendingRequest,
  type Stage,
} from './v1-rules.js';

const NOTIFY_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  // A notification must eventually arrive: NATS being down for a while only delays it. The event id is fixed,
  // so a retry after a lost acknowledgement is deduplicated by JetStream, never delivered twice.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const satisfies ActivityOptions;

const { notifyAgency, notifySteeringGroup, notifyCoordinator } = proxyActivities<NotifyActivities>(NOTIFY_OPTIONS);

/**
 * Patch markers (see README, "Changing workflow code"). Operations that passed the marked point before the
 * change replay the old path; new ones take the new path.
 */
const PATCHES = {
  /** The assessment reminder goes out to the coordinator's subject, not only onto the timeline. */
  coordinatorReminder: 'coordinator-reminder-v1',
} as const;

/**
 * The workflow sandbox replaces Date with the time of the current workflow task, identical on replay, so
 * this is Temporal's deterministic clock, not the wall clock.
 */
function nowMs(): number {
  return Date.now();
}
const iso = (ms: number) => new Date(ms).toISOString();

/** Validators must be synchronous and throw ApplicationFailure, so the update is rejected, not the task. */
function parseOrReject<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw ApplicationFailure.nonRetryable(`${what} rejected: ${describeIssues(result.error, input)}`, 'InvalidInput');
  }
  return result.data;
}

function parseOrRejectAnswer(raw: unknown): AgencyAnswer {
  const parsed = parseAgencyAnswer(raw);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, 'InvalidInput');
  return parsed.value;
}

function reject(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'NotAllowedNow');
}

const STAGE_WORDS: Record<Stage, string> = {
  assessment: 'assessment decision',
  mandate_answers: 'mandate answers',
  quorum_decision: 'quorum decision',
  awaiting_schedule: 'schedule decision',
  awaiting_start: 'action start',
  findings: 'findings reports',
  follow_up_wait: 'follow-up period',
  outcomes: 'outcome reports',
  closing_decision: 'closing decision',
  ended: 'nothing: the operation has ended',
};

function freshMemory(): OperationMemory {
  return {
    phase: 'tip',
    stage: 'assessment',
    timeline: [],
    agencies: [],
    pending: [],
    closedRequests: [],
    seenAnswerIds: [],
    secondWave: [],
    overdue: false,
    rounds: { information: 0, mandate: 0, action: 1 },
    continuedAsNew: 0,
  };
}

/**
 * FROZEN: the operation as it ran before the restructure (workflow code v1). Operations started on it, and
 * their continue-as-new runs, finish on this code: it stays registered as the `losOperation` workflow type while new operations start
 * as `losOperationV2`. Never change it; delete it once no v1 operation is open (README, "Changing workflow
 * code").
 *
 * One LOS operation: one tip carried through assessment, mandate matching, joint action and follow-up.
 * The main loop runs one stage at a time; every stage keeps its deadline in `memory`, so the operation can
 * continue-as-new at any stage boundary and resume exactly where it was.
 */
export async function losOperation(input: OperationInput): Promise<OperationResult> {
  const { tip, config, catalogue } = input;
  const operationId = workflowInfo().workflowId;
  const municipality = tip.entity.municipality;
  const memory: OperationMemory = input.memory ?? freshMemory();
  const agencies = new Map<AgencyId, AgencyStatus>(memory.agencies.map((a) => [a.agency, a]));
  const pending = new Map<string, PendingRequest>(memory.pending.map((p) => [p.requestId, p]));
  const closedRequests = new Map<string, PendingRequest>(memory.closedRequests.map((p) => [p.requestId, p]));
  const seenAnswerIds = new Set<string>(memory.seenAnswerIds);

  // --- the record and what operators see -----------------------------------------------------------------
  const record = (kind: TimelineKind, text: string, agency?: TimelineEntry['agency']): TimelineEntry => {
    const entry: TimelineEntry = { at: iso(nowMs()), kind, text, ...(agency ? { agency } : {}) };
    memory.timeline.push(entry);
    return entry;
  };

  const involvedAgencies = () => [...new Set([...agencies.keys(), ...memory.secondWave])].sort();
  const participants = () => [...agencies.values()].filter((a) => a.mandate === 'accepted').map((a) => a.agency);
  const nextDeadline = (): Deadline | undefined => (memory.deadline ? { what: memory.deadline.what, dueAt: memory.deadline.dueAt } : undefined);
  const waitingFor = () => {
    const agenciesAwaited = [...new Set([...pending.values()].map((p) => p.agency))];
    return agenciesAwaited.length > 0 && memory.stage !== 'ended' ? `${STAGE_WORDS[memory.stage]} (${agenciesAwaited.join(', ')})` : STAGE_WORDS[memory.stage];
  };

  /** Search attributes and the UI's current details: no personal data, no entity identifiers. */
  const publishStatus = () => {
    const deadline = nextDeadline();
    upsertSearchAttributes([
      { key: searchAttributes.phase, value: memory.phase },
      { key: searchAttributes.municipality, value: municipality },
      { key: searchAttributes.agencies, value: involvedAgencies() },
      { key: searchAttributes.nextDeadline, value: deadline ? new Date(deadline.dueAt) : null },
      { key: searchAttributes.overdue, value: memory.overdue },
    ]);
    setCurrentDetails(
      [
        `**Phase:** ${memory.phase}${memory.overdue ? ' (overdue)' : ''}`,
        `**Waiting for:** ${waitingFor()}`,
        `**Next deadline:** ${deadline ? `${deadline.what} at ${deadline.dueAt}` : 'none'}`,
        `**Joint action:** ${memory.action ? `#${memory.rounds.action} at ${memory.action.plan.at}, lead ${memory.action.plan.lead}` : 'not scheduled'}`,
      ].join('\n'),
    );
  };

  const move = (event: PhaseEvent) => {
    const result = transition(memory.phase, event);
    if (!result.ok) throw ApplicationFailure.nonRetryable(`internal: ${result.reason}`, 'PhaseRule');
    record('phase_changed', `${memory.phase} → ${result.to}`);
    log.info('phase changed', { operationId, from: memory.phase, to: result.to });
    memory.phase = result.to;
  };

  const enterStage = (stage: Stage, deadline?: { what: Deadline['what']; dueMs: number }) => {
    memory.stage = stage;
    memory.deadline = deadline ? { what: deadline.what, startedAt: iso(nowMs()), dueAt: iso(deadline.dueMs), reminded: false, missed: false } : undefined;
    publishStatus();
  };

  const status = (agency: AgencyId): AgencyStatus => {
    let entry = agencies.get(agency);
    if (!entry) {
      entry = {
        agency,
        mandate: 'not_asked',
        tools: [],
        ready: false,
        findings: 'not_asked',
        sanctions: [],
        outcomes: 'not_asked',
        reportedOutcomes: [],
        settledOutcomes: [],
      };
      agencies.set(agency, entry);
    }
    return entry;
  };

  const summary = () => summariseOutcomes([...agencies.values()], memory.coordinatorSummary);

  const state = (): OperationState => ({
    operationId,
    phase: memory.phase,
    municipality,
    categories: [...tip.categories],
    agencies: [...agencies.values()].map((a) => ({ ...a })),
    pending: [...pending.values()],
    ...(nextDeadline() ? { nextDeadline: nextDeadline()! } : {}),
    overdue: memory.overdue,
    waitingFor: waitingFor(),
    ...(memory.action ? { action: memory.action.plan } : {}),
    ...(memory.phase === 'closed' || memory.phase === 'follow_up' ? { outcome: summary() } : {}),
    ...(memory.endReason ? { endReason: memory.endReason } : {}),
    actionNumber: memory.rounds.action,
    secondWave: [...memory.secondWave],
  });

  const receipt = (): DecisionReceipt => {
    const deadline = nextDeadline();
    return { operationId, phase: memory.phase, waitingFor: waitingFor(), overdue: memory.overdue, ...(deadline ? { nextDeadline: deadline } : {}) };
  };

  // --- notifications --------------------------------------------------------------------------------------
  const notify = async <E extends OutboundEventName>(agency: AgencyId, event: E, eventKey: string, data: OutboundDataOf<E>) => {
    const notice: AgencyNotice = {
      operationId,
      municipality,
      agency,
      event,
      // The same logical event always gets the same id: it is the CloudEvent id and the Nats-Msg-Id.
      eventId: `${operationId}.${eventKey}.${event}`,
      time: iso(nowMs()),
      data,
    };
    // On the record when it is sent, so that an agency's immediate answer never appears above it; the entry
    // says "sending" until JetStream has stored the event.
    const entry = record('notified', `${event} (sending)`, agency);
    const receipt = await notifyAgency.executeWithOptions({ ...NOTIFY_OPTIONS, summary: `${event.replace(/_/g, ' ')} → ${agency}` }, [notice]);
    entry.text = `${event}${receipt.duplicate ? ' (already delivered)' : ''}`;
  };

  const notifyAll = (targets: AgencyId[], send: (agency: AgencyId) => Promise<void>) => Promise.all(targets.map(send));

  const request = async <E extends RequestEventName>(
    agency: AgencyId,
    requestId: string,
    dueMs: number,
    event: E,
    data: (correlation: Correlation) => OutboundDataOf<E>,
  ) => {
    pending.set(requestId, { requestId, agency, awaiting: AWAITING_BY_REQUEST[event], dueAt: iso(dueMs) });
    await notify(agency, event, requestId, data({ operationId, requestId }));
  };

  const escalate = async (deadline: 'assessment' | 'findings' | 'outcomes', dueAt: string, waitingOn: string[]) => {
    memory.overdue = true;
    publishStatus();
    const notice: SteeringNotice = {
      operationId,
      municipality,
      event: 'deadline_missed',
      eventId: `${operationId}.${deadline}-${memory.rounds.action}.deadline_missed`,
      time: iso(nowMs()),
      data: { operationId, deadline, dueAt, waitingFor: waitingOn },
    };
    const receipt = await notifySteeringGroup.executeWithOptions({ ...NOTIFY_OPTIONS, summary: `${deadline} deadline missed → steering group` }, [notice]);
    record('escalated', `${deadline} deadline passed; steering group told${receipt.duplicate ? ' (already delivered)' : ''}`, 'steering_group');
  };

  const remindCoordinator = async (decision: DueDecision, dueAt: string) => {
    const notice: CoordinatorNotice = {
      operationId,
      municipality,
      event: 'decision_due',
      eventId: `${operationId}.${decision}.decision_due`,
      time: iso(nowMs()),
      data: { operationId, decision, dueAt },
    };
    const receipt = await notifyCoordinator.executeWithOptions({ ...NOTIFY_OPTIONS, summary: `${decision} decision due → coordinator` }, [notice]);
    record('reminder', `${decision} decision still owed; coordinator reminded${receipt.duplicate ? ' (already delivered)' : ''}`, 'coordinator');
  };

  const pendingOf = (awaiting: Awaiting) => [...pending.values()].filter((p) => p.awaiting === awaiting);

  /** Closes every still-open request of a kind as missing, and says who was missing. */
  const expire = (awaiting: Awaiting, onMissing: (agency: AgencyStatus) => void, requestIds?: string[]): AgencyId[] => {
    const missing: AgencyId[] = [];
    for (const open of pendingOf(awaiting)) {
      if (requestIds && !requestIds.includes(open.requestId)) continue;
      pending.delete(open.requestId);
      closedRequests.set(open.requestId, open);
      onMissing(status(open.agency));
      missing.push(open.agency);
      record('no_answer', `no ${awaiting.replace('_', ' ')} by ${open.dueAt}`, open.agency);
    }
    publishStatus();
    return missing;
  };

  // --- waiting --------------------------------------------------------------------------------------------
  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested || (config.historyEventLimit !== undefined && workflowInfo().historyLength >= config.historyEventLimit);

  /**
   * Waits until `done`, or `untilMs` passes. Returns early, with `false`, when something else needs the main
   * loop: a cancellation, a stage changed by an update handler, or a due continue-as-new.
   */
  const waitFor = async (done: () => boolean, untilMs?: number, summaryText?: string): Promise<'done' | 'timeout' | 'interrupted'> => {
    const stage = memory.stage;
    const interrupted = () => memory.cancelRequest !== undefined || memory.stage !== stage || continueAsNewDue();
    const wake = () => done() || interrupted();
    if (untilMs === undefined) await condition(wake);
    else if (untilMs > nowMs()) await condition(wake, untilMs - nowMs(), summaryText ? { summary: summaryText } : {});
    if (done()) return 'done';
    if (interrupted()) return 'interrupted';
    return 'timeout';
  };

  /**
   * The shape of every deadline: wait, remind at the configured fraction, and at the deadline act on what is
   * missing. Returns 'done' when the stage can move on, 'interrupted' when the main loop must look first.
   */
  const awaitWithDeadline = async (
    done: () => boolean,
    label: string,
    onReminder: () => Promise<void>,
    onMissed: () => Promise<'continue' | 'keep_waiting'>,
  ): Promise<'done' | 'interrupted'> => {
    const deadline: DeadlineMemory | undefined = memory.deadline;
    if (deadline && !deadline.reminded) {
      const at = reminderTime(Date.parse(deadline.startedAt), Date.parse(deadline.dueAt), config.reminderFraction);
      const outcome = await waitFor(done, at, `${label}: reminder`);
      if (outcome !== 'timeout') return outcome;
      deadline.reminded = true;
      await onReminder();
    }
    if (deadline && !deadline.missed) {
      const outcome = await waitFor(done, Date.parse(deadline.dueAt), `${label}: deadline`);
      if (outcome !== 'timeout') return outcome;
      deadline.missed = true;
      record('deadline', `${label} deadline passed`);
      if ((await onMissed()) === 'continue') return 'done';
    }
    const outcome = await waitFor(done);
    return outcome === 'done' ? 'done' : 'interrupted';
  };

  /** Agencies with an open request of this kind get a reminder that names the original request. */
  const remindAgencies = (awaiting: Awaiting) => async () => {
    const open = pendingOf(awaiting);
    record('reminder', `${awaiting.replace('_', ' ')} still owed by ${open.map((p) => p.agency).join(', ')}`);
    await Promise.all(
      open.map((p) =>
        notify(p.agency, 'reminder', `${p.requestId}.reminder`, {
          correlation: { operationId, requestId: p.requestId },
          awaiting: p.awaiting,
          answerBy: p.dueAt,
        }),
      ),
    );
  };

  // --- agency answers -------------------------------------------------------------------------------------
  const matchAnswerHere = (answer: AgencyAnswer) => matchAnswer(answer, { operationId, open: pending, closed: closedRequests, seen: seenAnswerIds });

  const applyAnswer = (answer: AgencyAnswer): AnswerReceipt => {
    const match = matchAnswerHere(answer);
    if (match.kind === 'duplicate') return { outcome: 'duplicate' }; // at-least-once underneath; applied once here
    seenAnswerIds.add(answer.eventId);
    if (match.kind === 'unmatched') {
      // The validator rejects these; only a caller that skips validation (none in this project) gets here.
      record('answer_ignored', `${answer.name}: ${match.reason}`, answer.agency);
      return { outcome: 'ignored' };
    }
    if (match.kind === 'late') {
      // A late answer is on the record but does not reopen the phase.
      record('late_answer', `${answer.name} after the deadline`, answer.agency);
      return { outcome: 'late' };
    }
    pending.delete(match.request.requestId);
    closedRequests.set(match.request.requestId, match.request);
    const agency = status(answer.agency);
    switch (answer.name) {
      case 'mandate_accepted':
        agency.mandate = 'accepted';
        agency.tools = answer.data.tools;
        agency.contactFunction = answer.data.contactFunction;
        record('answer', `mandate accepted; brings ${answer.data.tools.join(', ')}`, answer.agency);
        break;
      case 'mandate_declined':
        agency.mandate = 'declined';
        agency.declineReason = answer.data.reason;
        record('answer', `mandate declined: ${answer.data.reason}`, answer.agency);
        break;
      case 'information_provided':
        record('answer', `information provided: ${answer.data.answer}`, answer.agency);
        break;
      case 'readiness_confirmed':
        agency.ready = true;
        record('answer', 'readiness confirmed', answer.agency);
        break;
      case 'findings_reported':
        agency.findings = 'reported';
        agency.sanctions = answer.data.sanctions;
        record('answer', `findings reported; ${answer.data.sanctions.length} sanction(s)`, answer.agency);
        break;
      case 'outcome_reported':
        agency.outcomes = 'reported';
        agency.reportedOutcomes = answer.data.outcomes;
        record('answer', `outcomes reported: ${answer.data.outcomes.map((o) => o.kind).join(', ')}`, answer.agency);
        break;
    }
    publishStatus();
    return { outcome: 'applied' };
  };

  setHandler(agencyAnswerUpdate, (raw) => applyAnswer(parseOrRejectAnswer(raw)), {
    validator: (raw) => {
      const answer = parseOrRejectAnswer(raw);
      if (seenAnswerIds.has(answer.eventId)) return;
      if (memory.stage === 'ended') reject(`answer rejected: the operation is already ${memory.phase}`);
      const match = matchAnswerHere(answer);
      if (match.kind === 'unmatched') reject(`answer rejected: ${match.reason}`);
    },
  });
  setHandler(stateQuery, () => state() as unknown as OperationView);
  setHandler(timelineQuery, () => [...memory.timeline]);

  // --- coordinator decisions ------------------------------------------------------------------------------
  const knownAgency = (agency: AgencyId, field: string) => {
    if (!catalogue.agencies.some((a) => a.id === agency)) reject(`${field} "${agency}": not in this municipality's mandate catalogue`);
  };
  const requirePhase = (what: string, ...phases: OperationMemory['phase'][]) => {
    if (!phases.includes(memory.phase)) reject(`${what} rejected: the operation is in phase ${memory.phase}, not ${phases.join(' or ')}`);
    if (memory.cancelRequest !== undefined) reject(`${what} rejected: the operation is being cancelled`);
  };

  const requestInformation = async (targets: AgencyId[], question: string) => {
    memory.rounds.information += 1;
    const round = memory.rounds.information;
    const dueMs = deadlineAfter(nowMs(), config.informationDeadline);
    await notifyAll(targets, (agency) => {
      status(agency);
      return request(agency, `info-${round}-${agency}`, dueMs, 'information_requested', (c) => informationRequest(tip, c, question, iso(dueMs)));
    });
    publishStatus();
  };

  setHandler(
    assessUpdate,
    async (raw) => {
      const decision = parseOrReject(AssessmentDecision, raw, 'assessment');
      record('decision', `assessment: ${decision.decision}${decision.decision === 'dismiss' ? ` (${decision.reason})` : ''}`);
      // Asking for information leaves the decision owed; the requests go out before the update returns.
      if (decision.decision === 'request_info') await requestInformation(decision.agencies, decision.question);
      else memory.assessment = decision;
      return receipt();
    },
    {
      validator: (raw) => {
        const decision = parseOrReject(AssessmentDecision, raw, 'assessment');
        requirePhase('assessment', 'assessment');
        if (memory.assessment) reject('assessment rejected: the assessment decision has already been made');
        if (decision.decision === 'request_info') decision.agencies.forEach((a, i) => knownAgency(a, `agencies.${i}`));
      },
    },
  );

  setHandler(
    decideQuorumUpdate,
    (raw) => {
      const decision = parseOrReject(QuorumDecision, raw, 'quorum decision');
      memory.quorumDecision = decision;
      record('decision', `quorum: ${decision.decision}${decision.decision === 'dismiss' ? ` (${decision.reason})` : ''}`);
      return receipt();
    },
    {
      validator: (raw) => {
        const decision = parseOrReject(QuorumDecision, raw, 'quorum decision');
        if (memory.stage !== 'quorum_decision' || memory.quorumDecision) reject('quorum decision rejected: no quorum decision is owed now');
        if (decision.decision === 'request_again') decision.agencies.forEach((a, i) => knownAgency(a, `agencies.${i}`));
      },
    },
  );

  const validateActionTime = (what: string, at: string) => {
    if (Date.parse(at) <= nowMs()) reject(`${what} rejected: at "${at}" is not in the future`);
  };

  setHandler(
    scheduleUpdate,
    (raw) => {
      const plan = parseOrReject(ScheduleAction, raw, 'schedule');
      memory.action = { plan: { at: new Date(plan.at).toISOString(), place: plan.place, lead: plan.lead }, revision: 0 };
      record('decision', `joint action #${memory.rounds.action} scheduled for ${memory.action.plan.at}, led by ${plan.lead}`);
      return receipt();
    },
    {
      validator: (raw) => {
        const plan = parseOrReject(ScheduleAction, raw, 'schedule');
        requirePhase('schedule', 'joint_action');
        if (memory.stage !== 'awaiting_schedule' || memory.action) reject('schedule rejected: the action is already scheduled; use reschedule');
        validateActionTime('schedule', plan.at);
        if (!participants().includes(plan.lead)) {
          reject(`schedule rejected: lead "${plan.lead}" has not accepted a mandate (participants: ${participants().join(', ')})`);
        }
      },
    },
  );

  setHandler(
    rescheduleUpdate,
    async (raw) => {
      const change = parseOrReject(RescheduleAction, raw, 'reschedule');
      const current = memory.action!;
      current.plan = { ...current.plan, at: new Date(change.at).toISOString(), ...(change.place ? { place: change.place } : {}) };
      current.revision += 1;
      const plan = current.plan;
      record('decision', `joint action #${memory.rounds.action} rescheduled to ${plan.at}: ${change.reason}`);
      memory.deadline = { what: 'action_start', startedAt: iso(nowMs()), dueAt: plan.at, reminded: true, missed: false };
      for (const open of pendingOf('readiness')) open.dueAt = plan.at;
      publishStatus();
      const key = `action-${memory.rounds.action}-r${current.revision}`;
      await notifyAll(participants(), (agency) =>
        notify(agency, 'action_rescheduled', `${key}-${agency}`, {
          correlation: { operationId, requestId: `${key}-${agency}` },
          action: plan,
          reason: change.reason,
        }),
      );
      return receipt();
    },
    {
      validator: (raw) => {
        const change = parseOrReject(RescheduleAction, raw, 'reschedule');
        requirePhase('reschedule', 'joint_action');
        if (memory.stage !== 'awaiting_start' || !memory.action) reject('reschedule rejected: no scheduled action is waiting to start');
        validateActionTime('reschedule', change.at);
      },
    },
  );

  setHandler(
    callOffUpdate,
    async (raw) => {
      const { reason } = parseOrReject(CallOffAction, raw, 'call off');
      const key = `action-${memory.rounds.action}-called-off`;
      record('decision', `joint action #${memory.rounds.action} called off: ${reason}`);
      expire('readiness', () => undefined);
      memory.action = undefined;
      // The operation stays in joint action: the coordinator schedules anew, or cancels.
      memory.rounds.action += 1;
      enterStage('awaiting_schedule');
      await notifyAll(participants(), (agency) =>
        notify(agency, 'action_called_off', `${key}-${agency}`, { correlation: { operationId, requestId: `${key}-${agency}` }, reason }),
      );
      return receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CallOffAction, raw, 'call off');
        requirePhase('call off', 'joint_action');
        if (memory.stage !== 'awaiting_start') reject('call off rejected: no scheduled action is waiting to start');
      },
    },
  );

  setHandler(
    reinspectUpdate,
    (raw) => {
      memory.reinspection = parseOrReject(OrderReinspection, raw, 'reinspection');
      record('decision', `re-inspection ordered: ${memory.reinspection.reason}`);
      return receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(OrderReinspection, raw, 'reinspection');
        requirePhase('reinspection', 'follow_up');
        if (memory.stage !== 'closing_decision' || memory.closeRequest || memory.reinspection)
          reject(`reinspection rejected: still waiting for ${waitingFor()}`);
      },
    },
  );

  setHandler(
    closeUpdate,
    (raw) => {
      memory.closeRequest = parseOrReject(CloseOperation, raw, 'close');
      record('decision', 'operation closed by the coordinator');
      return receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CloseOperation, raw, 'close');
        requirePhase('close', 'follow_up');
        if (memory.stage !== 'closing_decision' || memory.closeRequest || memory.reinspection) reject(`close rejected: still waiting for ${waitingFor()}`);
      },
    },
  );

  setHandler(
    cancelUpdate,
    (raw) => {
      memory.cancelRequest = parseOrReject(CancelOperation, raw, 'cancel').reason;
      record('decision', `cancelled: ${memory.cancelRequest}`);
      return receipt();
    },
    {
      validator: (raw) => {
        parseOrReject(CancelOperation, raw, 'cancel');
        if (isTerminal(memory.phase)) reject(`cancel rejected: the operation is already ${memory.phase}`);
        if (memory.cancelRequest !== undefined) reject('cancel rejected: the operation is already being cancelled');
      },
    },
  );

  // --- the stages -----------------------------------------------------------------------------------------
  const end = (event: PhaseEvent, reason?: string) => {
    move(event);
    if (reason !== undefined) memory.endReason = reason;
    pending.clear();
    enterStage('ended');
  };

  const requestMandates = async (targets: AgencyId[]) => {
    memory.rounds.mandate += 1;
    const round = memory.rounds.mandate;
    const dueMs = deadlineAfter(nowMs(), config.mandateDeadline);
    for (const agency of targets) status(agency).mandate = 'requested';
    enterStage('mandate_answers', { what: 'mandate_answers', dueMs });
    await notifyAll(targets, (agency) =>
      request(agency, `mandate-${round}-${agency}`, dueMs, 'mandate_requested', (c) =>
        mandateRequest(tip, c, applicableTools(agency, tip.categories, catalogue), iso(dueMs)),
      ),
    );
  };

  const quorumReached = async () => {
    move(memory.quorumDecision?.decision === 'proceed' ? 'quorum_overridden' : 'quorum_met');
    enterStage('awaiting_schedule');
  };

  const stages: Record<Exclude<Stage, 'ended'>, () => Promise<void>> = {
    async assessment() {
      const decided = () => memory.assessment !== undefined;
      const result = await awaitWithDeadline(
        decided,
        'assessment',
        async () => {
          if (patched(PATCHES.coordinatorReminder)) await remindCoordinator('assessment', memory.deadline!.dueAt);
          else record('reminder', 'assessment decision still owed');
        },
        async () => {
          // Escalated, never silently closed: the decision is still owed.
          await escalate('assessment', memory.deadline!.dueAt, ['coordinator']);
          return 'keep_waiting';
        },
      );
      if (result !== 'done') return;
      memory.overdue = false;
      const decision = memory.assessment!;
      if (decision.decision === 'dismiss') return end('assessed_dismiss', decision.reason);
      move('assessed_proceed');
      const candidates = candidateAgencies(tip.categories, catalogue);
      record('decision', `candidates from the mandate catalogue: ${candidates.join(', ')}`);
      await requestMandates(candidates);
    },

    async mandate_answers() {
      const allIn = () => pendingOf('mandate_answer').length === 0;
      const result = await awaitWithDeadline(allIn, 'mandate answers', remindAgencies('mandate_answer'), async () => {
        // No answer counts as no, and is recorded as such.
        expire('mandate_answer', (agency) => (agency.mandate = 'no_answer'));
        return 'continue';
      });
      if (result !== 'done') return;
      if (quorumMet([...agencies.values()], config.quorum)) return quorumReached();
      record('deadline', `quorum not met: ${participants().length} of ${config.quorum} agencies accepted`);
      memory.quorumDecision = undefined;
      enterStage('quorum_decision');
    },

    async quorum_decision() {
      if ((await waitFor(() => memory.quorumDecision !== undefined)) !== 'done') return;
      const decision = memory.quorumDecision!;
      if (decision.decision === 'dismiss') return end('quorum_dismiss', decision.reason);
      if (decision.decision === 'proceed') return quorumReached();
      memory.quorumDecision = undefined;
      await requestMandates(decision.agencies);
    },

    async awaiting_schedule() {
      if ((await waitFor(() => memory.action !== undefined)) !== 'done') return;
      const plan = memory.action!.plan;
      const team = participants();
      const round = memory.rounds.action;
      for (const agency of team) status(agency).ready = false;
      enterStage('awaiting_start', { what: 'action_start', dueMs: Date.parse(plan.at) });
      memory.deadline!.reminded = true; // readiness is confirmed against the briefing, not reminded
      // Need to know: only participants are briefed, and only the briefing carries the description.
      await notifyAll(team, (agency) => request(agency, `briefing-${round}-${agency}`, Date.parse(plan.at), 'briefing', (c) => briefing(tip, c, plan, team)));
    },

    async awaiting_start() {
      const revision = memory.action!.revision;
      // A durable timer: the action starts on time even if every worker restarted meanwhile.
      const result = await waitFor(() => memory.action?.revision !== revision, Date.parse(memory.action!.plan.at), 'joint action: start');
      if (result !== 'timeout') return; // rescheduled, called off, cancelled, or continuing as new
      const plan = memory.action!.plan;
      const round = memory.rounds.action;
      const team = participants();
      expire('readiness', () => undefined);
      await notifyAll(team, (agency) =>
        notify(agency, 'action_started', `action-${round}-${agency}`, { correlation: { operationId, requestId: `action-${round}-${agency}` }, action: plan }),
      );
      record('decision', `joint action #${round} started`);
      const dueMs = deadlineAfter(nowMs(), config.findingsDeadline);
      enterStage('findings', { what: 'findings', dueMs });
      await notifyAll(team, (agency) => {
        status(agency).findings = 'requested';
        return request(agency, `findings-${round}-${agency}`, dueMs, 'findings_requested', (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      });
    },

    async findings() {
      const allIn = () => pendingOf('findings').length === 0;
      const result = await awaitWithDeadline(allIn, 'findings', remindAgencies('findings'), async () => {
        const missing = expire('findings', (agency) => (agency.findings = 'missing'));
        await escalate('findings', memory.deadline!.dueAt, missing);
        return 'continue';
      });
      if (result !== 'done') return;
      move('findings_complete');
      memory.overdue = false;
      enterStage('follow_up_wait', { what: 'follow_up', dueMs: deadlineAfter(nowMs(), config.followUpAfter) });
      memory.deadline!.reminded = true;
    },

    async follow_up_wait() {
      if ((await waitFor(() => false, Date.parse(memory.deadline!.dueAt), 'follow-up: outcome requests')) !== 'timeout') return;
      const round = memory.rounds.action;
      const team = participants();
      const dueMs = deadlineAfter(nowMs(), config.outcomeDeadline);
      enterStage('outcomes', { what: 'outcomes', dueMs });
      await notifyAll(team, (agency) => {
        status(agency).outcomes = 'requested';
        return request(agency, `outcome-${round}-${agency}`, dueMs, 'outcome_requested', (c) => ({ correlation: c, reportBy: iso(dueMs) }));
      });
      // The second wave reaches catalogue agencies that were not on site, with the minimum data only.
      const actionDate = memory.action!.plan.at;
      const others = catalogue.agencies.map((a) => a.id).filter((agency) => !team.includes(agency) && !memory.secondWave.includes(agency));
      memory.secondWave.push(...others);
      await notifyAll(others, (agency) =>
        notify(
          agency,
          'second_wave_notice',
          `second-wave-${round}-${agency}`,
          secondWaveNotice(tip, { operationId, requestId: `second-wave-${round}-${agency}` }, actionDate),
        ),
      );
      publishStatus();
    },

    async outcomes() {
      const allIn = () => pendingOf('outcome').length === 0;
      const result = await awaitWithDeadline(allIn, 'outcomes', remindAgencies('outcome'), async () => {
        const missing = expire('outcome', (agency) => (agency.outcomes = 'missing'));
        await escalate('outcomes', memory.deadline!.dueAt, missing);
        return 'continue';
      });
      if (result !== 'done') return;
      memory.overdue = false;
      enterStage('closing_decision');
    },

    async closing_decision() {
      if ((await waitFor(() => memory.closeRequest !== undefined || memory.reinspection !== undefined)) !== 'done') return;
      if (memory.reinspection) {
        // A re-inspection is a new joint action; this one's results are settled first.
        for (const agency of agencies.values()) {
          agency.settledOutcomes.push(...currentRoundOutcomes(agency));
          Object.assign(agency, { sanctions: [], reportedOutcomes: [], findings: 'not_asked', outcomes: 'not_asked', ready: false });
        }
        memory.reinspection = undefined;
        memory.action = undefined;
        memory.rounds.action += 1;
        move('reinspection_ordered');
        enterStage('awaiting_schedule');
        return;
      }
      memory.coordinatorSummary = memory.closeRequest!.summary;
      const team = participants();
      end('closed', memory.closeRequest!.summary);
      await notifyAll(team, (agency) =>
        notify(agency, 'operation_closed', `closed-${agency}`, {
          correlation: { operationId, requestId: `closed-${agency}` },
          summary: memory.coordinatorSummary!,
        }),
      );
    },
  };

  const cancel = async () => {
    const reason = memory.cancelRequest!;
    end('cancelled', reason);
    // Every agency already involved hears that the operation is off; nobody else learns it existed.
    await notifyAll(involvedAgencies(), (agency) =>
      notify(agency, 'operation_cancelled', `cancelled-${agency}`, { correlation: { operationId, requestId: `cancelled-${agency}` }, reason }),
    );
  };

  const snapshot = (): OperationMemory => ({
    ...memory,
    agencies: [...agencies.values()],
    pending: [...pending.values()],
    closedRequests: [...closedRequests.values()],
    seenAnswerIds: [...seenAnswerIds],
  });

  // --- the lifecycle --------------------------------------------------------------------------------------
  if (!input.memory) {
    record(
      'decision',
      `tip registered: ${tip.categories.join(', ')}; urgency ${tip.urgency}; source ${tip.source.kind}${tip.source.protected ? ' (protected)' : ''}`,
    );
    move('tip_registered');
    enterStage('assessment', { what: 'assessment', dueMs: deadlineAfter(nowMs(), config.assessmentDeadline) });
  } else {
    record('continued', `continued as new (run ${memory.continuedAsNew + 1}); resuming at ${memory.stage}`);
    publishStatus();
  }

  while (memory.stage !== 'ended') {
    if (memory.cancelRequest !== undefined) {
      await cancel();
      break;
    }
    if (continueAsNewDue()) {
      // Months-long operations must not outgrow their history: carry everything into a fresh run.
      await condition(allHandlersFinished);
      memory.continuedAsNew += 1;
      return continueAsNew<typeof losOperation>({ tip, config, catalogue, memory: snapshot() });
    }
    await stages[memory.stage]();
  }

  await condition(allHandlersFinished);
  return {
    operationId,
    phase: memory.phase,
    ...(memory.endReason !== undefined ? { endReason: memory.endReason } : {}),
    ...(memory.phase === 'closed' ? { outcome: summary() } : {}),
  };
}
