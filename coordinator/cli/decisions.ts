import { Argument, Option, type Command } from 'commander';
import { ACTION_TIME_PROBLEMS, DECISION_KINDS, actionTimeProblem, quoteValue, type DecisionInput, type DecisionKind } from '../../domain/index.js';
import { InvalidInputError, parseDecision } from '../client.js';
import { apiClient, command, readAsLocal, repeatable, type CommonOptions, type Output, type Perform } from './command.js';

/**
 * The decision commands, one per row of the decision table (domain/decision-table.ts): a decision is parsed
 * here with its row's schema, so a bad one fails at once, before any request; the API sends it to the
 * operation, whose validator stays the authority on what it allows now.
 */

interface Flag {
  flags: string;
  description: string;
  required?: true;
  repeatable?: true;
}

interface DecisionCommand {
  /** `los <name> <operation>` */
  name: string;
  description: string;
  /** A decision that is one of several choices takes the choice as the argument after the operation. */
  choices?: readonly string[];
  flags: Flag[];
  /** The decision as the schema reads it; without this, the flags' values under their own names. */
  input?(options: Record<string, unknown>, choice: string): unknown;
  /** What the command says once the operation has taken the decision. */
  done: string;
}

/** Which options a decision needs: command-line shape only; what the values may be is the schema's call. */
function requireOptions(command: string, options: Record<string, unknown>, names: string[]) {
  const missing = names.filter((name) => {
    const value = options[name];
    return value === undefined || (Array.isArray(value) && value.length === 0);
  });
  if (missing.length > 0) throw new InvalidInputError(`${command} needs ${missing.map((name) => `--${name}`).join(' and ')}`);
}

/** A command per decision: a decision added to the table without one is a type error here. */
export const DECISION_COMMANDS: { [K in DecisionKind]: DecisionCommand } = {
  assessment: {
    name: 'assess',
    description: 'Assessment decision: proceed, dismiss (--reason) or request-info (--agency …, --question).',
    choices: ['proceed', 'dismiss', 'request-info'],
    flags: [
      { flags: '--reason <text>', description: 'why the tip is dismissed' },
      { flags: '--agency <agency>', description: 'agency asked for information (repeatable)', repeatable: true },
      { flags: '--question <text>', description: 'what the agencies are asked' },
      { flags: '--note <text>', description: 'a note recorded with proceed' },
    ],
    input(options, choice) {
      if (choice === 'dismiss') {
        requireOptions('assess dismiss', options, ['reason']);
        return { decision: 'dismiss', reason: options.reason };
      }
      if (choice === 'request-info') {
        requireOptions('assess request-info', options, ['agency', 'question']);
        return { decision: 'request_info', agencies: options.agency, question: options.question };
      }
      return { decision: 'proceed', ...(options.note !== undefined ? { note: options.note } : {}) };
    },
    done: 'assessment recorded',
  },
  'quorum decision': {
    name: 'quorum',
    description: 'When too few agencies accepted: proceed, dismiss (--reason) or request-again (--agency …).',
    choices: ['proceed', 'dismiss', 'request-again'],
    flags: [
      { flags: '--reason <text>', description: 'why the operation is dismissed' },
      { flags: '--agency <agency>', description: 'agency asked again for its mandate (repeatable)', repeatable: true },
    ],
    input(options, choice) {
      if (choice === 'dismiss') {
        requireOptions('quorum dismiss', options, ['reason']);
        return { decision: 'dismiss', reason: options.reason };
      }
      if (choice === 'request-again') {
        requireOptions('quorum request-again', options, ['agency']);
        return { decision: 'request_again', agencies: options.agency };
      }
      return { decision: 'proceed' };
    },
    done: 'quorum decision recorded',
  },
  schedule: {
    name: 'schedule',
    description: 'Schedule the joint action.',
    flags: [
      {
        flags: '--at <time>',
        description: 'start time, e.g. 2026-03-12T19:00 (Stockholm time) or 2026-03-12T19:00:00+01:00; within two years',
        required: true,
      },
      { flags: '--place <text>', description: 'where the action takes place', required: true },
      { flags: '--lead <agency>', description: 'lead agency; must have accepted its mandate', required: true },
    ],
    done: 'joint action scheduled',
  },
  reschedule: {
    name: 'reschedule',
    description: 'Move a scheduled joint action that has not started.',
    flags: [
      { flags: '--at <time>', description: 'new start time, e.g. 2026-03-12T19:00 (Stockholm time) or with an offset', required: true },
      { flags: '--place <text>', description: 'new place, if it changes' },
      { flags: '--reason <text>', description: 'why it moves; every participant is told', required: true },
    ],
    done: 'joint action rescheduled',
  },
  'call off': {
    name: 'call-off',
    description: 'Call off a scheduled joint action, e.g. when the Police ask to hold back.',
    flags: [{ flags: '--reason <text>', description: 'why; every participant is told', required: true }],
    done: 'joint action called off',
  },
  reinspection: {
    name: 'reinspect',
    description: 'At follow-up: order a new joint action instead of closing.',
    flags: [{ flags: '--reason <text>', description: 'why a re-inspection is needed', required: true }],
    done: 're-inspection ordered',
  },
  close: {
    name: 'close',
    description: 'At follow-up: close the operation with an outcome summary.',
    flags: [{ flags: '--summary <text>', description: 'the outcome in the coordinator’s words', required: true }],
    done: 'close recorded',
  },
  cancel: {
    name: 'cancel',
    description: 'Cancel the operation in any phase; every agency already involved is told.',
    flags: [{ flags: '--reason <text>', description: 'why', required: true }],
    done: 'cancellation recorded',
  },
};

/** The commander option of a flag; its attribute name is the field of the decision it gives. */
export function optionOf(flag: Flag): Option {
  const option = new Option(flag.flags, flag.description);
  if (flag.required) option.makeOptionMandatory();
  if (flag.repeatable) option.argParser(repeatable);
  return option;
}

/** The decision a command line gives: its row's own reading, or every flag given under its name. */
export function decisionInput(spec: DecisionCommand, options: Record<string, unknown>, choice = ''): unknown {
  if (spec.input) return spec.input(options, choice);
  const given = spec.flags.map((flag) => optionOf(flag).attributeName()).filter((name) => options[name] !== undefined);
  return Object.fromEntries(given.map((name) => [name, options[name]]));
}

async function decide<K extends DecisionKind>(options: CommonOptions, operationId: string, kind: K, decision: DecisionInput<K>, done: string): Promise<Output> {
  const receipt = await apiClient(options).decide(operationId, kind, decision);
  return {
    text: `${done}: ${operationId} is in phase ${receipt.phase}, waiting for ${receipt.waitingFor}`,
    json: { operationId, decision, receipt },
  };
}

/** The client-side check of an action time; the workflow's validator, on Temporal's clock, has the last word. */
function checkActionTime(what: string, at: string) {
  const problem = actionTimeProblem(Date.parse(at), Date.now());
  if (problem) throw new InvalidInputError(`${what} rejected: at ${quoteValue(at)} ${ACTION_TIME_PROBLEMS[problem]}`);
}

async function withEcho(echo: string | undefined, output: Promise<Output>): Promise<Output> {
  const done = await output;
  return echo ? { ...done, warnings: [echo, ...(done.warnings ?? [])] } : done;
}

async function decideFromCommandLine(
  kind: DecisionKind,
  operationId: string,
  options: CommonOptions & Record<string, unknown>,
  choice?: string,
): Promise<Output> {
  const spec = DECISION_COMMANDS[kind];
  const decision = parseDecision(kind, decisionInput(spec, options, choice));
  const at = 'at' in decision && typeof decision.at === 'string' ? decision.at : undefined;
  if (at === undefined) return decide(options, operationId, kind, decision, spec.done);
  // A decision with a time: checked on this machine's clock first, and a time typed without an offset said back.
  checkActionTime(kind, at);
  return withEcho(readAsLocal('--at', options.at, at), decide(options, operationId, kind, decision, spec.done));
}

export function decisionCommands(program: Command, perform: Perform): void {
  for (const kind of DECISION_KINDS) {
    const spec = DECISION_COMMANDS[kind];
    const decision = command(program, `${spec.name} <operation>`, spec.description);
    if (spec.choices) decision.addArgument(new Argument('<decision>', 'the decision').choices(spec.choices));
    for (const flag of spec.flags) decision.addOption(optionOf(flag));
    if (spec.choices) {
      decision.action((operationId: string, choice: string, options: CommonOptions & Record<string, unknown>) =>
        perform(options, () => decideFromCommandLine(kind, operationId, options, choice)),
      );
    } else {
      decision.action((operationId: string, options: CommonOptions & Record<string, unknown>) =>
        perform(options, () => decideFromCommandLine(kind, operationId, options)),
      );
    }
  }
}
