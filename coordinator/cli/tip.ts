import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OperationConfig, Tip, formatStockholm, quoteValue } from '../../domain/index.js';
import { InvalidInputError, parseInput, type Registration } from '../client.js';
import { apiClient, command, readAsLocal, type CommonOptions, type Output, type Perform } from './command.js';
import { Refused } from './failures.js';

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
  ['--retention <duration>', 'how long personal data is kept after the operation ends, then erased (default "90 days")'],
];
type ConfigOptions = Partial<
  Record<
    | 'assessmentDeadline'
    | 'informationDeadline'
    | 'mandateDeadline'
    | 'findingsDeadline'
    | 'followUpAfter'
    | 'outcomeDeadline'
    | 'reminderFraction'
    | 'quorum'
    | 'retention',
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
    retention: options.retention,
  };
  const config = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  parseInput(OperationConfig, config, 'tip register', optionName);
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
  const json = {
    operationId,
    outcome,
    started: outcome === 'started',
    ...(registration.entityRef !== undefined ? { entityRef: registration.entityRef } : {}),
    sameBusiness: registration.sameBusiness,
  };
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

export function tipCommands(program: Command, perform: Perform): void {
  const tip = program.command('tip').description('Tips (the start of every operation).');
  const register = command(tip, 'register <file>', 'Register a tip from a JSON file (or - for stdin) and print the operation ID.');
  for (const [option, description] of CONFIG_OPTIONS) register.option(option, description);
  register.action((file: string, options: CommonOptions & ConfigOptions) =>
    perform(options, async () => {
      // Parsed before any request: a bad tip or deadline is named field by field even when the API is unreachable.
      const rawTip = await readTip(file);
      const parsedTip = parseInput(Tip, rawTip, 'tip');
      const config = configFrom(options);
      const echo = readAsLocal('receivedAt', (rawTip as { receivedAt?: unknown }).receivedAt, parsedTip.receivedAt);
      const registration = await apiClient(options).registerTip(rawTip, { config });
      return registrationOutput(registration, echo);
    }),
  );
}
