import { performance } from 'node:perf_hooks';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ReceivedEvent } from '../agencies/index.js';
import { directDriver, type CoordinatorDriver, type DirectDriverOptions } from './drivers.js';
import {
  candidateAgencies,
  type AgencyId,
  type InboundEventName,
  type MandateCatalogue,
  type OperationConfigInput,
  type OperationState,
  type TipInput,
} from '../domain/index.js';
import { stateQuery } from '../workflows/definitions.js';
import type { losOperation } from '../workflows/index.js';
import type { Completion } from './load.js';
import { sleep } from './stats.js';

/**
 * Drives LOS operations through their whole lifecycle, as the coordinator would, and times what the
 * simulated agencies see. The agencies answer at once; every decision is taken as soon as it is owed.
 */

type Handle = WorkflowHandle<typeof losOperation>;

/** Their candidate set in the national catalogue is exactly five agencies (alcohol, Police, tax, work environment, migration). */
export const LIFECYCLE_CATEGORIES: TipInput['categories'] = ['unlicensed_alcohol', 'labour_exploitation'];

/** Every deadline is far beyond what the run needs: the figures measure the engine, not deadline handling. */
export const LIFECYCLE_CONFIG: OperationConfigInput = {
  assessmentDeadline: '30s',
  mandateDeadline: '30s',
  findingsDeadline: '30s',
  followUpAfter: '1s',
  outcomeDeadline: '30s',
};

/** How long the joint action is scheduled ahead of the schedule decision. */
export const ACTION_LEAD_MS = 1_000;
/**
 * Pause between two state queries. Latency probes poll finely; a coordinator waiting for the next decision
 * polls more gently, since every query is work for the server and the worker that the figures include.
 */
const PROBE_POLL_MS = 10;
const COORDINATOR_POLL_MS = 50;
const OPERATION_TIMEOUT_MS = 120_000;

export function benchTip(runId: string, index: number, categories: TipInput['categories']): TipInput {
  return {
    entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå', municipality: 'Umeå' },
    categories,
    // The operation ID hashes the tip, so each benchmark tip must differ from every earlier one.
    description: `Benchmark tip ${runId}/${index}: alcohol served after hours, staff without contracts.`,
    urgency: 'normal',
    source: { kind: 'public', protected: true },
    receivedAt: new Date().toISOString(),
  };
}

/** What a phase collects besides per-operation samples. */
export class PhaseRecorder {
  eventsDelivered = 0;
  stateQueries = 0;
  readonly answerLatencyMs: number[] = [];
  answerProbesUnresolved = 0;
}

const SHOWN: Record<InboundEventName, (agency: OperationState['agencies'][number]) => boolean> = {
  mandate_accepted: (a) => a.mandate === 'accepted',
  mandate_declined: (a) => a.mandate === 'declined',
  information_provided: () => true,
  readiness_confirmed: (a) => a.ready,
  findings_reported: (a) => a.findings === 'reported',
  outcome_reported: (a) => a.outcomes === 'reported',
};

interface AnswerProbe {
  agency: AgencyId;
  name: InboundEventName;
  at: number;
  giveUpAt: number;
}

interface StateWaiter {
  test: (state: OperationState) => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  giveUpAt: number;
}

/** One operation as seen from outside: what its agencies hold, what they answered, what its state shows. */
export class OperationTrack {
  readonly held = new Map<string, number[]>();
  readonly answered = new Map<string, number>();
  private readonly countWaiters: { test: () => boolean; resolve: () => void; reject: (err: Error) => void }[] = [];
  private stateWaiters: StateWaiter[] = [];
  private probes: AnswerProbe[] = [];
  private polling = false;
  private closed = false;

  constructor(
    private readonly handle: Handle,
    private readonly recorder: PhaseRecorder,
    private readonly probeAnswers: boolean,
    /** The operation's deadline: every wait still pending gives up when it passes. */
    private readonly deadline?: AbortSignal,
  ) {
    deadline?.addEventListener('abort', () => this.giveUp(), { once: true });
  }

  eventHeld(name: string, at: number): void {
    const times = this.held.get(name) ?? [];
    times.push(at);
    this.held.set(name, times);
    this.settleCounts();
  }

  answerPublished(agency: AgencyId, name: InboundEventName, at: number): void {
    this.answered.set(name, (this.answered.get(name) ?? 0) + 1);
    if (this.probeAnswers && !this.closed) {
      this.probes.push({ agency, name, at, giveUpAt: at + 30_000 });
      void this.poll();
    }
    this.settleCounts();
  }

  /** Resolves once `count` events named `name` are held by agencies; returns their arrival times. */
  whenHeld(name: string, count: number): Promise<number[]> {
    return this.whenCount(() => (this.held.get(name)?.length ?? 0) >= count).then(() => this.held.get(name)!.slice(0, count));
  }

  whenAnswered(names: InboundEventName[], count: number): Promise<void> {
    return this.whenCount(() => names.reduce((sum, name) => sum + (this.answered.get(name) ?? 0), 0) >= count);
  }

  /** Polls the state query until it passes `test`: how a coordinator's screen learns the operation moved on. */
  waitForState(test: (state: OperationState) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.deadline?.aborted) return reject(this.deadlineError());
      this.stateWaiters.push({ test, resolve, reject, giveUpAt: performance.now() + timeoutMs });
      void this.poll();
    });
  }

  close(): void {
    this.closed = true;
    this.recorder.answerProbesUnresolved += this.probes.length;
    this.probes = [];
    for (const waiter of this.stateWaiters) waiter.reject(new Error('operation finished while waiting for its state'));
    this.stateWaiters = [];
  }

  private whenCount(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    if (this.deadline?.aborted) return Promise.reject(this.deadlineError());
    return new Promise<void>((resolve, reject) => this.countWaiters.push({ test, resolve, reject }));
  }

  private deadlineError(): Error {
    return new Error('the operation passed its deadline', { cause: this.deadline?.reason });
  }

  private giveUp(): void {
    for (const waiter of this.countWaiters.splice(0)) waiter.reject(this.deadlineError());
    for (const waiter of this.stateWaiters.splice(0)) waiter.reject(this.deadlineError());
  }

  private settleCounts(): void {
    for (let i = this.countWaiters.length - 1; i >= 0; i--) {
      const waiter = this.countWaiters[i]!;
      if (waiter.test()) {
        this.countWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** One query loop per operation serves every probe and waiter, so probing adds one query at a time at most. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      while (!this.closed && (this.probes.length > 0 || this.stateWaiters.length > 0)) {
        let state: OperationState | undefined;
        try {
          this.recorder.stateQueries += 1;
          state = await this.handle.query(stateQuery);
        } catch {
          // The first workflow task may not have completed yet; ask again shortly.
        }
        const seenAt = performance.now();
        if (state) {
          const shown = state;
          this.probes = this.probes.filter((probe) => {
            const agency = shown.agencies.find((a) => a.agency === probe.agency);
            if (!agency || !SHOWN[probe.name](agency)) return true;
            this.recorder.answerLatencyMs.push(seenAt - probe.at);
            return false;
          });
          this.stateWaiters = this.stateWaiters.filter((waiter) => {
            if (!waiter.test(shown)) return true;
            waiter.resolve();
            return false;
          });
        }
        this.probes = this.probes.filter((probe) => {
          if (seenAt < probe.giveUpAt) return true;
          this.recorder.answerProbesUnresolved += 1;
          return false;
        });
        this.stateWaiters = this.stateWaiters.filter((waiter) => {
          if (seenAt < waiter.giveUpAt) return true;
          waiter.reject(new Error(`state never matched; last seen: ${state ? `${state.phase} / ${state.waitingFor}` : 'no answer to the query'}`));
          return false;
        });
        if (this.probes.length > 0 || this.stateWaiters.length > 0) await sleep(this.probeAnswers ? PROBE_POLL_MS : COORDINATOR_POLL_MS);
      }
    } finally {
      this.polling = false;
    }
  }
}

/** Routes what the simulated agencies see and send to the operation it concerns. */
export class AgencyWatch {
  private readonly tracks = new Map<string, OperationTrack>();
  private recorder = new PhaseRecorder();

  beginPhase(): PhaseRecorder {
    this.recorder = new PhaseRecorder();
    return this.recorder;
  }

  open(operationId: string, handle: Handle, probeAnswers: boolean, deadline?: AbortSignal): OperationTrack {
    const track = new OperationTrack(handle, this.recorder, probeAnswers, deadline);
    this.tracks.set(operationId, track);
    return track;
  }

  release(operationId: string): void {
    this.tracks.get(operationId)?.close();
    this.tracks.delete(operationId);
  }

  /** The simulated agency's onEvent: the moment the agency system holds the event. */
  onEvent = (_agency: AgencyId, event: ReceivedEvent): void => {
    const at = performance.now();
    this.recorder.eventsDelivered += 1;
    this.tracks.get(event.operationId)?.eventHeld(event.name, at);
  };

  /** The simulated agency's onAnswer: called once JetStream has acknowledged the answer. */
  onAnswer = (agency: AgencyId, answer: string, operationId: string): void => {
    this.tracks.get(operationId)?.answerPublished(agency, answer as InboundEventName, performance.now());
  };
}

export interface LifecycleContext {
  /** The bench's own Temporal client: what it watches (state query, result) and, for the direct door, what it drives. */
  client: Client;
  /** The key store: each tip is sealed with its operation's data key, as the API does (bench/plaintext.ts: not sealed). */
  keys: DirectDriverOptions['keys'];
  catalogue: MandateCatalogue;
  taskQueue: string;
  runId: string;
  watch: AgencyWatch;
  /** The candidate agencies of LIFECYCLE_CATEGORIES in `catalogue`. */
  agencies: AgencyId[];
  /** The door the coordinator's actions (registration, decisions) go through (bench/drivers.ts). */
  driver: CoordinatorDriver;
}

/**
 * A run's lifecycle context; the candidate agencies follow from the catalogue, a watch is made when none is given,
 * and without a driver the coordinator takes the direct door on `client`.
 */
export function lifecycleContext(
  options: Omit<LifecycleContext, 'agencies' | 'watch' | 'driver'> & { watch?: AgencyWatch; driver?: CoordinatorDriver },
): LifecycleContext {
  return {
    ...options,
    watch: options.watch ?? new AgencyWatch(),
    agencies: candidateAgencies(LIFECYCLE_CATEGORIES, options.catalogue),
    driver: options.driver ?? directDriver(options),
  };
}

/** The same context driven through another door (the watch, the keys and the Temporal client stay). */
export function throughDoor(ctx: LifecycleContext, driver: CoordinatorDriver): LifecycleContext {
  return { ...ctx, driver };
}

export interface LifecycleSample extends Completion {
  operationId?: string;
  /** Start of registration to the end of the workflow. */
  lifecycleMs?: number;
  /** The assess update's round trip, as the coordinator sees it. */
  assessRoundTripMs?: number;
  /** From the assess update's return until the last candidate agency holds its mandate request. */
  notifyAllMs?: number;
  /** The same, from the moment the assess update was sent. */
  notifyAllFromSendMs?: number;
  /** Per mandate request: from the assess update's return until that agency holds it. */
  notifyEachMs?: number[];
  /** Where the lifecycle's time went, step by step (see LIFECYCLE_STEPS). */
  stepsMs?: Record<LifecycleStep, number>;
  /** Each decision's round trip (client send → receipt), every attempt included, in the order taken. */
  decisionRoundTripMs?: number[];
  /** Decisions sent again because the operation had not caught up yet. */
  decisionsResent?: number;
}

/** The lifecycle's steps as the bench sees them from outside, in order. */
export const LIFECYCLE_STEPS = [
  'register (start workflow)',
  'assess update round trip',
  'mandate requests reach all agencies',
  'agencies answer (until last answer acked)',
  'answers shown in state',
  'schedule update round trip',
  'action, findings, follow-up, outcomes (incl. 2 timers)',
  'outcomes shown in state',
  'close update round trip',
  'close until workflow result',
] as const;
export type LifecycleStep = (typeof LIFECYCLE_STEPS)[number];

/** A decision the validator refuses for now (the workflow has not caught up yet) is sent again, as a coordinator would. */
async function decide(driver: CoordinatorDriver, send: () => Promise<unknown>, onResend: () => void, attempts = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return;
    } catch (err) {
      if (!driver.notYet(err) || attempt >= attempts) throw err;
      onResend();
      await sleep(50);
    }
  }
}

export async function runLifecycle(ctx: LifecycleContext, index: number, options: { probeAnswers: boolean }): Promise<LifecycleSample> {
  const startedAt = performance.now();
  let operationId: string | undefined;
  // One deadline for the whole operation: the Temporal calls in flight when it passes are cancelled
  // (client.withAbortSignal), the waits for what the agencies see give up, and no step starts after it.
  const deadline = AbortSignal.timeout(OPERATION_TIMEOUT_MS);
  const drive = async (): Promise<LifecycleSample> => {
    const { driver } = ctx;
    const { operationId: id, outcome } = await driver.register(benchTip(ctx.runId, index, LIFECYCLE_CATEGORIES), LIFECYCLE_CONFIG);
    if (outcome !== 'started') throw new Error(`tip ${index} was already registered as ${id}`);
    operationId = id;
    const handle: Handle = ctx.client.workflow.getHandle(id);
    const track = ctx.watch.open(id, handle, options.probeAnswers, deadline);
    const n = ctx.agencies.length;

    const marks: number[] = [performance.now()];
    const mark = () => {
      deadline.throwIfAborted();
      marks.push(performance.now());
    };
    const decisionRoundTripMs: number[] = [];
    let decisionsResent = 0;
    /** One decision through the driver's door, timed from its first send to its receipt. */
    const decideTimed = async (send: () => Promise<unknown>) => {
      const sentAt = performance.now();
      await decide(driver, send, () => (decisionsResent += 1));
      decisionRoundTripMs.push(performance.now() - sentAt);
    };

    const assessSentAt = marks[0]!;
    await decideTimed(() => driver.decide(id, 'assessment', { decision: 'proceed' }));
    mark();
    const assessedAt = marks[1]!;
    const heldAt = await track.whenHeld('mandate_requested', n);
    mark();

    await track.whenAnswered(['mandate_accepted', 'mandate_declined'], n);
    mark();
    await track.waitForState((s) => s.stage === 'schedule_decision');
    mark();
    await decideTimed(() =>
      driver.decide(id, 'schedule', { at: new Date(Date.now() + ACTION_LEAD_MS).toISOString(), place: 'Storgatan 12, Umeå', lead: 'polisen' }),
    );
    mark();

    await track.whenAnswered(['outcome_reported'], n);
    mark();
    await track.waitForState((s) => s.stage === 'closing_decision');
    mark();
    await decideTimed(() => driver.decide(id, 'close', { summary: 'Benchmark operation closed.' }));
    mark();
    await handle.result();
    mark();
    const finishedAt = marks[marks.length - 1]!;
    const lastHeld = Math.max(...heldAt);
    const stepsMs = Object.fromEntries(LIFECYCLE_STEPS.map((step, i) => [step, i === 0 ? assessSentAt - startedAt : marks[i]! - marks[i - 1]!])) as Record<
      LifecycleStep,
      number
    >;
    return {
      ok: true,
      operationId: id,
      startedAt,
      finishedAt,
      lifecycleMs: finishedAt - startedAt,
      assessRoundTripMs: assessedAt - assessSentAt,
      notifyAllMs: lastHeld - assessedAt,
      notifyAllFromSendMs: lastHeld - assessSentAt,
      notifyEachMs: heldAt.map((at) => at - assessedAt),
      stepsMs,
      decisionRoundTripMs,
      decisionsResent,
    };
  };
  try {
    return await ctx.client.withAbortSignal(deadline, drive);
  } catch (err) {
    const error = deadline.aborted ? `operation did not finish within ${OPERATION_TIMEOUT_MS / 1000}s` : (err as Error).message;
    return { ok: false, ...(operationId ? { operationId } : {}), startedAt, finishedAt: performance.now(), error };
  } finally {
    if (operationId) ctx.watch.release(operationId);
  }
}

/** Registers a tip and leaves it waiting for its assessment: the shape of most open operations in practice. */
export async function registerWaiting(ctx: LifecycleContext, index: number, assessmentDeadline: string): Promise<string> {
  const { operationId } = await ctx.driver.register(benchTip(ctx.runId, index, LIFECYCLE_CATEGORIES), { ...LIFECYCLE_CONFIG, assessmentDeadline });
  return operationId;
}
