import { readFile } from 'node:fs/promises';
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { NamespaceNotFoundError, type UpdateDefinition } from '@temporalio/common';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import {
  AGENCY_IDS,
  AssessmentDecision,
  CallOffAction,
  CancelOperation,
  CloseOperation,
  OperationConfig,
  OrderReinspection,
  PHASES,
  QuorumDecision,
  RescheduleAction,
  ScheduleAction,
  Tip,
  actionTimeProblem,
  formatStockholm,
  parseWith,
  quoteValue,
  readInstant,
  type AgencyId,
  type DecisionReceipt,
  type Phase,
  type Sealed,
} from '../domain/index.js';
import {
  SEARCH_ATTRIBUTE_FLAGS,
  TASK_QUEUE,
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
} from '../workflows/definitions.js';
import { readFileSync } from 'node:fs';
import { AccessDenied, readAs, tokenVerifier } from '../workers/access.js';
import { AuditLog } from '../workers/audit.js';
import { clientDataConverter } from '../workers/codec.js';
import { ErasedError, openKeyStore, readMasterKeyring, type KeyStore } from '../workers/keys.js';
import { SetupError, requireEntityKey } from './entityReference.js';
import { InvalidInputError, loadCatalogueFile, registerTip, type Registration } from './operations.js';
import { sealDecision } from './sealing.js';
import { operationsQuery, searchAttributesCreateCommand, temporalCliCommand } from './queries.js';
import { operationReport, operationsTable, type ListedOperation } from './render.js';

/**
 * `los`: the coordinator's command line. Every decision is parsed here with the same domain schema the
 * workflow's update validator uses, so a bad decision fails at once, without a server; the validator stays
 * the authority on what the operation allows now.
 *
 * Exit codes: 0 done; 1 the input or the decision was rejected (or names no operation); 2 Temporal, or the
 * operation's worker, could not be reached in time, or the setup is incomplete (a namespace without the LOS
 * search attributes, no entity key).
 */

const CONNECT_TIMEOUT = '3 seconds';
/** A query or update needs a worker to answer; without one the call would wait forever. */
const CALL_TIMEOUT_MS = 15_000;

const GRPC_UNAVAILABLE = 14;

class Unreachable extends Error {
  override name = 'Unreachable';
}

interface CommonOptions {
  address: string;
  namespace: string;
  json?: boolean;
  /** nats-server with the key store and the access log (NATS_URL; with the engine accounts, an NKEY seed in NATS_NKEY_SEED_FILE). */
  nats: string;
}

/** What sealing and reading need: the key store and the access log on NATS. The master key comes from the environment. */
interface Vault {
  keys: KeyStore;
  audit: AuditLog;
}

/** What a command prints: `text` for a person, `json` (one document) with --json; warnings go to stderr. */
interface Output {
  text: string;
  json: unknown;
  warnings?: string[];
}

interface Failure {
  message: string;
  exitCode: 1 | 2;
  /** Facts behind the message, for --json (e.g. how an operation ended). */
  details?: Record<string, unknown>;
}

/** A refusal that carries facts a program reading --json wants separately from the message. */
class Refused extends InvalidInputError {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Every distinct message down the cause chain: Temporal's own reason sits under the SDK's summary. */
function withCauses(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message && !messages.some((m) => m.includes(e.message))) messages.push(e.message);
  }
  return clipQuoted(messages.join(': ') || String(err));
}

/** Quoted values inside a message (commander's, Temporal's) are cut like every rejected value is. */
function clipQuoted(message: string): string {
  return message.replace(/'([^']{100})[^']+'/g, (_all, head: string) => `'${head}…'`).replace(/"([^"]{100})[^"]+"/g, (_all, head: string) => `"${head}…"`);
}

function grpcCode(err: unknown): number | undefined {
  // The gRPC status sits under the SDK's own error, in the cause chain.
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

function classify(err: unknown, options: CommonOptions): Failure {
  if (err instanceof Refused) return { message: err.message, exitCode: 1, details: err.details };
  if (err instanceof InvalidInputError) return { message: err.message, exitCode: 1 };
  if (err instanceof SetupError) return { message: err.message, exitCode: 2 };
  if (err instanceof AccessDenied || err instanceof ErasedError) return { message: err.message, exitCode: 1 };
  // The validator's message already names the decision and the field.
  if (err instanceof WorkflowUpdateFailedError) return { message: err.cause?.message ?? err.message, exitCode: 1 };
  if (err instanceof WorkflowNotFoundError) return { message: `operation "${err.workflowId}" not found in namespace "${options.namespace}"`, exitCode: 1 };
  if (err instanceof NamespaceNotFoundError) return { message: `namespace "${err.namespace}" not found at ${options.address}`, exitCode: 1 };
  if (err instanceof Unreachable) return { message: err.message, exitCode: 2 };
  const noWorker = `no answer within ${CALL_TIMEOUT_MS / 1000} s: is a worker polling the operation's task queue?`;
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return { message: `${noWorker} The decision may still be applied when one does; check with \`los show\``, exitCode: 2 };
  }
  if (isGrpcDeadlineError(err)) return { message: noWorker, exitCode: 2 };
  if (grpcCode(err) === GRPC_UNAVAILABLE) return { message: `lost the connection to Temporal at ${options.address}: ${(err as Error).message}`, exitCode: 2 };
  return { message: withCauses(err), exitCode: 1 };
}

/** The search attribute a Temporal error says the namespace lacks, if that is what it says. */
function missingSearchAttribute(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const match = /no mapping defined for search attribute (\w+)|'(\w+)' is not a valid search attribute/.exec(e.message);
    if (match) return match[1] ?? match[2];
  }
  return undefined;
}

/**
 * A namespace without the LOS search attributes is a setup error with a known fix: name every missing one
 * (Temporal names only the first) and the command that creates them.
 */
async function explainSetup(err: unknown, connection: Connection, options: CommonOptions): Promise<unknown> {
  const named = missingSearchAttribute(err);
  if (named === undefined) return err;
  let missing = [named];
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: options.namespace });
    missing = Object.keys(SEARCH_ATTRIBUTE_FLAGS).filter((name) => !(name in (customAttributes ?? {})));
  } catch {
    // Listing needs operator rights; the attribute Temporal named is then all we can say.
  }
  return new SetupError(
    `namespace "${options.namespace}" lacks the LOS search attribute${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ` +
      `(Temporal: ${withCauses(err)}); create ${missing.length === 1 ? 'it' : 'them'} with: ${searchAttributesCreateCommand(options.namespace, options.address, missing)}`,
  );
}

async function withVault<T>(options: CommonOptions, work: (vault: Vault) => Promise<T>): Promise<T> {
  let keyring;
  try {
    keyring = readMasterKeyring(process.env);
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
  let store: Awaited<ReturnType<typeof openKeyStore>>;
  try {
    store = await openKeyStore({
      servers: options.nats,
      keyring,
      name: 'los-cli',
      ...(process.env.NATS_NKEY_SEED_FILE ? { nkeySeedFile: process.env.NATS_NKEY_SEED_FILE } : {}),
    });
  } catch (err) {
    throw new Unreachable(`cannot reach the key store on nats-server at ${options.nats}: ${(err as Error).message}`);
  }
  try {
    return await work({ keys: store.keys, audit: await AuditLog.open(store.nc) });
  } finally {
    await store.close();
  }
}

/** A Temporal client; with a vault it encrypts what it sends and decrypts what it reads (the payload codec). */
async function withClient<T>(options: CommonOptions, work: (client: Client) => Promise<T>, vault?: Vault): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: options.address, connectTimeout: CONNECT_TIMEOUT });
  } catch (err) {
    throw new Unreachable(`cannot reach Temporal at ${options.address}: ${(err as Error).message}`);
  }
  try {
    const client = new Client({ connection, namespace: options.namespace, ...(vault ? { dataConverter: clientDataConverter(vault.keys) } : {}) });
    return await client.withDeadline(Date.now() + CALL_TIMEOUT_MS, () => work(client));
  } catch (err) {
    throw await explainSetup(err, connection, options);
  } finally {
    await connection.close();
  }
}

function parsed<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = parseWith(schema, input, what);
  if (!result.ok) throw new InvalidInputError(result.error);
  return result.value;
}

/** Which options a decision needs: command-line shape only; what the values may be is the schema's call. */
function requireOptions<O extends object>(command: string, options: O, names: (keyof O & string)[]) {
  const missing = names.filter((name) => {
    const value: unknown = options[name];
    return value === undefined || (Array.isArray(value) && value.length === 0);
  });
  if (missing.length > 0) throw new InvalidInputError(`${command} needs ${missing.map((name) => `--${name}`).join(' and ')}`);
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

async function readTip(path: string): Promise<unknown> {
  let text: string;
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      text = await readFile(path, 'utf8');
    }
  } catch (err) {
    throw new InvalidInputError(`tip file ${path}: could not be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`tip file ${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Decisions only make sense on a running operation; an ended one gets a plain answer, not an RPC error. */
async function runningOperation(client: Client, operationId: string) {
  const handle = client.workflow.getHandle(operationId);
  const description = await handle.describe();
  const status = description.status.name;
  if (status !== 'RUNNING') {
    const phase = description.typedSearchAttributes.get(searchAttributes.phase);
    // A completed operation's phase says how it ended; a terminated or timed-out one only where it stopped.
    const how = status === 'COMPLETED' && phase ? phase : `${status.toLowerCase().replaceAll('_', ' ')}${phase ? ` in phase ${phase}` : ''}`;
    throw new InvalidInputError(`operation "${operationId}" has ended (${how}); it takes no more decisions`);
  }
  return handle;
}

async function decide<T>(
  options: CommonOptions,
  operationId: string,
  update: UpdateDefinition<DecisionReceipt, [T]>,
  decision: T,
  done: string,
): Promise<Output> {
  return withVault(options, (vault) =>
    withClient(
      options,
      async (client) => {
        const handle = await runningOperation(client, operationId);
        // Free text is personal data: sealed with the operation's key before it reaches Temporal.
        await handle.executeUpdate(update, { args: [(await sealDecision(vault.keys, operationId, decision as object)) as T] });
        // The main loop may already have moved on from what the update returned; show where it stands now.
        const state = await handle.query(stateQuery);
        return {
          text: `${done}: ${operationId} is in phase ${state.phase}, waiting for ${state.waitingFor}`,
          json: { operationId, decision, state },
        };
      },
      vault,
    ),
  );
}

/** The client-side check of an action time; the workflow's validator, on Temporal's clock, has the last word. */
function checkActionTime(what: string, at: string) {
  const problem = actionTimeProblem(Date.parse(at), Date.now());
  if (problem) throw new InvalidInputError(`${what} rejected: at ${quoteValue(at)} ${problem}`);
}

async function withEcho(echo: string | undefined, output: Promise<Output>): Promise<Output> {
  const done = await output;
  return echo ? { ...done, warnings: [echo, ...(done.warnings ?? [])] } : done;
}

/** The entity reference an operation was registered with; older operations have none. */
async function entityRefOf(client: Client, operationId: string): Promise<string> {
  const description = await client.workflow.getHandle(operationId).describe();
  const entityRef = description.typedSearchAttributes.get(searchAttributes.entityRef);
  if (entityRef === undefined)
    throw new InvalidInputError(
      `operation "${operationId}" has no entity reference (${searchAttributes.entityRef.name}): it was registered before references existed`,
    );
  return entityRef;
}

function listed(info: WorkflowExecutionInfo): ListedOperation {
  const attributes = info.typedSearchAttributes;
  const nextDeadline = attributes.get(searchAttributes.nextDeadline);
  const phase = attributes.get(searchAttributes.phase);
  const overdue = attributes.get(searchAttributes.overdue);
  const municipality = attributes.get(searchAttributes.municipality);
  return {
    operationId: info.workflowId,
    status: info.status.name,
    ...(phase !== undefined ? { phase } : {}),
    ...(overdue !== undefined ? { overdue } : {}),
    ...(nextDeadline !== undefined ? { nextDeadline: nextDeadline.toISOString() } : {}),
    ...(municipality !== undefined ? { municipality } : {}),
    agencies: attributes.get(searchAttributes.agencies) ?? [],
    startedAt: info.startTime.toISOString(),
  };
}

function buildProgram(perform: (options: CommonOptions, work: () => Promise<Output>) => Promise<void>, json: boolean): Command {
  const program = new Command('los')
    .description('Coordinate LOS operations: register tips, make the decisions each phase needs, and follow them.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      // With --json, the mistake goes out as the JSON document (runCli), not as text on stderr.
      writeErr: (text) => {
        if (!json) process.stderr.write(text);
      },
      outputError: (text, write) => write(clipQuoted(text)),
    });

  /** Every command talks to Temporal the same way and can answer in JSON. */
  const command = (parent: Command, nameAndArgs: string, description: string) =>
    parent
      .command(nameAndArgs)
      .description(description)
      .addOption(new Option('--address <host:port>', 'Temporal frontend address').env('TEMPORAL_ADDRESS').default('127.0.0.1:7233'))
      .addOption(new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE').default('default'))
      .addOption(new Option('--nats <url>', 'nats-server holding the key store and the access log').env('NATS_URL').default('nats://127.0.0.1:4222'))
      .option('--json', 'print one JSON document on stdout');

  const tip = program.command('tip').description('Tips (the start of every operation).');
  const register = command(tip, 'register <file>', 'Register a tip from a JSON file (or - for stdin) and print the operation ID.')
    .option('--task-queue <name>', 'task queue of the operation workers', TASK_QUEUE)
    .option('--catalogue <file>', "the municipality's mandate catalogue (default: the national one)")
    .addOption(new Option('--token <jwt>', 'your access token: reads why an operation ended, if the tip turns out to be registered already').env('LOS_TOKEN'));
  for (const [option, description] of CONFIG_OPTIONS) register.option(option, description);
  register.action((file: string, options: CommonOptions & ConfigOptions & { taskQueue: string; catalogue?: string; token?: string }) =>
    perform(options, async () => {
      // Parsed before connecting: a bad tip or deadline is named field by field even when no server is reachable.
      const rawTip = await readTip(file);
      const parsedTip = parsed(Tip, rawTip, 'tip');
      const config = configFrom(options);
      const catalogue = options.catalogue === undefined ? undefined : loadCatalogue(options.catalogue);
      const echo = readAsLocal('receivedAt', (rawTip as { receivedAt?: unknown }).receivedAt, parsedTip.receivedAt);
      const entityKey = requireEntityKey();
      return withVault(options, (vault) =>
        withClient(
          options,
          async (client) => {
            const registration = await registerTip(client, rawTip, {
              keys: vault.keys,
              taskQueue: options.taskQueue,
              config,
              entityKey,
              ...(catalogue ? { catalogue } : {}),
            });
            const reason = registration.ended?.reason;
            if (reason !== undefined && typeof reason !== 'string') {
              // Why an operation ended is personal data: read with the same rights as the codec server, and logged.
              registration.ended!.reason = options.token
                ? await readReason(vault, options.token, registration.operationId, reason)
                : '(sealed: give your --token to read it)';
            }
            return registrationOutput(registration, echo);
          },
          vault,
        ),
      );
    }),
  );

  command(program, 'assess <operation>', 'Assessment decision: proceed, dismiss (--reason) or request-info (--agency …, --question).')
    .addArgument(new Argument('<decision>', 'the decision').choices(['proceed', 'dismiss', 'request-info']))
    .option('--reason <text>', 'why the tip is dismissed')
    .option('--agency <agency>', 'agency asked for information (repeatable)', repeatable)
    .option('--question <text>', 'what the agencies are asked')
    .option('--note <text>', 'a note recorded with proceed')
    .action((operationId: string, choice: string, options: CommonOptions & { reason?: string; agency?: string[]; question?: string; note?: string }) =>
      perform(options, async () => {
        let input: unknown;
        if (choice === 'dismiss') {
          requireOptions('assess dismiss', options, ['reason']);
          input = { decision: 'dismiss', reason: options.reason };
        } else if (choice === 'request-info') {
          requireOptions('assess request-info', options, ['agency', 'question']);
          input = { decision: 'request_info', agencies: options.agency, question: options.question };
        } else {
          input = { decision: 'proceed', ...(options.note !== undefined ? { note: options.note } : {}) };
        }
        const decision = parsed(AssessmentDecision, input, 'assessment');
        return decide(options, operationId, assessUpdate, decision, 'assessment recorded');
      }),
    );

  command(program, 'quorum <operation>', 'When too few agencies accepted: proceed, dismiss (--reason) or request-again (--agency …).')
    .addArgument(new Argument('<decision>', 'the decision').choices(['proceed', 'dismiss', 'request-again']))
    .option('--reason <text>', 'why the operation is dismissed')
    .option('--agency <agency>', 'agency asked again for its mandate (repeatable)', repeatable)
    .action((operationId: string, choice: string, options: CommonOptions & { reason?: string; agency?: string[] }) =>
      perform(options, async () => {
        let input: unknown;
        if (choice === 'dismiss') {
          requireOptions('quorum dismiss', options, ['reason']);
          input = { decision: 'dismiss', reason: options.reason };
        } else if (choice === 'request-again') {
          requireOptions('quorum request-again', options, ['agency']);
          input = { decision: 'request_again', agencies: options.agency };
        } else {
          input = { decision: 'proceed' };
        }
        const decision = parsed(QuorumDecision, input, 'quorum decision');
        return decide(options, operationId, decideQuorumUpdate, decision, 'quorum decision recorded');
      }),
    );

  command(program, 'schedule <operation>', 'Schedule the joint action.')
    .requiredOption('--at <time>', 'start time, e.g. 2026-03-12T19:00 (Stockholm time) or 2026-03-12T19:00:00+01:00; within two years')
    .requiredOption('--place <text>', 'where the action takes place')
    .requiredOption('--lead <agency>', 'lead agency; must have accepted its mandate')
    .action((operationId: string, options: CommonOptions & { at: string; place: string; lead: string }) =>
      perform(options, async () => {
        const plan = parsed(ScheduleAction, { at: options.at, place: options.place, lead: options.lead }, 'schedule');
        checkActionTime('schedule', plan.at);
        return withEcho(readAsLocal('--at', options.at, plan.at), decide(options, operationId, scheduleUpdate, plan, 'joint action scheduled'));
      }),
    );

  command(program, 'reschedule <operation>', 'Move a scheduled joint action that has not started.')
    .requiredOption('--at <time>', 'new start time, e.g. 2026-03-12T19:00 (Stockholm time) or with an offset')
    .option('--place <text>', 'new place, if it changes')
    .requiredOption('--reason <text>', 'why it moves; every participant is told')
    .action((operationId: string, options: CommonOptions & { at: string; place?: string; reason: string }) =>
      perform(options, async () => {
        const change = parsed(
          RescheduleAction,
          { at: options.at, reason: options.reason, ...(options.place !== undefined ? { place: options.place } : {}) },
          'reschedule',
        );
        checkActionTime('reschedule', change.at);
        return withEcho(readAsLocal('--at', options.at, change.at), decide(options, operationId, rescheduleUpdate, change, 'joint action rescheduled'));
      }),
    );

  command(program, 'call-off <operation>', 'Call off a scheduled joint action, e.g. when the Police ask to hold back.')
    .requiredOption('--reason <text>', 'why; every participant is told')
    .action((operationId: string, options: CommonOptions & { reason: string }) =>
      perform(options, async () =>
        decide(options, operationId, callOffUpdate, parsed(CallOffAction, { reason: options.reason }, 'call off'), 'joint action called off'),
      ),
    );

  command(program, 'reinspect <operation>', 'At follow-up: order a new joint action instead of closing.')
    .requiredOption('--reason <text>', 'why a re-inspection is needed')
    .action((operationId: string, options: CommonOptions & { reason: string }) =>
      perform(options, async () =>
        decide(options, operationId, reinspectUpdate, parsed(OrderReinspection, { reason: options.reason }, 'reinspection'), 're-inspection ordered'),
      ),
    );

  command(program, 'close <operation>', 'At follow-up: close the operation with an outcome summary.')
    .requiredOption('--summary <text>', 'the outcome in the coordinator’s words')
    .action((operationId: string, options: CommonOptions & { summary: string }) =>
      perform(options, async () => decide(options, operationId, closeUpdate, parsed(CloseOperation, { summary: options.summary }, 'close'), 'close recorded')),
    );

  command(program, 'cancel <operation>', 'Cancel the operation in any phase; every agency already involved is told.')
    .requiredOption('--reason <text>', 'why')
    .action((operationId: string, options: CommonOptions & { reason: string }) =>
      perform(options, async () =>
        decide(options, operationId, cancelUpdate, parsed(CancelOperation, { reason: options.reason }, 'cancel'), 'cancellation recorded'),
      ),
    );

  command(program, 'show <operation>', 'Phase, what it waits for, the next deadline, the agencies’ answers and the timeline.')
    .addOption(new Option('--token <jwt>', 'your access token; without one, personal fields show as (sealed)').env('LOS_TOKEN'))
    .action((operationId: string, options: CommonOptions & { token?: string }) =>
      perform(options, () =>
        withVault(options, (vault) =>
          withClient(
            options,
            async (client) => {
              const handle = client.workflow.getHandle(operationId);
              // One after the other: a query left in flight would retry on the connection after it is closed.
              let state = await handle.query(stateQuery);
              let timeline = await handle.query(timelineQuery);
              if (options.token) {
                // The same rights as the codec server, and the read is on the access log.
                const reader = await (await tokenVerifier(issuerJwk())).verify(options.token);
                [state, timeline] = (await readAs(vault.keys, vault.audit, {
                  reader,
                  action: 'show',
                  operationId,
                  values: [state, timeline],
                  payloads: [],
                })) as [typeof state, typeof timeline];
              }
              return { text: operationReport(state, timeline, Date.now()), json: { state, timeline } };
            },
            vault,
          ),
        ),
      ),
    );

  command(program, 'audit <operation>', 'The access log of one operation: who read its personal data, in which role, when, allowed or refused.').action(
    (operationId: string, options: CommonOptions) =>
      perform(options, () =>
        withVault(options, async ({ audit }) => {
          const records = await audit.forOperation(operationId);
          const lines = records.map(
            (r) => `${r.at}  ${r.allowed ? 'allowed' : 'REFUSED'}  ${r.action}  ${r.who} (${r.role})  ${r.payloads.length} payload(s)  ${r.detail}`,
          );
          return { text: lines.length > 0 ? lines.join('\n') : `no recorded access to ${operationId}`, json: { operationId, records } };
        }),
      ),
  );

  const keysCommand = program.command('keys').description('The key store: master-key rotation.');
  command(keysCommand, 'rotate', 'Re-wrap every data key with the current master key (LOS_MASTER_KEY: new key first, then the old ones).').action(
    (options: CommonOptions) =>
      perform(options, () =>
        withVault(options, async ({ keys }) => {
          const { rewrapped, entries } = await keys.rotate();
          const inUse = await keys.masterKeysInUse();
          return {
            text: `re-wrapped ${rewrapped} of ${entries} keys with master key ${keys.currentMasterKeyId}; master keys in use: ${
              Object.entries(inUse)
                .map(([id, n]) => `${id} (${n})`)
                .join(', ') || 'none'
            }`,
            json: { rewrapped, entries, currentMasterKeyId: keys.currentMasterKeyId, inUse },
          };
        }),
      ),
  );

  command(program, 'list', 'List operations through Temporal visibility; prints the query for the UI or the temporal CLI.')
    .addOption(new Option('--phase <phase>', 'only operations in this phase').choices(PHASES))
    .option('--overdue', 'only operations with a missed deadline')
    .option('--municipality <name>', 'only operations in this municipality')
    .addOption(new Option('--agency <agency>', 'only operations involving this agency').choices(AGENCY_IDS))
    .option('--same-business <operation>', 'only operations about the same business as this one (same entity reference)')
    .option('--limit <n>', 'at most this many operations', positiveInteger, 50)
    .action((options: CommonOptions & { phase?: Phase; overdue?: boolean; municipality?: string; agency?: AgencyId; sameBusiness?: string; limit: number }) =>
      perform(options, () =>
        withClient(options, async (client) => {
          const entityRef = options.sameBusiness === undefined ? undefined : await entityRefOf(client, options.sameBusiness);
          const query = operationsQuery({
            ...(options.phase ? { phase: options.phase } : {}),
            ...(options.overdue ? { overdue: true } : {}),
            // Stored NFC-normalised, so "Umeå" typed with a combining ring finds it too.
            ...(options.municipality !== undefined ? { municipality: options.municipality.normalize('NFC').trim() } : {}),
            ...(options.agency ? { agency: options.agency } : {}),
            ...(entityRef !== undefined ? { entityRef } : {}),
          });
          const operations: ListedOperation[] = [];
          for await (const info of client.workflow.list({ query, pageSize: options.limit })) {
            operations.push(listed(info));
            if (operations.length >= options.limit) break;
          }
          const more = operations.length >= options.limit ? ` (the first ${options.limit}; --limit for more)` : '';
          return {
            text: [
              `Query: ${query}`,
              `  paste it into the Temporal UI's workflow search, or run:`,
              `  ${temporalCliCommand(query, options.namespace)}`,
              '',
              operationsTable(operations, Date.now()),
              '',
              `${operations.length} operation${operations.length === 1 ? '' : 's'}${more}`,
            ].join('\n'),
            json: { query, operations },
          };
        }),
      ),
    );

  return program;
}

/** The operation's deadlines and periods, as `los tip register` options; checked with OperationConfig. */
const CONFIG_OPTIONS: [string, string][] = [
  ['--assessment-deadline <duration>', 'time for the assessment decision (default "10 working days")'],
  ['--information-deadline <duration>', 'time an agency has to answer an information request (default "5 working days")'],
  ['--mandate-deadline <duration>', 'time agencies have to accept or decline (default "5 working days")'],
  ['--findings-deadline <duration>', 'time after the action to report findings (default "10 working days")'],
  ['--follow-up-after <duration>', 'follow-up period after the action (default "90 days")'],
  ['--outcome-deadline <duration>', 'time to report outcomes once asked (default "20 working days")'],
  ['--reminder-fraction <fraction>', 'remind when this fraction of a deadline has passed (default 0.5)'],
  ['--quorum <n>', 'agencies that must accept (default 2)'],
];
type ConfigOptions = Partial<
  Record<
    'assessmentDeadline' | 'informationDeadline' | 'mandateDeadline' | 'findingsDeadline' | 'followUpAfter' | 'outcomeDeadline' | 'reminderFraction' | 'quorum',
    string
  >
>;

const optionName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function configFrom(options: ConfigOptions) {
  const numeric = (value: string | undefined) =>
    value === undefined ? undefined : value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  const given = {
    assessmentDeadline: options.assessmentDeadline,
    informationDeadline: options.informationDeadline,
    mandateDeadline: options.mandateDeadline,
    findingsDeadline: options.findingsDeadline,
    followUpAfter: options.followUpAfter,
    outcomeDeadline: options.outcomeDeadline,
    reminderFraction: numeric(options.reminderFraction),
    quorum: numeric(options.quorum),
  };
  const config = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  const result = parseWith(OperationConfig, config, 'tip register', optionName);
  if (!result.ok) throw new InvalidInputError(result.error);
  return config;
}

/** How a time typed without an offset was read, said back so the coordinator can check it. */
function readAsLocal(field: string, typed: unknown, stored: string): string | undefined {
  if (typeof typed !== 'string') return undefined;
  const reading = readInstant(typed);
  return reading.ok && reading.readAsLocal ? `${field} ${quoteValue(typed)} read as Stockholm time: ${stored}` : undefined;
}

function registrationOutput(registration: Registration, echo: string | undefined): Output {
  const { operationId, outcome } = registration;
  const warnings = [
    ...(echo ? [echo] : []),
    ...registration.sameBusiness.map(
      (other) =>
        `warning: another open operation concerns the same business: ${other.operationId} (${other.phase ?? 'phase unknown'}, ${other.municipality ?? 'municipality unknown'}); ` +
        `\`los list --same-business ${operationId}\` lists them`,
    ),
  ];
  const json = { operationId, outcome, started: registration.started, entityRef: registration.entityRef, sameBusiness: registration.sameBusiness };
  if (outcome === 'ended') {
    const ended = registration.ended!;
    const when = ended.at ? ` on ${formatStockholm(ended.at)}` : '';
    const why = ended.reason === undefined ? '' : typeof ended.reason === 'string' ? ` (${quoteValue(ended.reason)})` : ' (reason sealed)';
    throw new Refused(
      `tip already registered as operation ${operationId}, which has ended: ${ended.how}${when}${why}; nothing started and nothing corrected. ` +
        'If the case has come back, register it as a new tip, with the time it came back as receivedAt.',
      { ...json, ended },
    );
  }
  if (outcome === 'corrected') {
    const { changed, told } = registration.correction!;
    return {
      text: `tip already registered as operation ${operationId}: corrected ${changed.join(', ')}; ${told.length > 0 ? `told ${told.join(', ')}` : 'no agency holds the changed data'}`,
      json: { ...json, correction: { changed, told } },
      warnings,
    };
  }
  return {
    text: outcome === 'started' ? `started operation ${operationId}` : `tip already registered: operation ${operationId} exists; nothing started`,
    json,
    warnings,
  };
}

/** A sealed reason, read as the token's holder: unsealed if entitled, on the access log either way; erased, it says when. */
async function readReason(vault: Vault, token: string, operationId: string, reason: Sealed): Promise<string> {
  const reader = await (await tokenVerifier(issuerJwk())).verify(token);
  try {
    const [plain] = await readAs(vault.keys, vault.audit, { reader, action: 'register', operationId, values: [reason], payloads: [] });
    return typeof plain === 'string' ? plain : '(sealed)';
  } catch (err) {
    if (err instanceof AccessDenied) return `(sealed: ${err.message})`;
    if (err instanceof Error && /erased/.test(err.message)) return err.message;
    throw err;
  }
}

/** The token issuer's public key (JWK): LOS_TOKEN_ISSUER_JWK (JSON) or LOS_TOKEN_ISSUER_JWK_FILE. */
function issuerJwk() {
  const text =
    process.env.LOS_TOKEN_ISSUER_JWK ?? (process.env.LOS_TOKEN_ISSUER_JWK_FILE ? readFileSync(process.env.LOS_TOKEN_ISSUER_JWK_FILE, 'utf8') : undefined);
  if (!text) throw new InvalidInputError('a token needs the issuer key to check it: set LOS_TOKEN_ISSUER_JWK or LOS_TOKEN_ISSUER_JWK_FILE');
  return JSON.parse(text) as import('jose').JWK;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function loadCatalogue(path: string) {
  try {
    return loadCatalogueFile(path);
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
}

/** Runs one command line (argv as in process.argv) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const perform = async (options: CommonOptions, work: () => Promise<Output>) => {
    try {
      const output = await work();
      const warnings = output.warnings ?? [];
      if (options.json) {
        const json = warnings.length > 0 && typeof output.json === 'object' && output.json !== null ? { ...output.json, warnings } : output.json;
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        process.stdout.write(`${output.text}\n`);
        for (const warning of warnings) process.stderr.write(`${warning}\n`);
      }
    } catch (err) {
      const failure = classify(err, options);
      exitCode = failure.exitCode;
      if (options.json) process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
      else process.stderr.write(`error: ${failure.message}\n`);
    }
  };
  // A command-line mistake is a failure like any other: with --json, one JSON document on stdout and nothing
  // on stderr. Commander finds the mistake before any action runs, so --json is looked for in argv itself.
  const json = argv.slice(2).includes('--json');
  const program = buildProgram(perform, json);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    const asked = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version';
    if (json && !asked) {
      const failure: Failure = { message: clipQuoted(err.message.replace(/^error: /, '')), exitCode: 1 };
      process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
      return failure.exitCode;
    }
    return asked ? 0 : 1;
  }
  return exitCode;
}
