import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { jetstreamManager, jetstream, AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { z } from 'zod';
import { connectAgency, type AgencyClient, type ReceivedEvent } from '../agencies/client.js';
import { PLAINTEXT_ONLY, createNotifyActivities } from '../activities/notify.js';
import {
  AGENCY_IDS,
  CloudEvent,
  InboundData,
  NotAppliedReason,
  OutboundData,
  SUBJECTS,
  SteeringData,
  CoordinatorData,
  eventType,
  type AgencyId,
  type InboundEventName,
  type OutboundEventName,
} from '../domain/index.js';
import {
  ASYNCAPI_FILE,
  ENVELOPE_SCHEMA_FILE,
  PROJECT_ROOT,
  REGENERATE_COMMAND,
  contractEvents,
  describeStale,
  generateContract,
  schemaFileFor,
  staleContractFiles,
  agencyAccountFacts,
  type ContractEvent,
} from '../scripts/generate-contract.js';
import { startNatsServer, type NatsServer } from '../scripts/dev-stack.js';
import { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, judgeInbound } from '../workers/bridge.js';
import { agencyAccount, ensureTopology, freshSeeds, natsAccountsConfig, publicKeys } from '../messaging/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { parse as parseYaml } from 'yaml';
import { eventually } from './engine.js';

/**
 * The published agency contract: schemas/, asyncapi.yaml and docs/agency-integration.md agree with
 * domain/events.ts, and an agency built on the reply helpers is understood by the bridge.
 */

type Json = Record<string, unknown>;
const readJson = (path: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, path), 'utf8')) as Json;
const GUIDE = 'docs/agency-integration.md';
const guide = () => readFileSync(join(PROJECT_ROOT, GUIDE), 'utf8');

// --- JSON Schema validation with ajv -------------------------------------------------------------------------
// Strict: a keyword ajv does not know throws instead of being skipped, so no rule can pass unchecked. The
// @asyncapi/parser marks every schema it dereferences with x-parser-schema-id, an annotation and nothing more.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
// ajv-formats is CommonJS whose module.exports is the plugin; its types declare it as `default` only.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;
addFormats(ajv);
ajv.addVocabulary(['x-parser-schema-id']);
const compiled = new Map<string, ValidateFunction>();
/** The JSON Schema in `path` (relative to the project root), compiled once. */
const schemaIn = (path: string): ValidateFunction => {
  let validate = compiled.get(path);
  if (!validate) compiled.set(path, (validate = ajv.compile(readJson(path))));
  return validate;
};
/** What is wrong with `value` under a schema, one line per rule it breaks; [] when it conforms. */
function violations(schema: ValidateFunction | Json, value: unknown): string[] {
  const validate = typeof schema === 'function' ? schema : ajv.compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}`);
}

// --- realistic examples, one per event, typed so a new event cannot be left out ----------------------------
const operationId = 'los-umea-3f9a1c2b7d';
const correlation = (requestId: string) => ({ operationId, requestId });
const at = '2026-11-20T18:00:00+01:00';
const answerBy = '2026-11-13T16:00:00+01:00';
const minimumCase = {
  entity: { orgNumber: '5567037485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå' },
  categories: ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'],
  municipality: 'Umeå',
} satisfies Omit<z.input<typeof OutboundData.mandate_requested>, 'correlation' | 'tools' | 'answerBy'>;
const action = { at, place: 'Storgatan 12, 903 26 Umeå', lead: 'polisen' } as const;

const OUTBOUND_EXAMPLES: { [E in OutboundEventName]: z.input<(typeof OutboundData)[E]> } = {
  mandate_requested: { correlation: correlation('mandate-1-skatteverket'), ...minimumCase, tools: ['staff register control'], answerBy },
  information_requested: { correlation: correlation('info-1-skatteverket'), ...minimumCase, question: 'Is an open tax audit a reason to hold back?', answerBy },
  briefing: {
    correlation: correlation('briefing-1-skatteverket'),
    ...minimumCase,
    description: 'Serves alcohol after licence hours; staff appear to work without contracts.',
    urgency: 'high',
    action,
    actionLocalTime: at,
    participants: ['polisen', 'skatteverket', 'kommun_alkohol'],
  },
  tip_corrected: { correlation: correlation('correction-1-skatteverket'), corrected: { address: 'Storgatan 14, 903 26 Umeå', urgency: 'critical' } },
  action_started: { correlation: correlation('action-1-skatteverket'), action },
  action_rescheduled: { correlation: correlation('action-1-skatteverket'), action, reason: 'Polisen asked to hold back for an ongoing investigation.' },
  action_called_off: { correlation: correlation('action-1-skatteverket'), reason: 'The business has closed down.' },
  reminder: { correlation: correlation('mandate-1-skatteverket'), awaiting: 'mandate_answers', answerBy },
  second_wave_notice: { correlation: correlation('second-wave-kronofogden'), ...minimumCase, actionDate: at },
  findings_requested: { correlation: correlation('findings-1-skatteverket'), reportBy: answerBy },
  outcome_requested: { correlation: correlation('outcome-1-skatteverket'), reportBy: answerBy },
  operation_closed: { correlation: correlation('closed-skatteverket'), summary: 'Licence revoked; tax reassessed by 840 000 kr.' },
  operation_cancelled: { correlation: correlation('cancelled-skatteverket'), reason: 'Registered twice by mistake.' },
  answer_not_applied: {
    answerId: 'skatteverket.los-umea-3f9a1c2b7d.mandate-1-skatteverket.mandate_declined',
    answerSubject: 'los.v1.from.skatteverket.mandate_declined',
    streamSequence: 42,
    reason: 'conflicting',
    detail: 'mandate_declined conflicts with the first answer to mandate-1-skatteverket (mandate_accepted), which stands',
    correlation: correlation('mandate-1-skatteverket'),
  },
};
const STEERING_EXAMPLES: { [E in keyof typeof SteeringData]: z.input<(typeof SteeringData)[E]> } = {
  deadline_missed: { operationId, deadline: 'findings', dueAt: answerBy, waitingFor: ['polisen', 'skatteverket'] },
};
const COORDINATOR_EXAMPLES: { [E in keyof typeof CoordinatorData]: z.input<(typeof CoordinatorData)[E]> } = {
  decision_due: { operationId, decision: 'assessment', dueAt: answerBy },
};
const INBOUND_EXAMPLES: { [E in InboundEventName]: z.input<(typeof InboundData)[E]> } = {
  mandate_accepted: {
    correlation: correlation('mandate-1-skatteverket'),
    tools: ['staff register control'],
    contactFunction: 'kontrollenheten, personalliggare',
  },
  mandate_declined: { correlation: correlation('mandate-1-lansstyrelsen'), reason: 'A restaurant is not under our anti-money-laundering supervision.' },
  information_provided: { correlation: correlation('info-1-skatteverket'), answer: 'No open tax audit; nothing requires holding back.' },
  readiness_confirmed: { correlation: correlation('briefing-1-skatteverket'), staff: 2 },
  findings_reported: {
    correlation: correlation('findings-1-skatteverket'),
    findings: 'Staff register incomplete.',
    sanctions: [{ kind: 'sanction_fee', amountSek: 12_500 }],
  },
  outcome_reported: { correlation: correlation('outcome-1-skatteverket'), outcomes: [{ kind: 'tax_reassessment', amountSek: 840_000 }] },
};

function exampleFor(event: ContractEvent): Json {
  const examples: Record<string, unknown> = {
    to_agency: OUTBOUND_EXAMPLES,
    from_agency: INBOUND_EXAMPLES,
    to_steering_group: STEERING_EXAMPLES,
    to_coordinator: COORDINATOR_EXAMPLES,
  }[event.direction];
  return structuredClone(examples[event.name]) as Json;
}

/** Broken in one rule each: a rule that did not make it into the JSON Schema lets the example through. */
const BROKEN: { type: string; why: string; data: unknown }[] = [
  { type: eventType('mandate_requested'), why: 'an unknown activity category', data: { ...OUTBOUND_EXAMPLES.mandate_requested, categories: ['arson'] } },
  {
    type: eventType('mandate_requested'),
    why: 'a deadline that is not a date-time',
    data: { ...OUTBOUND_EXAMPLES.mandate_requested, answerBy: 'next Friday' },
  },
  { type: eventType('briefing'), why: 'a lead that is not an agency', data: { ...OUTBOUND_EXAMPLES.briefing, action: { ...action, lead: 'fbi' } } },
  {
    type: eventType('coordinator_decision_due'),
    why: 'a decision that is not the coordinator’s',
    data: { ...COORDINATOR_EXAMPLES.decision_due, decision: 'lunch' },
  },
  { type: eventType('steering_deadline_missed'), why: 'an unknown kind of deadline', data: { ...STEERING_EXAMPLES.deadline_missed, deadline: 'lunch' } },
  { type: eventType('mandate_accepted'), why: 'no legal tools', data: { ...INBOUND_EXAMPLES.mandate_accepted, tools: [] } },
  { type: eventType('mandate_accepted'), why: 'a one-letter contact function', data: { ...INBOUND_EXAMPLES.mandate_accepted, contactFunction: 'x' } },
  {
    type: eventType('mandate_accepted'),
    why: 'a contact function of one letter padded with spaces',
    data: { ...INBOUND_EXAMPLES.mandate_accepted, contactFunction: '  x  ' },
  },
  { type: eventType('mandate_declined'), why: 'a reason of nothing but spaces', data: { ...INBOUND_EXAMPLES.mandate_declined, reason: '     ' } },
  { type: eventType('findings_reported'), why: 'findings of nothing but blank lines', data: { ...INBOUND_EXAMPLES.findings_reported, findings: '\n\t\n' } },
  { type: eventType('mandate_accepted'), why: 'a correlation without requestId', data: { ...INBOUND_EXAMPLES.mandate_accepted, correlation: { operationId } } },
  { type: eventType('readiness_confirmed'), why: 'zero staff', data: { ...INBOUND_EXAMPLES.readiness_confirmed, staff: 0 } },
  { type: eventType('readiness_confirmed'), why: 'half a person', data: { ...INBOUND_EXAMPLES.readiness_confirmed, staff: 2.5 } },
  { type: eventType('findings_reported'), why: 'a fine without an amount', data: { ...INBOUND_EXAMPLES.findings_reported, sanctions: [{ kind: 'fine' }] } },
  { type: eventType('outcome_reported'), why: 'no outcomes at all', data: { ...INBOUND_EXAMPLES.outcome_reported, outcomes: [] } },
  { type: eventType('outcome_reported'), why: 'a negative fine', data: { ...INBOUND_EXAMPLES.outcome_reported, outcomes: [{ kind: 'fine', amountSek: -5 }] } },
];

function cloudEventFor(event: ContractEvent, data: unknown): Json {
  return {
    specversion: '1.0',
    id: `contract-test.${event.name}`,
    source: event.direction === 'from_agency' ? '/los/agency/skatteverket' : '/los/umea',
    type: event.type,
    subject: operationId,
    time: '2026-11-06T09:30:00+01:00',
    datacontenttype: 'application/json',
    dataschema: `/${schemaFileFor(event.type)}`,
    data,
  };
}

const events = contractEvents();
const eventCases = events.map((event) => [event.type, event] as const);

describe('generated contract files', () => {
  it('are identical to what the generator makes from domain/events.ts', () => {
    const stale = staleContractFiles();
    expect(stale, describeStale(stale)).toEqual([]);
  });

  it('are generated byte for byte the same on every run', () => {
    expect(generateContract()).toEqual(generateContract());
  });

  it('cover every outbound, steering, coordinator and inbound event, plus the envelope and the AsyncAPI document', () => {
    const paths = generateContract().map((file) => file.path);
    const expected = [
      ...Object.keys(OutboundData).map((name) => schemaFileFor(eventType(name))),
      ...Object.keys(SteeringData).map((name) => schemaFileFor(eventType(`steering_${name}`))),
      ...Object.keys(CoordinatorData).map((name) => schemaFileFor(eventType(`coordinator_${name}`))),
      ...Object.keys(InboundData).map((name) => schemaFileFor(eventType(name))),
      ENVELOPE_SCHEMA_FILE,
      ASYNCAPI_FILE,
    ];
    expect([...paths].sort()).toEqual([...expected].sort());
  });

  it('names a hand-edited, a missing and a left-over file as stale, with the command that fixes it', () => {
    const copy = mkdtempSync(join(inject('scratchDir'), 'contract-copy-'));
    for (const file of generateContract()) {
      mkdirSync(dirname(join(copy, file.path)), { recursive: true });
      writeFileSync(join(copy, file.path), file.content);
    }
    writeFileSync(join(copy, schemaFileFor(eventType('mandate_accepted'))), '{"hand": "edited"}\n');
    rmSync(join(copy, ASYNCAPI_FILE));
    writeFileSync(join(copy, 'schemas/se.los.mandate.withdrawn.v1.json'), '{}\n');

    const stale = staleContractFiles(copy);
    expect(stale).toEqual([
      { path: schemaFileFor(eventType('mandate_accepted')), problem: 'differs' },
      { path: ASYNCAPI_FILE, problem: 'missing' },
      { path: 'schemas/se.los.mandate.withdrawn.v1.json', problem: 'not generated' },
    ]);
    expect(describeStale(stale)).toContain(REGENERATE_COMMAND);
  });

  it('--check exits 0 on the checked-in files and 1 naming the file once one is edited', () => {
    const script = join(PROJECT_ROOT, 'scripts/generate-contract.ts');
    const clean = spawnSync(process.execPath, ['--import', 'tsx', script, '--check'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('up to date');

    // The CLI works on its own project root, so edit a copy of the project (sharing node_modules) instead.
    const copy = mkdtempSync(join(inject('scratchDir'), 'contract-cli-'));
    for (const entry of readdirSync(PROJECT_ROOT)) {
      if (['node_modules', '.git', '.data', '.tools'].includes(entry)) continue;
      cpSync(join(PROJECT_ROOT, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
    writeFileSync(join(copy, ASYNCAPI_FILE), `${readFileSync(join(copy, ASYNCAPI_FILE), 'utf8')}# edited by hand\n`);
    const stale = spawnSync(process.execPath, ['--import', 'tsx', join(copy, 'scripts/generate-contract.ts'), '--check'], { cwd: copy, encoding: 'utf8' });
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain(`${ASYNCAPI_FILE} (differs)`);
    expect(stale.stderr).toContain(REGENERATE_COMMAND);
  });
});

describe('payload schemas', () => {
  it.each(eventCases)('%s accepts a realistic example that the zod schema accepts', (type, event) => {
    const example = exampleFor(event);
    expect(event.schema.safeParse(example).success).toBe(true);
    expect(violations(schemaIn(schemaFileFor(type)), example)).toEqual([]);
  });

  it.each(eventCases)('%s rejects the example with any required field missing or null, as zod does', (type, event) => {
    const schema = schemaIn(schemaFileFor(type));
    const required = readJson(schemaFileFor(type)).required as string[];
    expect(required.length).toBeGreaterThan(0);
    for (const field of required) {
      const missing = exampleFor(event);
      delete missing[field];
      const nulled = { ...exampleFor(event), [field]: null };
      for (const broken of [missing, nulled]) {
        expect(event.schema.safeParse(broken).success, `zod accepted ${field}=${JSON.stringify(broken[field])}`).toBe(false);
        expect(violations(schema, broken), `the JSON Schema accepted ${field}=${JSON.stringify(broken[field])}`).not.toEqual([]);
      }
    }
  });

  it.each(BROKEN.map((b) => [b.type, b.why, b] as const))('%s rejects %s, as zod does', (type, _why, broken) => {
    const event = events.find((e) => e.type === type)!;
    expect(event.schema.safeParse(broken.data).success).toBe(false);
    expect(violations(schemaIn(schemaFileFor(type)), broken.data)).not.toEqual([]);
  });

  it('requires data.correlation with operationId and requestId on every event an agency sends or receives', () => {
    for (const event of events.filter((e) => e.direction === 'to_agency' || e.direction === 'from_agency')) {
      const schema = readJson(schemaFileFor(event.type));
      const correlationSchema = (schema.properties as Record<string, Json>).correlation!;
      // answer_not_applied echoes the answer's correlation when it could be read; an unreadable answer has none.
      if (event.name !== 'answer_not_applied') expect(schema.required, event.type).toContain('correlation');
      expect(correlationSchema.required, event.type).toEqual(['operationId', 'requestId']);
    }
    expect(readJson(schemaFileFor(eventType('steering_deadline_missed'))).required).toContain('operationId');
  });

  it('describes the CloudEvent envelope the client and the engine send, and rejects a foreign event type', () => {
    const envelope = schemaIn(ENVELOPE_SCHEMA_FILE);
    const event = cloudEventFor(events[0]!, exampleFor(events[0]!));
    expect(CloudEvent.safeParse(event).success).toBe(true);
    expect(violations(envelope, event)).toEqual([]);
    for (const broken of [
      { ...event, type: 'com.example.order.created' },
      { ...event, specversion: '0.3' },
      { ...event, time: 'yesterday' },
    ]) {
      expect(CloudEvent.safeParse(broken).success).toBe(false);
      expect(violations(envelope, broken)).not.toEqual([]);
    }
  });
});

describe('asyncapi.yaml', () => {
  // @asyncapi/parser validates the document against the AsyncAPI specification and resolves every $ref.
  let parsed: Awaited<ReturnType<Parser['parse']>> | undefined;
  beforeAll(async () => {
    parsed = await new Parser().parse(readFileSync(join(PROJECT_ROOT, ASYNCAPI_FILE), 'utf8'));
  });
  const doc = () => {
    if (!parsed?.document) throw new Error(`${ASYNCAPI_FILE} did not parse: ${parsed?.diagnostics.map((d) => d.message).join('; ')}`);
    return parsed.document;
  };
  const channelOf = (event: ContractEvent) =>
    doc()
      .channels()
      .all()
      .find((c) => c.address() === event.address);

  it('is a valid AsyncAPI 3.0 document: the parser reports no error or warning, so every $ref resolves', () => {
    const problems = parsed!.diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(doc().version()).toBe('3.0.0');
    expect(doc().allMessages().length).toBeGreaterThanOrEqual(events.length);
  });

  it('has a channel, a message and an operation for every event, sent or received as the engine sees it', () => {
    for (const event of events) {
      const channel = channelOf(event);
      expect(channel, `no channel for ${event.address}`).toBeDefined();
      expect(channel!.messages().length, event.address).toBeGreaterThan(0);
      for (const parameter of event.address.match(/\{(\w+)\}/g) ?? []) {
        expect(channel!.parameters().has(parameter.slice(1, -1)), `${event.address} declares ${parameter}`).toBe(true);
      }
      const operation = doc()
        .operations()
        .all()
        .find((o) =>
          o
            .channels()
            .all()
            .some((c) => c.address() === event.address),
        );
      expect(operation?.action(), event.address).toBe(event.direction === 'from_agency' ? 'receive' : 'send');
    }
    expect(doc().components().channelParameters().get('agency')?.schema()?.enum()).toEqual([...AGENCY_IDS]);
  });

  it('gives every message the CloudEvents content type and Nats-Msg-Id header, and each dead letter its reason', () => {
    const deadLetter = doc()
      .channels()
      .all()
      .find((c) => c.address() === SUBJECTS.inboundDeadLetter('{agency}'));
    expect(deadLetter, 'no dead-letter channel').toBeDefined();
    const deadLetterIds = new Set(
      deadLetter!
        .messages()
        .all()
        .map((m) => m.id()),
    );
    for (const message of doc().components().messages().all()) {
      const headers = message.headers()?.json() as Json | undefined;
      expect(headers, message.id()).toBeDefined();
      const isDeadLetter = deadLetterIds.has(message.id());
      const expected = isDeadLetter ? [DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, 'Nats-Msg-Id'] : ['Content-Type', 'Nats-Msg-Id'];
      expect(headers!.required, message.id()).toEqual(expect.arrayContaining(expected));
      if (!isDeadLetter) {
        expect(message.contentType(), message.id()).toBe('application/cloudevents+json');
        expect(violations(headers!, { 'Content-Type': 'application/cloudevents+json', 'Nats-Msg-Id': 'x' })).toEqual([]);
        expect(violations(headers!, { 'Content-Type': 'application/json', 'Nats-Msg-Id': 'x' })).not.toEqual([]);
      }
    }
  });

  it.each(eventCases)('the %s message accepts its full CloudEvent and refuses another event type or broken data', (_type, event) => {
    const payload = channelOf(event)!.messages().all()[0]!.payload()!.json() as Json;
    const validate = ajv.compile(payload);
    const good = cloudEventFor(event, exampleFor(event));
    expect(violations(validate, good)).toEqual([]);
    const other = events.find((e) => e.type !== event.type)!;
    expect(violations(validate, { ...good, type: other.type })).not.toEqual([]);
    expect(violations(validate, { ...good, data: {} })).not.toEqual([]);
  });
});

/** The guide's complete agency system, as written, and how many lines it takes. */
function guideSample(): { code: string; lines: number } {
  const match = /## A complete agency system[\s\S]*?```ts\n([\s\S]*?)```/.exec(guide());
  if (!match) throw new Error(`${GUIDE} has no "## A complete agency system" section with a \`\`\`ts block`);
  return { code: match[1]!, lines: match[1]!.trimEnd().split('\n').length };
}

/** The sample imports `./agencies/index.js` as if it sat at the repository root; point it at the real one. */
function writeRunnableSample(dir: string): string {
  const { code } = guideSample();
  expect(code).toContain("from './agencies/index.js'");
  const path = join(dir, 'agency-system.mts');
  writeFileSync(path, code.replace("from './agencies/index.js'", `from '${join(PROJECT_ROOT, 'agencies/index.js')}'`));
  return path;
}

describe('integration guide', () => {
  it('names every event, its CloudEvents type and its subject', () => {
    const text = guide();
    const names = [...Object.keys(OutboundData), ...Object.keys(InboundData), ...Object.keys(SteeringData), ...Object.keys(CoordinatorData)];
    const wanted = [
      ...names.map((name) => `\`${name}\``),
      ...events.flatMap((event) => [event.type, `\`${event.address}\``]),
      SUBJECTS.inboundDeadLetter('{agency}'),
      DEAD_LETTER_REASON_HEADER,
      ORIGINAL_SUBJECT_HEADER,
      'Nats-Msg-Id',
      'application/cloudevents+json',
    ];
    expect(
      wanted.filter((term) => !text.includes(term)),
      `${GUIDE} never mentions these`,
    ).toEqual([]);
  });

  it('lists every field of every event an agency receives or sends, in the row for that event', () => {
    const section = /### Every field of every event([\s\S]*?)\n##/.exec(guide())?.[1] ?? '';
    const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!]));
    const missing: string[] = [];
    for (const [name, schema] of [...Object.entries(OutboundData), ...Object.entries(InboundData)]) {
      for (const field of Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape)) {
        if (!new RegExp(`\`${field}\\??\``).test(rows.get(name) ?? '')) missing.push(`${name}.${field}`);
      }
    }
    expect(missing, `${GUIDE}: fields without a word in "Every field of every event"`).toEqual([]);
  });

  it('tells a developer without TypeScript the inbox prefix, the API calls, the headers, the limits and every reason', () => {
    const text = guide();
    const wanted = [
      SUBJECTS.inboxPrefix('<agency>'),
      `${SUBJECTS.agencyApiPrefix}.CONSUMER.INFO.LOS_OUT.agency_<agency>`,
      `${SUBJECTS.agencyApiPrefix}.CONSUMER.MSG.NEXT.LOS_OUT.agency_<agency>`,
      '$JS.ACK.LOS_OUT.agency_<agency>.>',
      'unique across operations',
      'are dropped',
      '64 KiB',
      'Consume within 30 days',
      'los.v1.dead_letter.agency_<agency>',
      ...NotAppliedReason.options.map((reason) => `| \`${reason}\` |`),
    ];
    expect(
      wanted.filter((term) => !text.includes(term)),
      `${GUIDE} never mentions these`,
    ).toEqual([]);
  });

  it('names every reply helper of the agency client', () => {
    const helpers = ['accept', 'decline', 'provideInformation', 'confirmReadiness', 'reportFindings', 'reportOutcome'];
    expect(helpers.filter((helper) => !guide().includes(`\`${helper}(request`))).toEqual([]);
  });

  it('links the AsyncAPI document and the schemas, and every relative link points at a file that exists', () => {
    const text = guide();
    expect(text).toContain('](../asyncapi.yaml)');
    expect(text).toContain('](../schemas/)');
    const links = [...text.matchAll(/\]\((\.\.?\/[^)#\s]*)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(events.length);
    for (const link of links) expect(existsSync(resolve(PROJECT_ROOT, 'docs', link)), `${GUIDE} links to ${link}, which does not exist`).toBe(true);
  });

  it('shows a complete agency system in under 40 lines that type-checks against the real client', () => {
    const { code, lines } = guideSample();
    expect(lines).toBeLessThan(40);
    expect(code).toContain('connectAgency(');
    const dir = mkdtempSync(join(inject('scratchDir'), 'guide-typecheck-'));
    const path = writeRunnableSample(dir);
    const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(PROJECT_ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, PROJECT_ROOT);
    const program = ts.createProgram([path], { ...config.options, typeRoots: [join(PROJECT_ROOT, 'node_modules/@types')] });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(diagnostics).toEqual([]);
  });
});

describe('reply helpers against a real nats-server', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  const clients: AgencyClient[] = [];
  /** An agency system started before the engine had created any stream: it must wait, not die. */
  let early: { client: AgencyClient; started: Promise<unknown>; waiting: string[]; received: string[] };

  beforeAll(async () => {
    const scratch = mkdtempSync(join(inject('scratchDir'), 'contract-'));
    nats = await startNatsServer({ storeDir: join(scratch, 'nats'), logFile: join(scratch, 'nats.log') });
    const waiting: string[] = [];
    const received: string[] = [];
    const client = await connectAgency({ agency: 'tullverket', servers: nats.url, retryDelayMs: 200, onWaiting: (why) => waiting.push(why) });
    clients.push(client);
    client.on('mandate_requested', (event) => void received.push(event.id));
    early = {
      client,
      started: client.start().then(
        () => 'started',
        (err: unknown) => err,
      ),
      waiting,
      received,
    };
    await eventually(
      async () => waiting.length,
      (n) => n > 0,
      20_000,
    ).catch(() => undefined);
    nc = await connect({ servers: nats.url, name: 'los-contract-test' });
    await ensureTopology(await jetstreamManager(nc), { agencies: AGENCY_IDS, ackWaitMs: 5_000 });
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await nc?.drain();
    await nats?.stop();
  });

  const agencyClient = async (agency: AgencyId) => {
    const client = await connectAgency({ agency, servers: nats.url, retryDelayMs: 200 });
    clients.push(client);
    return client;
  };

  /** Sends one request to an agency the way the engine does: through the notify activity. */
  const sendRequest = async <E extends OutboundEventName>(agency: AgencyId, event: E, data: z.input<(typeof OutboundData)[E]>) => {
    const requestId = (data as { correlation: { requestId: string } }).correlation.requestId;
    await createNotifyActivities(jetstream(nc), PLAINTEXT_ONLY).deliver({
      operationId: (data as { correlation: { operationId: string } }).correlation.operationId,
      municipality: 'Umeå',
      time: new Date().toISOString(),
      events: [{ to: agency, event, eventId: `${requestId}.${event}`, data }],
    });
  };

  /** Every answer stored in LOS_IN under a filter, once `count` have arrived. */
  const answersIn = async (filter: string, count: number): Promise<JsMsg[]> => {
    const jsm = await jetstreamManager(nc);
    const stored = async () => {
      const info = await jsm.streams.info(SUBJECTS.streamIn, { subjects_filter: filter });
      return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
    };
    await eventually(stored, (n) => n >= count, 20_000);
    const consumer = await jsm.consumers.add(SUBJECTS.streamIn, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: filter });
    const reader = await jetstream(nc).consumers.get(SUBJECTS.streamIn, consumer.name);
    const out: JsMsg[] = [];
    for await (const msg of await reader.fetch({ max_messages: count, expires: 2_000 })) {
      out.push(msg);
      if (out.length === count) break;
    }
    await jsm.consumers.delete(SUBJECTS.streamIn, consumer.name);
    return out;
  };

  const requestsFor = (agency: AgencyId, op: string) => {
    const c = (requestId: string) => ({ operationId: op, requestId: `${requestId}-${agency}` });
    return {
      mandate_requested: { ...OUTBOUND_EXAMPLES.mandate_requested, correlation: c('mandate-1') },
      information_requested: { ...OUTBOUND_EXAMPLES.information_requested, correlation: c('info-1') },
      briefing: { ...OUTBOUND_EXAMPLES.briefing, correlation: c('briefing-1') },
      findings_requested: { ...OUTBOUND_EXAMPLES.findings_requested, correlation: c('findings-1') },
      outcome_requested: { ...OUTBOUND_EXAMPLES.outcome_requested, correlation: c('outcome-1') },
    };
  };

  it('an agency client started before the engine created the streams waits for them, then receives its events', async () => {
    expect(early.waiting).toEqual(['waiting for the engine to create LOS_OUT and consumer agency_tullverket']);
    expect(await early.started).toBe('started');
    const request = requestsFor('tullverket', 'los-umea-early').mandate_requested;
    await sendRequest('tullverket', 'mandate_requested', request);
    await eventually(
      async () => early.received,
      (ids) => ids.includes(`${request.correlation.requestId}.mandate_requested`),
      20_000,
    );
  });

  it('answers built by the reply helpers are applied by the bridge, each echoing its request', async () => {
    const op = 'los-umea-helpers-0001';
    const polisen = await agencyClient('polisen');
    polisen
      .on('mandate_requested', (request) =>
        polisen.accept(request, { tools: ['workplace check under the Aliens Act'], contactFunction: 'LOS-samordnare, lokalpolisområde Umeå' }),
      )
      .on('information_requested', (request) => polisen.provideInformation(request, 'No ongoing investigation that requires holding back.'))
      .on('briefing', (request) => polisen.confirmReadiness(request, { staff: 6 }))
      .on('findings_requested', (request) =>
        polisen.reportFindings(request, { findings: 'Two employees without work permits.', sanctions: [{ kind: 'criminal_report' }] }),
      )
      .on('outcome_requested', (request) => polisen.reportOutcome(request, [{ kind: 'criminal_report' }]));
    await polisen.start();
    const lansstyrelsen = await agencyClient('lansstyrelsen');
    lansstyrelsen.on('mandate_requested', (request) => lansstyrelsen.decline(request, 'A restaurant is not under our anti-money-laundering supervision.'));
    await lansstyrelsen.start();

    const requests = requestsFor('polisen', op);
    for (const [event, data] of Object.entries(requests)) await sendRequest('polisen', event as keyof typeof requests, data);
    const declined = { ...OUTBOUND_EXAMPLES.mandate_requested, correlation: { operationId: op, requestId: 'mandate-1-lansstyrelsen' } };
    await sendRequest('lansstyrelsen', 'mandate_requested', declined);

    const stored = [...(await answersIn('los.v1.from.polisen.>', 5)), ...(await answersIn('los.v1.from.lansstyrelsen.>', 1))];
    const verdicts = stored.map((msg) => ({
      msg,
      verdict: judgeInbound(msg.subject, msg.data, { contentType: msg.headers?.get('Content-Type'), msgId: msg.headers?.get('Nats-Msg-Id') }),
    }));
    const answered = verdicts.map(({ msg, verdict }) => {
      if (verdict.kind !== 'apply') throw new Error(`the bridge would dead-letter ${msg.subject}: ${verdict.reason}`);
      expect(verdict.operationId).toBe(op);
      expect(msg.headers?.get('Content-Type')).toBe('application/cloudevents+json');
      expect(msg.headers?.get('Nats-Msg-Id')).toBe(verdict.answer.eventId);
      return { agency: verdict.answer.agency, name: verdict.answer.name, correlation: verdict.answer.data.correlation, eventId: verdict.answer.eventId };
    });
    const expected = [
      ['polisen', 'mandate_accepted', requests.mandate_requested.correlation],
      ['polisen', 'information_provided', requests.information_requested.correlation],
      ['polisen', 'readiness_confirmed', requests.briefing.correlation],
      ['polisen', 'findings_reported', requests.findings_requested.correlation],
      ['polisen', 'outcome_reported', requests.outcome_requested.correlation],
      ['lansstyrelsen', 'mandate_declined', declined.correlation],
    ] as const;
    expect(answered).toEqual(
      expect.arrayContaining(
        expected.map(([agency, name, c]) => ({ agency, name, correlation: c, eventId: `${agency}.${c.operationId}.${c.requestId}.${name}` })),
      ),
    );
    expect(answered).toHaveLength(expected.length);
  });

  it('a reply helper refuses a request of another kind, and an invalid answer, before anything is sent', async () => {
    const tullverket = await agencyClient('tullverket');
    const briefing: ReceivedEvent<'briefing'> = {
      id: 'briefing-1-tullverket.briefing',
      name: 'briefing',
      operationId,
      time: at,
      data: OutboundData.briefing.parse({ ...OUTBOUND_EXAMPLES.briefing, correlation: correlation('briefing-1-tullverket') }),
      deliveryCount: 1,
    };
    const mandate: ReceivedEvent<'mandate_requested'> = {
      ...briefing,
      id: 'mandate-1-tullverket.mandate_requested',
      name: 'mandate_requested',
      data: OutboundData.mandate_requested.parse({ ...OUTBOUND_EXAMPLES.mandate_requested, correlation: correlation('mandate-1-tullverket') }),
    };
    // The types are the first guard: a briefing cannot be accepted.
    // @ts-expect-error accept answers only a mandate_requested event
    const acceptBriefing = () => tullverket.accept(briefing, { tools: ['customs control'], contactFunction: 'gränsskyddet, Umeå' });
    await expect(acceptBriefing()).rejects.toThrow('mandate_accepted answers a mandate_requested event, not briefing');
    await expect(tullverket.decline(mandate, 'no')).rejects.toThrow(/^mandate_declined rejected before sending: reason "no": must give a reason/);
    await expect(tullverket.reportOutcome(mandate as never, [{ kind: 'none' }])).rejects.toThrow(
      'outcome_reported answers a outcome_requested event, not mandate_requested',
    );

    const info = await (await jetstreamManager(nc)).streams.info(SUBJECTS.streamIn, { subjects_filter: 'los.v1.from.tullverket.>' });
    expect(info.state.subjects ?? {}).toEqual({});
  });

  it("the guide's agency system runs as written, and the bridge applies every answer it sends", async () => {
    const dir = mkdtempSync(join(inject('scratchDir'), 'guide-run-'));
    const sample = writeRunnableSample(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', sample], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NATS_URL: nats.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const op = 'los-umea-guide-0001';
      const requests = requestsFor('skatteverket', op);
      for (const [event, data] of Object.entries(requests)) await sendRequest('skatteverket', event as keyof typeof requests, data);
      // Fire safety alone is not Skatteverket's business: the sample declines.
      await sendRequest('skatteverket', 'mandate_requested', {
        ...requests.mandate_requested,
        categories: ['fire_safety'],
        correlation: { operationId: op, requestId: 'mandate-2-skatteverket' },
      });
      const stored = await answersIn('los.v1.from.skatteverket.>', 6).catch((err: Error) => {
        throw new Error(`${err.message}\nagency system output:\n${output}`);
      });
      const names = stored.map((msg) => {
        const verdict = judgeInbound(msg.subject, msg.data, { contentType: msg.headers?.get('Content-Type'), msgId: msg.headers?.get('Nats-Msg-Id') });
        if (verdict.kind !== 'apply') throw new Error(`the bridge would dead-letter ${msg.subject}: ${verdict.reason}`);
        return `${verdict.answer.name}:${verdict.answer.data.correlation.requestId}`;
      });
      expect(names.sort()).toEqual(
        [
          'mandate_accepted:mandate-1-skatteverket',
          'mandate_declined:mandate-2-skatteverket',
          'information_provided:info-1-skatteverket',
          'readiness_confirmed:briefing-1-skatteverket',
          'findings_reported:findings-1-skatteverket',
          'outcome_reported:outcome-1-skatteverket',
        ].sort(),
      );
    } finally {
      child.kill('SIGTERM');
    }
    // The sample closes its connection on SIGTERM and exits by itself.
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code, output).toBe(0);
  });
});

describe('what the server enforces, said alike by asyncapi.yaml, the generated NATS config and the guide', () => {
  type Facts = ReturnType<typeof agencyAccountFacts>;
  const stated = () =>
    (parseYaml(readFileSync(join(PROJECT_ROOT, ASYNCAPI_FILE), 'utf8')) as { servers: { nats: { 'x-los-nats': Facts } } }).servers.nats['x-los-nats'];
  /** One `| a | b | … |` table of the guide: the rows after the heading, first cell to the rest. */
  const table = (heading: string) => {
    const section = new RegExp(`${heading}\\n([\\s\\S]*?)\\n#`).exec(guide())?.[1] ?? '';
    return new Map([...section.matchAll(/^\| ([^|]+?) \| (.*) \|$/gm)].map((m) => [m[1]!.trim(), m[2]!.split(' | ').map((cell) => cell.trim())]));
  };

  it('states the account the NATS config renders for every agency: its rights, prefixes and limits', () => {
    const facts = stated();
    const agencies = loadCatalogueFile().agencies.map((a) => a.id);
    const config = natsAccountsConfig({ agencies, publicKeys: publicKeys(freshSeeds(agencies)) });
    const list = (subjects: string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
    for (const agency of agencies) {
      const block = new RegExp(`^  ${agencyAccount(agency)}: \\{\\n([\\s\\S]*?)^  \\}$`, 'm').exec(config)?.[1] ?? '';
      const forAgency = (subjects: string[]) => subjects.map((s) => s.replaceAll('{agency}', agency));
      const { maxPayloadBytes, maxConnections, maxSubscriptions } = facts.limits;
      expect(block, agency).toContain(
        `limits: { max_payload: ${maxPayloadBytes}, max_connections: ${maxConnections}, max_subscriptions: ${maxSubscriptions} }`,
      );
      expect(block, agency).toContain(`publish: { allow: ${list(forAgency(facts.publish))} }`);
      expect(block, agency).toContain(`subscribe: { allow: ${list(forAgency(facts.subscribe))} }`);
      // The JetStream calls are imported under the API prefix (not a JetStream domain), the inbox under its own prefix.
      expect(block, agency).toContain(`to: "${facts.jetStreamApiPrefix}.CONSUMER.MSG.NEXT.${SUBJECTS.streamOut}.${SUBJECTS.agencyConsumer(agency)}"`);
      expect(forAgency(facts.subscribe)).toEqual([`${facts.inboxPrefix.replace('{agency}', agency)}.>`]);
    }
    expect(facts.deadLetterSubject.replace('{agency}', 'polisen')).toBe(SUBJECTS.inboundDeadLetter('polisen'));
    expect(facts.refusals.toldBack).toEqual(NotAppliedReason.options);
    expect(facts).toEqual(agencyAccountFacts());
    const schemes = (
      parseYaml(readFileSync(join(PROJECT_ROOT, ASYNCAPI_FILE), 'utf8')) as { components: { securitySchemes: Record<string, { type: string }> } }
    ).components.securitySchemes;
    expect(Object.fromEntries(Object.entries(schemes).map(([name, scheme]) => [name, scheme.type]))).toEqual({ tls: 'X509', nkey: 'asymmetricEncryption' });
  });

  it("is what the guide's tables say: the limits, the prefixes, and which refusals are dead-lettered", () => {
    const facts = stated();
    const limits = table('### Limits the server enforces');
    const value = (row: string) => limits.get(row)?.[0];
    expect(value('message size')).toBe(`${facts.limits.maxPayloadBytes} bytes (body and headers)`);
    expect(facts.limits.maxMessageBytes).toBe(facts.limits.maxPayloadBytes);
    expect(value('connections of your account')).toBe(String(facts.limits.maxConnections));
    expect(value('subscriptions of your account')).toBe(String(facts.limits.maxSubscriptions));
    expect(value('inbound quota: your answers stored in your intake, per answer subject')).toBe(String(facts.limits.inboundQuotaPerAnswerSubject));
    expect(value('your dead letters kept')).toBe(String(facts.limits.deadLettersPerAgency));

    const refusals = table('## Answers that are not applied');
    const reasons = [...refusals.keys()].filter((key) => /^`\w+`$/.test(key) && key !== '`reason`').map((key) => key.slice(1, -1));
    expect(reasons).toEqual(facts.refusals.toldBack);
    expect(reasons.filter((reason) => refusals.get(`\`${reason}\``)![1] === 'yes')).toEqual(facts.refusals.deadLettered);

    const text = guide();
    for (const term of [
      `JetStream API prefix \`${facts.jetStreamApiPrefix}\``,
      `Inbox prefix \`${facts.inboxPrefix.replace('{agency}', '<agency>')}\``,
      facts.deadLetterSubject.replace('{agency}', '<agency>'),
      `intake** \`${facts.intakeStream.replace('{AGENCY}', '<AGENCY>')}\``,
      'TLS server name',
      '-NAK {"delay": <nanoseconds>}',
      'publish acknowledgement',
    ])
      expect(text, term).toContain(term);
  });
});
