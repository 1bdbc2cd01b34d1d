import { Command, CommanderError } from 'commander';
import { checkApiUrl, type CommonOptions, type Output, type Perform } from './cli/command.js';
import { decisionCommands } from './cli/decisions.js';
import { classify, clipQuoted, type Failure } from './cli/failures.js';
import { keysCommands } from './cli/keys.js';
import { auditCommand, listCommand, showCommand } from './cli/reading.js';
import { sessionCommands } from './cli/session.js';
import { tipCommands } from './cli/tip.js';

/**
 * `los`: the coordinator's command line, a client of the LOS API (coordinator/client.ts) and nothing else;
 * one file per command group in cli/: signing in (session.ts), registering tips (tip.ts), the decisions
 * (decisions.ts, one command per row of the decision table), reading operations (reading.ts) and the key
 * store (keys.ts).
 *
 * Exit codes: 0 done; 1 the input or the request was refused (invalid, not signed in, not allowed, no such
 * operation, not admissible now); 2 the API, or the engine behind it, could not be reached in time, or is not
 * set up.
 */

export function buildProgram(perform: Perform, json: boolean): Command {
  const program = new Command('los')
    .description('Coordinate LOS operations through the LOS API (LOS_API_URL): sign in, register tips, make the decisions each phase needs, and follow them.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      // With --json, the mistake goes out as the JSON document (runCli), not as text on stderr.
      writeErr: (text) => {
        if (!json) process.stderr.write(text);
      },
      outputError: (text, write) => write(clipQuoted(text)),
    });
  sessionCommands(program, perform);
  tipCommands(program, perform);
  decisionCommands(program, perform);
  showCommand(program, perform);
  auditCommand(program, perform);
  keysCommands(program, perform);
  listCommand(program, perform);
  return program;
}

/** Runs one command line (argv as in process.argv) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const perform = async (options: CommonOptions, work: () => Promise<Output>) => {
    try {
      checkApiUrl(options.apiUrl);
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
      const failure = classify(err);
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
