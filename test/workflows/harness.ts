import { randomUUID } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { DeliveryBatch, DeliveryResult } from '../../activities/index.js';
import { defaultBehaviour, type AgencyBehaviour } from '../../agencies/index.js';
import {
  CoordinatorData,
  OutboundData,
  SteeringData,
  Tip,
  answerEventId,
  bytesToBase64Url,
  describeIssues,
  signedBatchBytes,
  decisionSigningBytes,
  type Author,
  type SignedDecision,
  type AgencyAnswer,
  type AgencyId,
  type Correlation,
  type InboundEventName,
  type OperationConfigInput,
  type OperationState,
  type OutboundEventName,
  type Stage,
  type TipInput,
} from '../../domain/index.js';
import { executeSigned } from '../../api/engine.js';
import { agencyAnswersUpdate, scheduleUpdate, searchAttributes, type OperationInput } from '../../workflows/definitions.js';
import type { losOperation } from '../../workflows/index.js';
import { UMEA_COORDINATOR, eventually, sampleTip, untilState } from '../engine.js';
import { installTestRuntime } from '../runtime.js';

/**
 * The workflow tier: the operation workflow on the run's real Temporal dev server (TestWorkflowEnvironment on the
 * dev-server binary the scripts found), with a worker in this process whose `deliver` activity records each
 * fan-out instead of publishing it, and agencies that answer in process, signed as the bridge signs. No
 * nats-server, no bridge, no codec: what is tested is the workflow's stages, deadlines and fan-outs.
 *
 * Time is real: the dev server has no time skipping (the Java time-skipping test server cannot be fetched
 * here), so deadlines are short (hundreds of milliseconds to seconds) and tests wait on stages, never on text.
 */

/** One event as the recipient would get it, in the order the operation sent it. */
export interface Sent {
  operationId: string;
  to: AgencyId | 'steering_group' | 'coordinator';
  event: string;
  eventId: string;
  data: Record<string, unknown>;
  /** The operation's own clock when the fan-out went out (workflow time). */
  time: string;
  /** Which fan-out of the operation carried it (0-based). */
  fanout: number;
}

export type Behaviours = Partial<Record<AgencyId, AgencyBehaviour>>;

export interface WorkflowTier {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  /** Starts an operation as the typed client does (same start input), with these agency behaviours. */
  start(options?: {
    tip?: Partial<TipInput>;
    config?: OperationConfigInput;
    agencies?: Behaviours;
    /** The pseudonymous entity reference the typed client sets at start. */
    entityRef?: string;
    /** Who registered the tip, as the API names them in the start input. */
    author?: Author;
  }): Promise<WorkflowHandle<typeof losOperation>>;
  /** A decision signed with this tier's API key (as the API signs it); by default as Umeå's coordinator, now. */
  sign<D>(operationId: string, update: UpdateDefinition<unknown, [SignedDecision<D>]> | string, decision: D, author?: Author, at?: Date): SignedDecision<D>;
  /** Signs and sends a decision as the typed client does (waiting out the operation's first moments). */
  decide<R, D>(handle: WorkflowHandle, update: UpdateDefinition<R, [SignedDecision<D>]>, decision: D, author?: Author): Promise<R>;
  /**
   * Schedules the joint action a moment from now (300 ms), as soon as the test can: a loaded machine may take longer
   * than that to bring the decision to the operation, whose validator then refuses a time in the past; the test sends it
   * again a little further ahead, as a coordinator would.
   */
  scheduleSoon(handle: WorkflowHandle, where: { place: string; lead: AgencyId }): Promise<unknown>;
  /** The API's private key of this tier, for a test that signs something the API would not. */
  apiSecretKey: Uint8Array;
  /** Every event delivered for the operation, each once (a retried fan-out's events are stored once, as JetStream does). */
  sent(operationId: string): Sent[];
  /** Event ids a new fan-out (not a retry of one) asked to deliver again: an operation that repeats itself. */
  repeated(operationId: string): string[];
  /** Event names each recipient got, in order. */
  receivedBy(operationId: string): Partial<Record<string, string[]>>;
  /** The fan-outs that arranged the operation's erasure. */
  erasures(operationId: string): NonNullable<DeliveryBatch['erasure']>[];
  /** Answers the in-process agencies sent that the operation refused, with the reason. */
  refused(operationId: string): string[];
  /** One agency's answer to a request it was sent, signed as the bridge signs, handed over as one batch. */
  answer<E extends InboundEventName>(
    operationId: string,
    agency: AgencyId,
    name: E,
    data: Record<string, unknown> & { correlation: Correlation },
  ): Promise<unknown>;
  /** The operation's deliveries once `test` holds of them (a stage moves before its fan-out has gone out). */
  untilSent(operationId: string, test: (sent: Sent[]) => boolean): Promise<Sent[]>;
  untilStage(handle: WorkflowHandle<typeof losOperation>, stage: Stage | ((state: OperationState) => boolean)): Promise<OperationState>;
  /** The durable timers the operation has started, by summary, with the duration each was set for. */
  timers(handle: WorkflowHandle<typeof losOperation>): Promise<{ summary: string; ms: number }[]>;
  /** The worker goes away (shut down): the operation's timers fire on the server and its tasks wait for a worker. */
  stopWorker(): Promise<void>;
  /** A new worker on the tier's task queue, after stopWorker. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The answer an agency of this behaviour gives to a request event, as the simulated agency systems give it. */
function answerTo(
  event: string,
  data: Record<string, unknown>,
  behaviour: AgencyBehaviour,
): { name: InboundEventName; data: Record<string, unknown> } | undefined {
  const correlation = data.correlation;
  switch (event) {
    case 'mandate_requested': {
      if (!behaviour.mandate.accept) return { name: 'mandate_declined', data: { correlation, reason: behaviour.mandate.reason } };
      const tools = data.tools as string[];
      return {
        name: 'mandate_accepted',
        data: { correlation, tools: tools.length > 0 ? tools : ['general_supervision'], contactFunction: behaviour.mandate.contactFunction },
      };
    }
    case 'information_requested':
      return { name: 'information_provided', data: { correlation, answer: 'Registered activity matches; no open cases.' } };
    case 'briefing':
      return { name: 'readiness_confirmed', data: { correlation, staff: 2 } };
    case 'findings_requested': {
      const findings = behaviour.findings ?? { text: 'Inspection carried out; nothing to remark.', sanctions: [] };
      return { name: 'findings_reported', data: { correlation, findings: findings.text, sanctions: findings.sanctions } };
    }
    case 'outcome_requested':
      return { name: 'outcome_reported', data: { correlation, outcomes: behaviour.outcomes?.length ? behaviour.outcomes : [{ kind: 'none' }] } };
    default:
      return undefined;
  }
}

/** The schema the recipient's contract gives this event, as the real notify activity routes it. */
function contractOf(to: Sent['to'], event: string) {
  if (to === 'steering_group') return SteeringData[event as keyof typeof SteeringData];
  if (to === 'coordinator') return CoordinatorData[event as keyof typeof CoordinatorData];
  return OutboundData[event as OutboundEventName];
}

export async function startWorkflowTier(name: string): Promise<WorkflowTier> {
  installTestRuntime();
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  const taskQueue = `los-workflow-tier-${name}-${process.pid}`;
  const secretKey = ed25519.utils.randomSecretKey();
  const bridgeKey = bytesToBase64Url(ed25519.getPublicKey(secretKey));
  const apiSecretKey = ed25519.utils.randomSecretKey();
  const apiKey = bytesToBase64Url(ed25519.getPublicKey(apiSecretKey));
  const signDecisionAs = <D>(
    operationId: string,
    update: { name: string } | string,
    decision: D,
    author: Author = UMEA_COORDINATOR,
    at = new Date(),
  ): SignedDecision<D> => {
    const envelope = {
      update: typeof update === 'string' ? update : update.name,
      operationId,
      decision,
      author,
      issuedAt: at.toISOString(),
      nonce: bytesToBase64Url(ed25519.utils.randomSecretKey()).slice(0, 24),
    };
    return { ...envelope, signature: bytesToBase64Url(ed25519.sign(decisionSigningBytes(envelope), apiSecretKey)) };
  };
  const sign = (answers: AgencyAnswer[]) => ({ answers, signature: bytesToBase64Url(ed25519.sign(signedBatchBytes(answers), secretKey)) });

  const sent: Sent[] = [];
  const deliveredIds = new Set<string>();
  const fanouts = new Map<string, number>();
  const erasures = new Map<string, NonNullable<DeliveryBatch['erasure']>[]>();
  const refusals = new Map<string, string[]>();
  const repeats = new Map<string, string[]>();
  const behaviours = new Map<string, Behaviours>();
  const handles: WorkflowHandle<typeof losOperation>[] = [];
  const inFlight = new Set<Promise<unknown>>();

  const handOver = async (operationId: string, answers: AgencyAnswer[]) => {
    try {
      return await env.client.workflow.getHandle<typeof losOperation>(operationId).executeUpdate(agencyAnswersUpdate, { args: [sign(answers)] });
    } catch (err) {
      const reason = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      refusals.set(operationId, [...(refusals.get(operationId) ?? []), reason]);
      return undefined;
    }
  };

  const toAnswer = (agency: AgencyId, name: InboundEventName, data: Record<string, unknown> & { correlation: Correlation }): AgencyAnswer =>
    ({ eventId: answerEventId(agency, data.correlation, name), agency, name, receivedAt: new Date().toISOString(), data }) as AgencyAnswer;

  /** Records the fan-out and checks each payload against the recipient's contract, as the real activity does before publishing. */
  async function deliver(batch: DeliveryBatch): Promise<DeliveryResult | undefined> {
    for (const e of batch.events) {
      const parsed = contractOf(e.to, e.event)?.safeParse(e.data);
      if (!parsed?.success)
        throw ApplicationFailure.nonRetryable(`${e.event} payload breaks the contract: ${parsed ? describeIssues(parsed.error) : 'no such event'}`);
    }
    const fanout = fanouts.get(batch.operationId) ?? 0;
    fanouts.set(batch.operationId, fanout + 1);
    if (batch.erasure) erasures.set(batch.operationId, [...(erasures.get(batch.operationId) ?? []), batch.erasure]);
    const retry = Context.current().info.attempt > 1;
    const receipts = batch.events.map((e) => {
      const duplicate = deliveredIds.has(e.eventId);
      if (duplicate && !retry) repeats.set(batch.operationId, [...(repeats.get(batch.operationId) ?? []), e.eventId]);
      if (!duplicate) {
        deliveredIds.add(e.eventId);
        sent.push({
          operationId: batch.operationId,
          to: e.to,
          event: e.event,
          eventId: e.eventId,
          data: e.data as Record<string, unknown>,
          time: batch.time,
          fanout,
        });
      }
      return duplicate;
    });
    const duplicates = receipts.flatMap((duplicate, i) => (duplicate ? [i] : []));
    // The agencies answer what they were asked, after the fan-out, as their systems would over NATS.
    const answers: AgencyAnswer[] = [];
    for (const e of batch.events) {
      if (e.to === 'steering_group' || e.to === 'coordinator') continue;
      const behaviour = behaviours.get(batch.operationId)?.[e.to] ?? defaultBehaviour(e.to);
      if ((behaviour.ignore ?? []).includes(e.event as never)) continue;
      const reply = answerTo(e.event, e.data as Record<string, unknown>, behaviour);
      if (reply) answers.push(toAnswer(e.to, reply.name, reply.data as Record<string, unknown> & { correlation: Correlation }));
    }
    if (answers.length > 0) {
      const later = new Promise((resolve) => setTimeout(resolve, 0)).then(() => handOver(batch.operationId, answers));
      inFlight.add(later);
      void later.finally(() => inFlight.delete(later));
    }
    return duplicates.length > 0 ? { duplicates } : undefined;
  }

  const startWorker = async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: { deliver, engineKeys: async () => ({ bridgeKey, apiKey }) },
    });
    return { worker, running: worker.run() };
  };
  let current: Awaited<ReturnType<typeof startWorker>> | undefined = await startWorker();
  const stopWorker = async () => {
    const stopping = current;
    current = undefined;
    if (!stopping) return;
    stopping.worker.shutdown();
    await stopping.running;
  };

  return {
    env,
    taskQueue,
    async start({ tip, config = {}, agencies = {}, entityRef, author } = {}) {
      const plain = Tip.parse(sampleTip(tip)) as OperationInput['tip'];
      const operationId = `los-${plain.entity.municipality.toLowerCase()}-wf-${randomUUID().slice(0, 18)}`;
      behaviours.set(operationId, agencies);
      const handle = await env.client.workflow.start<typeof losOperation>('losOperation', {
        workflowId: operationId,
        taskQueue,
        args: [{ tip: plain, config, ...(author ? { author } : {}) } as unknown as OperationInput],
        ...(entityRef ? { typedSearchAttributes: [{ key: searchAttributes.entityRef, value: entityRef }] } : {}),
      });
      handles.push(handle);
      return handle;
    },
    sign: signDecisionAs,
    decide: (handle, update, decision, author) => executeSigned(handle, update, () => signDecisionAs(handle.workflowId, update, decision, author)),
    async scheduleSoon(handle, where) {
      for (let leadMs = 300; ; leadMs *= 2) {
        const decision = { at: new Date(Date.now() + leadMs).toISOString(), ...where };
        try {
          return await executeSigned(handle, scheduleUpdate, () => signDecisionAs(handle.workflowId, scheduleUpdate, decision));
        } catch (err) {
          const past = err instanceof WorkflowUpdateFailedError && /is not in the future/.test(String(err.cause?.message));
          if (!past || leadMs >= 10_000) throw err;
        }
      }
    },
    apiSecretKey,
    sent: (operationId) => sent.filter((e) => e.operationId === operationId),
    repeated: (operationId) => repeats.get(operationId) ?? [],
    receivedBy(operationId) {
      const out: Partial<Record<string, string[]>> = {};
      for (const e of sent) if (e.operationId === operationId) (out[e.to] ??= []).push(e.event);
      return out;
    },
    erasures: (operationId) => erasures.get(operationId) ?? [],
    refused: (operationId) => refusals.get(operationId) ?? [],
    answer: (operationId, agency, name, data) => handOver(operationId, [toAnswer(agency, name, data)]),
    untilSent: (operationId, test) => eventually(async () => sent.filter((e) => e.operationId === operationId), test, 20_000),
    untilStage: (handle, stage) => untilState(handle, typeof stage === 'function' ? stage : (s) => s.stage === stage, 20_000),
    async timers(handle) {
      const { events } = await handle.fetchHistory();
      return (events ?? []).flatMap((e) => {
        const timer = e.timerStartedEventAttributes;
        if (!timer) return [];
        const summary = e.userMetadata?.summary?.data ? (JSON.parse(new TextDecoder().decode(e.userMetadata.summary.data)) as string) : '';
        const { seconds, nanos } = timer.startToFireTimeout ?? {};
        return [{ summary, ms: Number(seconds ?? 0) * 1000 + Math.round((nanos ?? 0) / 1e6) }];
      });
    },
    stopWorker,
    async startWorker() {
      current ??= await startWorker();
    },
    async stop() {
      await Promise.allSettled([...inFlight]);
      for (const handle of handles) await handle.terminate('workflow tier done').catch(() => undefined);
      await stopWorker();
      await env.teardown();
    },
  };
}
