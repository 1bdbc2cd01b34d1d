import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { OperationConfig, Tip, formatStockholm, parseWith, quoteValue, type Sealed } from '../../domain/index.js';
import { AccessDenied, readAs, tokenVerifier, ErasedError, requireEntityKey } from '../../vault/index.js';
import { TASK_QUEUE } from '../../workflows/definitions.js';
import { InvalidInputError, registerTip, type Registration } from '../operations.js';
import { loadCatalogueFile } from '../../config/index.js';
import { command, parsed, readAsLocal, type CommonOptions, type Output, type Perform } from './command.js';
import { Refused } from './failures.js';
import { cliAuthor, issuerJwk, withClient, withVault, type Vault } from './servers.js';

/** `los tip register`: the start of every operation, or the correction of a running one. */

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
    if (err instanceof ErasedError) return err.message;
    throw err;
  }
}

function loadCatalogue(path: string) {
  try {
    return loadCatalogueFile(path);
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
}

export function tipCommands(program: Command, perform: Perform): void {
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
              author: cliAuthor(parsedTip.entity.municipality),
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
}
