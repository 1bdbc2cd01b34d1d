/**
 * Generates the published agency event contract from the zod schemas in domain/events.ts, the one source of
 * truth: `schemas/<event type>.json` for every event's `data`, `schemas/cloudevent-envelope.json`, and
 * `asyncapi.yaml`. Agencies build against these files, so they are checked in and must never be edited.
 *
 * Also the HTTP API's `openapi.json`, generated from its routes' zod schemas (api/).
 *
 *   npx tsx scripts/generate-contract.ts          writes the files
 *   npx tsx scripts/generate-contract.ts --check  writes nothing; exits 1 naming every stale file
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  ANSWER_TO,
  AGENCY_IDS,
  DEAD_LETTERED_REASONS,
  NotAppliedReason,
  REQUESTS,
  CLOUDEVENT_CONTENT_TYPE,
  CloudEvent,
  InboundData,
  OutboundData,
  SUBJECTS,
  SteeringData,
  CoordinatorData,
  eventType,
  type InboundEventName,
  type OutboundEventName,
} from '../domain/index.js';
import { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER } from '../workers/bridge.js';
import {
  DEFAULT_ACCOUNT_LIMITS,
  DEFAULT_INBOUND_QUOTA,
  DEFAULT_RETENTION,
  MAX_MSG_SIZE,
  agencyPermissions,
  deadLettersPerSubject,
} from '../messaging/index.js';
import { openApiDocument } from '../api/index.js';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const REGENERATE_COMMAND = 'npx tsx scripts/generate-contract.ts';
export const SCHEMAS_DIR = 'schemas';
export const ENVELOPE_SCHEMA_FILE = `${SCHEMAS_DIR}/cloudevent-envelope.json`;
export const ASYNCAPI_FILE = 'asyncapi.yaml';
/** The HTTP API's OpenAPI document, as GET /v1/openapi.json serves it. */
export const OPENAPI_FILE = 'openapi.json';

const GENERATED_NOTE = `Generated from domain/events.ts by scripts/generate-contract.ts; do not edit. Regenerate with: ${REGENERATE_COMMAND}`;

type SteeringEventName = keyof typeof SteeringData;
type CoordinatorEventName = keyof typeof CoordinatorData;

// Typed over every event name, so adding an event without saying what it means fails the typecheck.
const OUTBOUND_SUMMARY: Record<OutboundEventName, string> = {
  mandate_requested:
    'The agency is asked whether its legal tools apply. Need to know: it carries only entity, categories, municipality, the tools of its own that apply, and answerBy.',
  information_requested: 'The coordinator asks the agency a question before deciding on the tip.',
  briefing:
    'The joint action is planned: time (as an instant and as Stockholm wall time), place, lead agency, participants and the description. Only agencies that accepted get it.',
  tip_corrected:
    'The coordinator corrected the tip. Need to know: an agency hears only of the fields it already holds (name and address, or the urgency once briefed).',
  action_started: 'The joint action has started at its scheduled time.',
  action_rescheduled: 'The joint action has a new time or place, with the reason.',
  action_called_off: 'The joint action will not take place, with the reason.',
  reminder: 'An open request is nearly due. Answering the original request is enough.',
  second_wave_notice: 'Follow-up: an agency that was not on site hears of the operation, with the minimum data only.',
  findings_requested: 'After the action: report findings and sanctions by reportBy.',
  outcome_requested: 'Follow-up: report what the control led to by reportBy.',
  operation_closed: 'The coordinator closed the operation, with an outcome summary.',
  operation_cancelled: 'The operation was cancelled, with the reason.',
  answer_not_applied:
    'One of your answers was not applied, with its id, its sequence in your intake and why: invalid, unknown_operation, operation_closed, no_matching_request, conflicting (the first answer to the request stands) or late.',
};
const STEERING_SUMMARY: Record<SteeringEventName, string> = {
  deadline_missed: 'A deadline passed with a decision or answers still owed; the LOS steering group is told.',
};
const COORDINATOR_SUMMARY: Record<CoordinatorEventName, string> = {
  decision_due: "A decision the coordinator owes is nearly due (at the reminder fraction of its deadline); the municipality's LOS coordinator is reminded.",
};
const INBOUND_SUMMARY: Record<InboundEventName, string> = {
  mandate_accepted: 'The agency takes part, naming the legal tools it brings and a contact function (a function, never a person).',
  mandate_declined: 'The agency does not take part, with a reason.',
  information_provided: 'The agency answers an information request.',
  readiness_confirmed: 'The agency is ready for the joint action, optionally with how many staff it sends.',
  findings_reported: 'What the agency found on site, and any sanctions already decided.',
  outcome_reported: 'What the control led to in the end: at least one outcome, kind "none" if nothing.',
};

type Direction = 'to_agency' | 'to_steering_group' | 'to_coordinator' | 'from_agency';

/** One event of the contract, as it appears on the wire. */
export interface ContractEvent {
  /** The name used in the subject and in domain/events.ts, e.g. `mandate_requested`. */
  name: string;
  /** The CloudEvents `type`, e.g. `se.los.mandate.requested.v1`; also the schema file's name. */
  type: string;
  direction: Direction;
  /** The subject, with `{agency}` where the agency id goes. */
  address: string;
  schema: z.ZodObject;
  summary: string;
}

function entries<K extends string, V>(record: Record<K, V>): [K, V][] {
  return Object.entries(record) as [K, V][];
}

/**
 * What tells the directions apart on the wire. activities/notify.ts names the steering and coordinator event
 * types `steering_<name>` and `coordinator_<name>`; the subject keeps the bare name.
 */
const MESSAGE_PREFIX: Record<Direction, string> = { to_agency: '', to_steering_group: 'steering_', to_coordinator: 'coordinator_', from_agency: '' };
const ADDRESS: Record<Direction, (name: string) => string> = {
  to_agency: (name) => SUBJECTS.toAgency('{agency}', name),
  to_steering_group: (name) => SUBJECTS.toSteeringGroup(name),
  to_coordinator: (name) => SUBJECTS.toCoordinator(name),
  from_agency: (name) => SUBJECTS.fromAgency('{agency}', name),
};

function eventsOf<K extends string>(data: Record<K, z.ZodObject>, direction: Direction, summaries: Record<K, string>): ContractEvent[] {
  return entries(data).map(([name, schema]) => ({
    name,
    type: eventType(`${MESSAGE_PREFIX[direction]}${name}`),
    direction,
    address: ADDRESS[direction](name),
    schema,
    summary: summaries[name],
  }));
}

/** Every event in the contract, in the order domain/events.ts declares them. */
export function contractEvents(): ContractEvent[] {
  return [
    ...eventsOf(OutboundData, 'to_agency', OUTBOUND_SUMMARY),
    ...eventsOf(SteeringData, 'to_steering_group', STEERING_SUMMARY),
    ...eventsOf(CoordinatorData, 'to_coordinator', COORDINATOR_SUMMARY),
    ...eventsOf(InboundData, 'from_agency', INBOUND_SUMMARY),
  ];
}

export function schemaFileFor(type: string): string {
  return `${SCHEMAS_DIR}/${type}.json`;
}

// JSON Schema keywords in a fixed order, so a zod upgrade that only reorders its output changes no file.
const KEYWORD_ORDER = [
  '$schema',
  '$id',
  '$comment',
  '$ref',
  'title',
  'description',
  'type',
  'const',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'items',
  'minItems',
  'maxItems',
  'properties',
  'required',
  'additionalProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'default',
  'examples',
];
// Under these keywords the keys are field names: they keep the order events.ts declares them in.
const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);

function keywordRank(key: string): number {
  const rank = KEYWORD_ORDER.indexOf(key);
  return rank === -1 ? KEYWORD_ORDER.length : rank;
}

function canonical(value: unknown, keysAreNames = false): unknown {
  if (Array.isArray(value)) return value.map((item) => canonical(item));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (!keysAreNames) keys.sort((a, b) => keywordRank(a) - keywordRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = canonical((value as Record<string, unknown>)[key], !keysAreNames && NAME_MAPS.has(key));
  return out;
}

/**
 * Each schema describes what the receiving side's parser accepts (zod's input): unknown fields are allowed
 * and fields with a default may be left out, so a reader that validates with it is as tolerant as ours.
 * Draft-07 because it is what AsyncAPI 3.0 schemas build on.
 */
function jsonSchemaOf(schema: z.ZodType, title: string, description: string): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' });
  return canonical({ ...generated, $comment: GENERATED_NOTE, title, description }) as Record<string, unknown>;
}

function dataSchemaOf(event: ContractEvent): Record<string, unknown> {
  return jsonSchemaOf(event.schema, event.type, `The data of a ${event.type} event, on ${event.address}. ${event.summary}`);
}

function envelopeSchema(): Record<string, unknown> {
  return jsonSchemaOf(
    CloudEvent,
    'LOS CloudEvent envelope',
    'CloudEvents 1.0, structured mode: every LOS event is one JSON object with these attributes; data is described by the schema named in dataschema.',
  );
}

function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

const CHANNEL_PREFIX: Record<Direction, string> = {
  to_agency: 'toAgency',
  to_steering_group: 'toSteeringGroup',
  to_coordinator: 'toCoordinator',
  from_agency: 'fromAgency',
};
const channelId = (event: ContractEvent) => `${CHANNEL_PREFIX[event.direction]}_${event.name}`;
const messageId = (event: ContractEvent) => `${MESSAGE_PREFIX[event.direction]}${event.name}`;
const DEAD_LETTER_ID = 'dead_letter_inbound';

function repliesTo(answer: string): string | undefined {
  return (ANSWER_TO as Record<string, string>)[answer];
}
function answersFor(request: string): readonly string[] {
  return (REQUESTS as Record<string, { answers: readonly string[] }>)[request]?.answers ?? [];
}

function operationDescription(event: ContractEvent): string {
  switch (event.direction) {
    case 'to_agency': {
      const answers = answersFor(event.name);
      const reply = answers.length > 0 ? ` The agency answers with ${answers.join(' or ')}, echoing data.correlation.` : ' No answer is expected.';
      return `The engine publishes ${event.name} to one agency's own subject.${reply}`;
    }
    case 'to_steering_group':
      return `The engine tells the LOS steering group: ${event.summary}`;
    case 'to_coordinator':
      return `The engine tells the municipality's LOS coordinator: ${event.summary}`;
    case 'from_agency':
      return (
        `The bridge receives ${event.name}, a reply to ${repliesTo(event.name)}. The subject's agency is who speaks; ` +
        `data.correlation must echo the request and its operationId must equal the event subject. Anything else goes to ${SUBJECTS.inboundDeadLetter('{agency}')}.`
      );
  }
}

function channelDescription(event: ContractEvent): string {
  switch (event.direction) {
    case 'to_agency':
      return `Stored in stream ${SUBJECTS.streamOut}. Each agency reads only its own subjects, through its durable consumer ${SUBJECTS.agencyConsumer('{agency}')}.`;
    case 'to_steering_group':
      return `Stored in stream ${SUBJECTS.streamOut}; the steering group reads through the durable consumer ${SUBJECTS.steeringConsumer}.`;
    case 'to_coordinator':
      return `Stored in stream ${SUBJECTS.streamOut}; the coordinator's tools read through the durable consumer ${SUBJECTS.coordinatorConsumer}.`;
    case 'from_agency':
      return `Stored in the agency's own intake stream ${SUBJECTS.agencyIntake('{agency}')} (whose publish acknowledgement names it), then in ${SUBJECTS.streamIn}, which sources every intake; an agency publishes only on its own subjects. The bridge reads ${SUBJECTS.streamIn} through the durable consumer ${SUBJECTS.bridgeConsumer}.`;
  }
}

function asyncApiDocument(events: ContractEvent[]): Record<string, unknown> {
  const ref = (path: string) => ({ $ref: path });
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    'cloudevent-envelope': withoutDialect(envelopeSchema()),
    'cloudevent-headers': {
      type: 'object',
      properties: {
        'Content-Type': { type: 'string', const: CLOUDEVENT_CONTENT_TYPE },
        'Nats-Msg-Id': {
          type: 'string',
          description: 'Equals the CloudEvent id, which is deterministic: a retried publish is dropped by JetStream as a duplicate (window: one day).',
        },
      },
      required: ['Content-Type', 'Nats-Msg-Id'],
    },
    'dead-letter-headers': {
      type: 'object',
      properties: {
        [DEAD_LETTER_REASON_HEADER]: {
          type: 'string',
          maxLength: 4000,
          description: 'Why the message could not be applied, naming the field, e.g. "data: tools: must name at least one legal tool the agency brings".',
        },
        [ORIGINAL_SUBJECT_HEADER]: { type: 'string', description: 'The subject the message arrived on, e.g. los.v1.from.polisen.mandate_accepted.' },
        'Nats-Msg-Id': {
          type: 'string',
          description: `dead-letter.<stream>.<sequence>: a message redelivered from ${SUBJECTS.streamIn} is dead-lettered once.`,
        },
      },
      required: [DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, 'Nats-Msg-Id'],
    },
  };

  for (const event of events) {
    const id = messageId(event);
    schemas[event.type] = withoutDialect(dataSchemaOf(event));
    messages[id] = {
      name: event.name,
      title: event.type,
      summary: event.summary,
      contentType: CLOUDEVENT_CONTENT_TYPE,
      headers: ref('#/components/schemas/cloudevent-headers'),
      ...('correlation' in event.schema.shape
        ? { correlationId: { description: 'The request an event belongs to; answers echo it.', location: '$message.payload#/data/correlation/requestId' } }
        : {}),
      payload: {
        allOf: [
          ref('#/components/schemas/cloudevent-envelope'),
          {
            type: 'object',
            properties: {
              type: { const: event.type },
              dataschema: { const: `/${schemaFileFor(event.type)}` },
              data: ref(`#/components/schemas/${event.type}`),
            },
            required: ['type', 'data'],
          },
        ],
      },
    };
    const channel = channelId(event);
    channels[channel] = {
      address: event.address,
      title: event.name,
      description: channelDescription(event),
      messages: { [id]: ref(`#/components/messages/${id}`) },
      ...(event.address.includes('{agency}') ? { parameters: { agency: ref('#/components/parameters/agency') } } : {}),
    };
    const action = event.direction === 'from_agency' ? 'receive' : 'send';
    operations[`${action}_${id}`] = {
      action,
      channel: ref(`#/channels/${channel}`),
      summary: event.summary,
      description: operationDescription(event),
      messages: [ref(`#/channels/${channel}/messages/${id}`)],
    };
  }

  messages[DEAD_LETTER_ID] = {
    name: DEAD_LETTER_ID,
    title: 'Dead-lettered inbound message',
    summary: 'An agency message the bridge could not apply, kept with the reason instead of being dropped or retried forever.',
    contentType: 'application/octet-stream',
    headers: ref('#/components/schemas/dead-letter-headers'),
    payload: { description: 'The original message body, byte for byte; it may not be JSON at all.' },
  };
  channels.deadLetterInbound = {
    address: SUBJECTS.inboundDeadLetter('{agency}'),
    title: 'inbound dead letters',
    description:
      `Stored in stream ${SUBJECTS.streamDeadLetter}, for a person to look at, on the subject of the agency that sent the answer: ` +
      'each subject keeps at most its own share of dead letters (its oldest go first), so no agency can push out another’s.',
    messages: { [DEAD_LETTER_ID]: ref(`#/components/messages/${DEAD_LETTER_ID}`) },
    parameters: { agency: ref('#/components/parameters/agency') },
  };
  operations[`send_${DEAD_LETTER_ID}`] = {
    action: 'send',
    channel: ref('#/channels/deadLetterInbound'),
    summary: 'The bridge dead-letters an inbound message it cannot apply, then acknowledges the original.',
    description:
      'Reasons: the subject is not los.v1.from.<agency>.<answer>, the body is not a valid CloudEvent, data breaks its schema, ' +
      'data.correlation.operationId differs from the event subject, or the operation is unknown or already closed.',
    messages: [ref(`#/channels/deadLetterInbound/messages/${DEAD_LETTER_ID}`)],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'LOS agency event contract',
      version: '1.0.0',
      description:
        'How the LOS engine and agency systems talk over NATS JetStream. Every message is a CloudEvents 1.0 event in ' +
        `structured mode (${CLOUDEVENT_CONTENT_TYPE}); its data schema is named by the event type. Operations are seen from ` +
        'the engine: it sends requests and notices to agencies, and receives their answers. ' +
        GENERATED_NOTE,
    },
    defaultContentType: CLOUDEVENT_CONTENT_TYPE,
    servers: {
      nats: {
        host: '{host}',
        protocol: 'nats',
        description:
          'The NATS server with JetStream that the engine uses; each agency connects as its own user, over TLS (tls://), ' +
          `with the JetStream API prefix ${SUBJECTS.agencyApiPrefix} (an API prefix, not a JetStream domain) and the inbox prefix ` +
          `${SUBJECTS.inboxPrefix('{agency}')}. x-los-nats lists what the server and the engine enforce on each agency's account.`,
        variables: { host: { default: '127.0.0.1:4222', description: 'host:port of the NATS server' } },
        security: [ref('#/components/securitySchemes/tls'), ref('#/components/securitySchemes/nkey')],
        'x-los-nats': agencyAccountFacts(),
      },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        tls: {
          type: 'X509',
          description:
            'TLS: the server presents a certificate for the host name of its URL (the TLS server name), signed by the CA the operator hands you ' +
            'with your credentials; trust that CA. No client certificate is asked for: the NKEY identifies you.',
        },
        nkey: {
          type: 'asymmetricEncryption',
          description:
            'NKEY: your agency logs in by signing the server’s nonce with its Ed25519 seed (SU…); the server holds only the public key (U…). ' +
            'No user name, password or token.',
        },
      },
      parameters: {
        agency: {
          enum: [...AGENCY_IDS],
          description: 'The agency id. An agency reads only los.v1.to.<its id>.> and publishes only on los.v1.from.<its id>.>.',
        },
      },
    },
  };
}

/**
 * What nats-server and the engine enforce on an agency's account, as the AsyncAPI document states it (its server's
 * `x-los-nats`): taken from the code that renders the NATS config and the JetStream topology, so the document
 * cannot say one thing while the server does another. test/contract.test.ts holds the guide's tables to it too.
 */
export function agencyAccountFacts() {
  // Rendered for one agency, then written for any: the rights are the same shape for each.
  const sample = AGENCY_IDS[0];
  const anyAgency = (subject: string) => subject.replaceAll(sample, '{agency}');
  const rights = agencyPermissions(sample);
  return {
    tlsServerName: 'the host name of the server URL you were given (tls://<host>:4222); the certificate is issued for it',
    jetStreamApiPrefix: SUBJECTS.agencyApiPrefix,
    inboxPrefix: SUBJECTS.inboxPrefix('{agency}'),
    publish: rights.publish.map(anyAgency),
    subscribe: rights.subscribe.map(anyAgency),
    limits: {
      maxPayloadBytes: DEFAULT_ACCOUNT_LIMITS.agencyMaxPayload,
      maxMessageBytes: MAX_MSG_SIZE.in,
      maxConnections: DEFAULT_ACCOUNT_LIMITS.agencyMaxConnections,
      maxSubscriptions: DEFAULT_ACCOUNT_LIMITS.agencyMaxSubscriptions,
      inboundQuotaPerAnswerSubject: DEFAULT_INBOUND_QUOTA,
      deadLettersPerAgency: deadLettersPerSubject(AGENCY_IDS.length, DEFAULT_RETENTION.maxBytesPerStream),
    },
    deadLetterSubject: SUBJECTS.inboundDeadLetter('{agency}'),
    // The stream that stores and acknowledges an agency's answers, and holds its quota; LOS_IN sources it.
    intakeStream: SUBJECTS.agencyIntake('{agency}'),
    refusals: {
      toldBack: [...NotAppliedReason.options],
      deadLettered: [...DEAD_LETTERED_REASONS],
    },
  };
}

export interface ContractFile {
  /** Relative to the project root, with forward slashes. */
  path: string;
  content: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Every generated file, in memory; pure, so a test can compare it with what is checked in. */
export function generateContract(): ContractFile[] {
  const events = contractEvents();
  const yaml = stringify(asyncApiDocument(events), { lineWidth: 0, aliasDuplicateObjects: false });
  return [
    { path: ENVELOPE_SCHEMA_FILE, content: json(envelopeSchema()) },
    ...events.map((event) => ({ path: schemaFileFor(event.type), content: json(dataSchemaOf(event)) })),
    { path: ASYNCAPI_FILE, content: `# ${GENERATED_NOTE}\n${yaml}` },
  ];
}

/** The API's OpenAPI document, generated from its routes' zod schemas (api/); async, as building the routes is. */
export async function generateOpenApiFile(): Promise<ContractFile> {
  return { path: OPENAPI_FILE, content: json(await openApiDocument()) };
}

export interface StaleFile {
  path: string;
  problem: 'missing' | 'differs' | 'not generated';
}

/** What on disk disagrees with the generator, including schema files left over from a removed event. */
export function staleContractFiles(root: string = PROJECT_ROOT, files: ContractFile[] = generateContract()): StaleFile[] {
  const stale: StaleFile[] = [];
  for (const file of files) {
    const onDisk = join(root, file.path);
    if (!existsSync(onDisk)) stale.push({ path: file.path, problem: 'missing' });
    else if (readFileSync(onDisk, 'utf8') !== file.content) stale.push({ path: file.path, problem: 'differs' });
  }
  const generated = new Set(files.map((file) => file.path));
  for (const path of leftoverSchemaFiles(root)) if (!generated.has(path)) stale.push({ path, problem: 'not generated' });
  return stale;
}

function leftoverSchemaFiles(root: string): string[] {
  const dir = join(root, SCHEMAS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${SCHEMAS_DIR}/${name}`);
}

export function describeStale(stale: StaleFile[]): string {
  return [
    'The contract files are stale (domain/events.ts or the API’s routes changed, or a file was edited by hand):',
    ...stale.map((file) => `  ${file.path} (${file.problem})`),
    `Regenerate with: ${REGENERATE_COMMAND}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const files = [...generateContract(), await generateOpenApiFile()];
  const stale = staleContractFiles(PROJECT_ROOT, files);
  if (argv.includes('--check')) {
    if (stale.length === 0) {
      console.log(`The agency contract and the API's OpenAPI document are up to date (${files.length} files).`);
      return 0;
    }
    console.error(describeStale(stale));
    return 1;
  }
  for (const file of stale) {
    const target = join(PROJECT_ROOT, file.path);
    if (file.problem === 'not generated') {
      // schemas/ belongs to the generator: a schema for an event that no longer exists must not linger.
      rmSync(target);
      console.log(`removed ${file.path}`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, files.find((f) => f.path === file.path)!.content);
    console.log(`wrote ${file.path}`);
  }
  if (stale.length === 0) console.log(`The agency contract and the API's OpenAPI document are up to date (${files.length} files).`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`contract generation failed: ${(err as Error).message}`);
      process.exitCode = 2;
    },
  );
}
