import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Delivery, KeyActivities, NotifyActivities } from '../activities/index.js';
import {
  agencyEventId,
  coordinatorEventId,
  deadlineAfter,
  noticeKey,
  personalFieldsIn,
  steeringEventId,
  type AgencyId,
  type Correlation,
  type DueDecision,
  type EscalatedDeadline,
  type NoticeKey,
  type HeldOutboundData,
  type OutboundEventName,
  type RequestEventName,
  type TimelineEntry,
  type TimelineKind,
} from '../domain/index.js';
import { iso, nowMs, type Operation } from './operation-state.js';

/**
 * A fan-out is one activity: a round of requests costs one activity in the history, not one per agency. It
 * is a regular activity, not a local one, though a local one would save three events and a workflow task per
 * round (tried twice; the second time, on 2026-12-07, with attempts of 5 s and every retry on a durable timer):
 * - A local activity publishes before the workflow task that opened the requests is complete. When that task is
 *   then lost (a worker killed, Temporal restarted, the completion refused), the retried task replays from the last
 *   completed one and takes the agencies' answers, already on their way, in the same activation as the decision
 *   that opens the requests, before the stage has opened them: the validator refuses them as answering no request
 *   and the bridge dead-letters them. The chaos suite lost an answer this way (an operation left waiting for it).
 *   A regular activity runs only after the task that opened its requests is in the history.
 * - The first try (2026-11-26: attempts of up to 15 s, retries in the worker below 10 s) saw answers (updates)
 *   that arrived during a fan-out replayed in another order than live.
 */
const DELIVERY_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  // A notification must eventually arrive: NATS being down for a while only delays it. Event ids are fixed,
  // so a retried batch is deduplicated by JetStream, never delivered twice.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const satisfies ActivityOptions;

const { deliver } = proxyActivities<NotifyActivities>(DELIVERY_OPTIONS);
/**
 * A local activity: it runs inside the operation's first workflow task and leaves one marker in the history,
 * where a regular activity costs three events and two more workflow tasks. It only reads the key store and
 * runs before any answer can exist, so the ordering caveat above does not touch it; decisions that arrive
 * while it runs are refused NotReady (their speculative workflow task leaves no event) and retried.
 */
const { engineKeys } = proxyLocalActivities<KeyActivities>({
  startToCloseTimeout: '10 seconds',
  // Decisions wait for these keys (refused NotReady meanwhile): retried until the key store answers.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * The operation's first step: the API's and the bridge's public keys, from the engine's key store through a
 * local activity (a trusted path: a client that starts or signals the workflow cannot hand in a key of its own).
 */
export async function learnEngineKeys(op: Operation): Promise<void> {
  op.engineKeysLearned(await engineKeys());
}

/**
 * True when a fan-out now is the ended operation's last and arranges its erasure: the activity starts the
 * erasure workflow with the retention as its start delay, so an ending costs no child workflow and no extra
 * workflow task.
 */
export function arrangesErasure(op: Operation): boolean {
  return op.memory.stage === 'ended' && !op.memory.erasureArranged;
}

interface Outgoing extends Delivery {
  kind: TimelineKind;
  text: string;
  agency: TimelineEntry['agency'];
  /** The personal fields the event carries, for the disclosure register. */
  fields: readonly string[];
}

/** Collects the events of one step and sends them as one batch. The only caller of activities. */
export class Fanout {
  private readonly events: Outgoing[] = [];

  constructor(private readonly op: Operation) {}

  /** An event that opens a request; the request is open before the event goes out. */
  request<E extends RequestEventName>(agency: AgencyId, event: E, round: number, dueMs: number, data: (c: Correlation) => HeldOutboundData<E>): this {
    const correlation = this.op.openRequest(event, round, agency, dueMs);
    return this.agencyEvent(agency, event, correlation.requestId, data(correlation));
  }

  /** An event that opens no request: its key is its correlation key too. */
  notice<E extends OutboundEventName>(key: NoticeKey & { agency: AgencyId }, event: E, data: (c: Correlation) => HeldOutboundData<E>): this {
    const id = noticeKey(key);
    return this.agencyEvent(key.agency, event, id, data({ operationId: this.op.operationId, requestId: id }));
  }

  reminder(agency: AgencyId, requestId: string, data: HeldOutboundData<'reminder'>): this {
    return this.agencyEvent(agency, 'reminder', noticeKey({ event: 'reminder', requestId }), data);
  }

  deadlineMissed(deadline: EscalatedDeadline, dueAt: string, waitingOn: string[]): this {
    const { operationId } = this.op;
    this.events.push({
      to: 'steering_group',
      event: 'deadline_missed',
      eventId: steeringEventId(operationId, deadline, this.op.memory.rounds.action),
      data: { operationId, deadline, dueAt, waitingFor: waitingOn },
      kind: 'escalated',
      text: `${deadline} deadline passed; steering group told`,
      agency: 'steering_group',
      fields: [],
    });
    return this;
  }

  decisionDue(decision: DueDecision, dueAt: string): this {
    const { operationId } = this.op;
    this.events.push({
      to: 'coordinator',
      event: 'decision_due',
      eventId: coordinatorEventId(operationId, decision),
      data: { operationId, decision, dueAt },
      kind: 'reminder',
      text: `${decision} decision still owed; coordinator reminded`,
      agency: 'coordinator',
      fields: [],
    });
    return this;
  }

  private agencyEvent(agency: AgencyId, event: OutboundEventName, key: string, data: unknown): this {
    const eventId = agencyEventId(this.op.operationId, key, event);
    this.events.push({ to: agency, event, eventId, data, kind: 'notified', text: event, agency, fields: personalFieldsIn(event, data) });
    return this;
  }

  /**
   * Each event is on the record when it is sent, so an agency's immediate answer never appears above it;
   * the entry says "sending" until JetStream has stored the event.
   */
  async send(): Promise<void> {
    this.op.flushStatus();
    const erasure = arrangesErasure(this.op);
    if (this.events.length === 0 && !erasure) return;
    const from = this.op.recordSending(
      this.events.map((e) => ({ kind: e.kind, text: `${e.text} (sending)`, agency: e.agency, eventId: e.eventId, fields: e.fields })),
    );
    const { duplicates = [] } =
      (await deliver({
        operationId: this.op.operationId,
        municipality: this.op.municipality,
        time: iso(nowMs()),
        events: this.events.map(({ to, event, eventId, data }) => ({ to, event, eventId, data })),
        ...(erasure ? { erasure: { retention: this.op.config.retention, eraseAt: iso(deadlineAfter(nowMs(), this.op.config.retention)) } } : {}),
      })) ?? {};
    if (erasure) this.op.erasureArranged();
    this.op.recordDelivered(
      from,
      this.events.map((e, i) => `${e.text}${duplicates.includes(i) ? ' (already delivered)' : ''}`),
    );
  }
}
