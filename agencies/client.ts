import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import {
  ANSWER_TO,
  answerEventId,
  CloudEvent,
  describeIssues,
  InboundData,
  OutboundData,
  SOURCES,
  SUBJECTS,
  type AgencyId,
  type Correlation,
  type InboundDataOf,
  type InboundEventName,
  type OutboundDataOf,
  type OutboundEventName,
  type Outcome,
} from '../domain/index.js';
import { isNotSetUpYet, publishCloudEvent, waitOutElection } from '../messaging/index.js';

/**
 * The client an agency system uses to take part in LOS: it reads the agency's own events through its own
 * durable consumer and answers as itself. A message is acknowledged only after the handler succeeded, so a
 * crash in the agency system means redelivery, not loss.
 */

export interface ReceivedEvent<E extends OutboundEventName = OutboundEventName> {
  id: string;
  name: E;
  operationId: string;
  time: string;
  data: OutboundDataOf<E>;
  /** How many times JetStream has delivered this message (1 the first time). */
  deliveryCount: number;
}

export type EventHandler<E extends OutboundEventName> = (event: ReceivedEvent<E>, agency: AgencyClient) => Promise<void> | void;

/** The agency's NKEY seed (`SU…`), given to it when its account was set up; the server holds only the public key. */
export interface AgencyCredentials {
  nkeySeed: string;
}

export interface ConnectAgencyOptions {
  agency: AgencyId;
  servers: string | string[];
  credentials?: AgencyCredentials;
  /** Delay before a message whose handler failed is offered again. */
  retryDelayMs?: number;
  /**
   * Where the agency's JetStream calls go.
   * @default SUBJECTS.agencyApiPrefix ("LOS.API") with credentials (an account of its own); "$JS.API" without (a dev server without accounts)
   */
  apiPrefix?: string;
  /** TLS, e.g. `{ caFile }` naming the CA that signed the server's certificate (required for `tls://`). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Told once, when `start` finds the engine's stream or this agency's consumer not there yet and waits for it. */
  onWaiting?: (why: string) => void;
}

/** How often `start` looks again for the stream and consumer the engine has not created yet. */
const SET_UP_POLL_MS = 2_000;

/** The received request an answer of kind `A` replies to, e.g. `RequestFor<'mandate_accepted'>`. */
export type RequestFor<A extends InboundEventName> = ReceivedEvent<(typeof ANSWER_TO)[A]>;

/** What the agency itself contributes to an answer; the correlation always comes from the request. */
export type AnswerFields<A extends InboundEventName> = Omit<InboundDataOf<A>, 'correlation'>;

export interface AgencyClient {
  readonly agency: AgencyId;
  on<E extends OutboundEventName>(event: E, handler: EventHandler<E>): AgencyClient;
  /** Starts reading the agency's events; handlers should be registered first. */
  start(): Promise<void>;
  /** The low-level send; prefer the reply helpers below, which copy the correlation from the request. */
  answer<E extends InboundEventName>(event: E, operationId: string, data: InboundDataOf<E>): Promise<void>;
  /** Takes part in the operation, naming the legal tools the agency brings and a contact function. */
  accept(request: RequestFor<'mandate_accepted'>, fields: AnswerFields<'mandate_accepted'>): Promise<void>;
  /** Declines the mandate; the reason goes onto the operation's timeline. */
  decline(request: RequestFor<'mandate_declined'>, reason: string): Promise<void>;
  provideInformation(request: RequestFor<'information_provided'>, answer: string): Promise<void>;
  confirmReadiness(request: RequestFor<'readiness_confirmed'>, fields?: AnswerFields<'readiness_confirmed'>): Promise<void>;
  reportFindings(request: RequestFor<'findings_reported'>, fields: AnswerFields<'findings_reported'>): Promise<void>;
  reportOutcome(request: RequestFor<'outcome_reported'>, outcomes: Outcome[]): Promise<void>;
  close(): Promise<void>;
}

export async function connectAgency(options: ConnectAgencyOptions): Promise<AgencyClient> {
  const connectOptions: NodeConnectionOptions = {
    servers: options.servers,
    name: `los-agency-${options.agency}`,
    // Each agency user may only subscribe to its own inbox prefix.
    inboxPrefix: SUBJECTS.inboxPrefix(options.agency),
    // An agency system runs for years: it rides out nats-server restarts and upgrades rather than giving up.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...(options.credentials ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(options.credentials.nkeySeed)) } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  };
  const nc: NatsConnection = await connect(connectOptions);
  // Through the agency's account, whose imports carry exactly its own consumer's calls under this prefix.
  const js = jetstream(nc, { apiPrefix: options.apiPrefix ?? (options.credentials ? SUBJECTS.agencyApiPrefix : '$JS.API') });
  const handlers = new Map<OutboundEventName, EventHandler<OutboundEventName>>();
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;

  let closed = false;

  /**
   * The agency's consumer on LOS_OUT, once there. Started while the cluster elects a leader, it waits the election
   * out; started before the engine has created its streams and consumers (a first deployment, an agency system
   * brought up first), it waits for them, as it waits for nats-server itself, until closed.
   */
  const consumerWhenSetUp = async (): Promise<Consumer | undefined> => {
    let told = false;
    while (!closed) {
      try {
        return await waitOutElection(() => js.consumers.get(SUBJECTS.streamOut, SUBJECTS.agencyConsumer(options.agency)));
      } catch (err) {
        if (!isNotSetUpYet(err)) throw err;
        if (!told) options.onWaiting?.(`waiting for the engine to create ${SUBJECTS.streamOut} and consumer ${SUBJECTS.agencyConsumer(options.agency)}`);
        told = true;
        await new Promise((resolveLater) => setTimeout(resolveLater, SET_UP_POLL_MS));
      }
    }
    return undefined;
  };

  const reply = <A extends InboundEventName>(answer: A, request: RequestFor<A>, fields: AnswerFields<A>): Promise<void> => {
    // The types already forbid a mismatch; this guards callers in plain JavaScript or with widened types.
    if (request.name !== ANSWER_TO[answer]) {
      return Promise.reject(new Error(`${answer} answers a ${ANSWER_TO[answer]} event, not ${request.name} (event ${request.id})`));
    }
    const correlation = (request.data as { correlation: Correlation }).correlation;
    // Correlation last, so no extra field can override it; its operationId is what the bridge checks the subject against.
    const data = { ...fields, correlation } as InboundDataOf<A>;
    return client.answer(answer, correlation.operationId, data);
  };

  const client: AgencyClient = {
    agency: options.agency,
    on(event, handler) {
      handlers.set(event, handler as unknown as EventHandler<OutboundEventName>);
      return client;
    },
    async start() {
      const consumer = await consumerWhenSetUp();
      if (consumer === undefined) return; // closed while waiting
      messages = await consumer.consume({ max_messages: 64 });
      loop = (async () => {
        for await (const msg of messages!) await deliver(msg);
      })();
    },
    async answer(event, operationId, data) {
      const parsed = InboundData[event].safeParse(data);
      if (!parsed.success) throw new Error(`${event} rejected before sending: ${describeIssues(parsed.error, data)}`);
      const correlation = (parsed.data as { correlation: Correlation }).correlation;
      // Deterministic id: an answer sent twice (say, after a crash) is the same event, applied once.
      await publishCloudEvent(js, SUBJECTS.fromAgency(options.agency, event), {
        id: answerEventId(options.agency, correlation, event),
        source: SOURCES.agency(options.agency),
        name: event,
        subject: operationId,
        time: new Date().toISOString(),
        data: parsed.data,
      });
    },
    accept: (request, fields) => reply('mandate_accepted', request, fields),
    decline: (request, reason) => reply('mandate_declined', request, { reason }),
    provideInformation: (request, answer) => reply('information_provided', request, { answer }),
    confirmReadiness: (request, fields = {}) => reply('readiness_confirmed', request, fields),
    reportFindings: (request, fields) => reply('findings_reported', request, fields),
    reportOutcome: (request, outcomes) => reply('outcome_reported', request, { outcomes }),
    async close() {
      closed = true;
      messages?.stop();
      await loop?.catch(() => undefined);
      await nc.drain();
    },
  };

  const deliver = async (msg: JsMsg) => {
    const name = msg.subject.split('.').pop() as OutboundEventName;
    const schema = OutboundData[name];
    const envelope = CloudEvent.safeParse(safeJson(msg.data));
    const data = schema && envelope.success ? schema.safeParse(envelope.data.data) : undefined;
    if (!schema || !envelope.success || !data?.success) {
      // The engine sent something this client cannot read: keep it for a person instead of guessing. The
      // reason (field paths only, no values) reaches the engine's dead letter through the terminate advisory.
      const why = !schema
        ? `no schema for event "${name}"`
        : !envelope.success
          ? `envelope: ${describeIssues(envelope.error)}`
          : `data: ${describeIssues(data!.error!)}`;
      msg.term(`unreadable: ${why}`.slice(0, 1_000));
      return;
    }
    const handler = handlers.get(name);
    if (!handler) {
      msg.ack();
      return;
    }
    try {
      await handler(
        { id: envelope.data.id, name, operationId: envelope.data.subject, time: envelope.data.time, data: data.data, deliveryCount: msg.info.deliveryCount },
        client,
      );
      msg.ack();
    } catch {
      msg.nak(options.retryDelayMs ?? 2_000);
    }
  };

  return client;
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
