import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import { publishCloudEvent } from '../messaging/index.js';
import { ErasedError, type KeyStore } from '../vault/index.js';
import type { eraseOperationData } from '../workflows/erasure.js';
import { FailureType } from '../workflows/failures.js';
import {
  containsSealed,
  CoordinatorData,
  describeIssues,
  OutboundData,
  SOURCES,
  SteeringData,
  SUBJECTS,
  erasureWorkflowId,
  type AgencyId,
  type OutboundEventName,
} from '../domain/index.js';

/** One event of a fan-out, fully decided by the workflow. */
export interface Delivery {
  /** An agency, or the steering group, or the municipality's coordinator. */
  to: AgencyId | 'steering_group' | 'coordinator';
  event: string;
  /** Deterministic: the CloudEvent id and the Nats-Msg-Id, so a retried batch stores each event once. */
  eventId: string;
  data: unknown;
}

/** One fan-out: the events one step of an operation sends, delivered by one activity. */
export interface DeliveryBatch {
  operationId: string;
  municipality: string;
  time: string;
  events: Delivery[];
  /**
   * Sent with an ended operation's final fan-out: the activity starts the operation's erasure workflow with a
   * start delay until `eraseAt` (a durable timer in the Temporal server), so an ending costs no child workflow.
   */
  erasure?: { retention: string; eraseAt: string };
}

export interface DeliveryResult {
  /**
   * The positions (in `events`) of the events JetStream had already stored: a retry, not a second event. Left
   * out when there are none, as in almost every fan-out: the result is kept in the history.
   */
  duplicates?: number[];
}

/**
 * What the notify activity needs of the key store: unsealing, just before the contract check, and noting an
 * ended operation's erasure date on its data key. (The workflow reads the engine's public keys by its own local
 * activity, `engineKeys`.)
 */
export type Unsealer = Pick<KeyStore, 'unsealDeep' | 'markErasureDue'>;

/** For a publisher without keys (tests of delivery): plaintext passes, a sealed value is refused. */
export const PLAINTEXT_ONLY: Unsealer = {
  async unsealDeep<T>(value: T): Promise<T> {
    if (containsSealed(value))
      throw ApplicationFailure.nonRetryable('cannot notify: the event holds sealed data and this process has no key store', FailureType.NoKeys);
    return value;
  },
  // No key store, so no data key to erase.
  async markErasureDue(): Promise<void> {},
};

export function createNotifyActivities(js: JetStreamClient, keys: Unsealer) {
  /** One event; `duplicate` when JetStream had already stored its id: a retry, not a second event. */
  const publish = async (subject: string, name: string, batch: DeliveryBatch, eventId: string, data: unknown): Promise<{ duplicate: boolean }> => {
    const ack = await publishCloudEvent(js, subject, {
      id: eventId,
      source: SOURCES.municipality(batch.municipality),
      name,
      subject: batch.operationId,
      time: batch.time,
      data,
    });
    return { duplicate: ack.duplicate };
  };

  const unsealed = async (data: unknown) => {
    try {
      return await keys.unsealDeep(data);
    } catch (err) {
      if (err instanceof ErasedError)
        throw ApplicationFailure.nonRetryable(`cannot notify: the operation's personal data was ${err.message}`, FailureType.Erased);
      throw err;
    }
  };

  // A payload that breaks the contract is a bug in the engine: retrying cannot fix it.
  const checked = async (event: string, schema: z.ZodType, data: unknown): Promise<unknown> => {
    // The workflow holds personal fields sealed; an agency receives them in plaintext on its own subject.
    const parsed = schema.safeParse(await unsealed(data));
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(`${event} payload breaks the contract: ${describeIssues(parsed.error)}`, FailureType.ContractViolation);
    return parsed.data;
  };

  const route = (delivery: Delivery): { subject: string; name: string; schema: z.ZodType } => {
    if (delivery.to === 'steering_group') {
      const event = delivery.event as keyof typeof SteeringData;
      return { subject: SUBJECTS.toSteeringGroup(event), name: `steering_${event}`, schema: SteeringData[event] };
    }
    if (delivery.to === 'coordinator') {
      const event = delivery.event as keyof typeof CoordinatorData;
      return { subject: SUBJECTS.toCoordinator(event), name: `coordinator_${event}`, schema: CoordinatorData[event] };
    }
    const event = delivery.event as OutboundEventName;
    return { subject: SUBJECTS.toAgency(delivery.to, event), name: event, schema: OutboundData[event] };
  };

  /**
   * Notes the erasure date on the data key (what the erasure reconciliation goes by, should this workflow never
   * finish), then starts the erasure workflow, asleep until it is due; a retry finds it started and leaves it be.
   */
  const arrangeErasure = async (operationId: string, { retention, eraseAt }: NonNullable<DeliveryBatch['erasure']>) => {
    await keys.markErasureDue(operationId, eraseAt);
    const { client, info } = Context.current();
    const delayMs = Date.parse(eraseAt) - Date.now();
    try {
      await client.workflow.start<typeof eraseOperationData>('eraseOperationData', {
        taskQueue: info.taskQueue,
        workflowId: erasureWorkflowId(operationId),
        // Once per operation, even when a late retry comes after the erasure has run.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ operationId, retention, eraseAt }],
        ...(delayMs > 0 ? { startDelay: delayMs } : {}),
        staticSummary: `erases ${operationId}'s personal data at ${eraseAt}`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };

  return {
    /**
     * Publishes one fan-out. Every payload is checked before anything is sent, so a contract breach sends
     * nothing; the publishes then go out together. A retry after a partial failure republishes the batch,
     * and JetStream stores only the events it has not stored yet (same Nats-Msg-Id), so nobody gets one twice.
     */
    async deliver(batch: DeliveryBatch): Promise<DeliveryResult | undefined> {
      const routed = await Promise.all(
        batch.events.map(async (delivery) => {
          const { subject, name, schema } = route(delivery);
          if (!schema) throw ApplicationFailure.nonRetryable(`${delivery.event} is not an event for ${delivery.to}`, FailureType.ContractViolation);
          return { subject, name, delivery, data: await checked(delivery.event, schema, delivery.data) };
        }),
      );
      const receipts = await Promise.all(routed.map(({ subject, name, delivery, data }) => publish(subject, name, batch, delivery.eventId, data)));
      if (batch.erasure) await arrangeErasure(batch.operationId, batch.erasure);
      const duplicates = receipts.flatMap((receipt, i) => (receipt.duplicate ? [i] : []));
      // Nothing to report, as in almost every fan-out: `undefined`, which the codec stores without encrypting.
      return duplicates.length > 0 ? { duplicates } : undefined;
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
