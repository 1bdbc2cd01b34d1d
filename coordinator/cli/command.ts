import { Command, InvalidArgumentError, Option } from 'commander';
import { quoteValue, readInstant } from '../../domain/index.js';
import { DEFAULT_API_URL, LosClient } from '../client.js';
import { bearerToken, credentialsPath } from '../credentials.js';
import { SetupError } from './failures.js';

/** How every `los` command is declared, reaches the API and answers. */

export interface CommonOptions {
  /** The LOS API (LOS_API_URL). */
  apiUrl: string;
  json?: boolean;
}

/** What a command prints: `text` for a person, `json` (one document) with --json; warnings go to stderr. */
export interface Output {
  text: string;
  json: unknown;
  warnings?: string[];
}

/** Runs a command's work and prints its output or its failure (runCli). */
export type Perform = (options: CommonOptions, work: () => Promise<Output>) => Promise<void>;

/** Every command talks to the API the same way and can answer in JSON. */
export function command(parent: Command, nameAndArgs: string, description: string): Command {
  return parent
    .command(nameAndArgs)
    .description(description)
    .addOption(new Option('--api-url <url>', 'the LOS API').env('LOS_API_URL').default(DEFAULT_API_URL))
    .option('--json', 'print one JSON document on stdout');
}

/** The API client as this shell is set up: LOS_TOKEN for a machine, else the person's `los login`. */
export function apiClient(options: CommonOptions, env: NodeJS.ProcessEnv = process.env): LosClient {
  const token = env.LOS_TOKEN?.trim();
  const source = { apiUrl: options.apiUrl, credentialsFile: credentialsPath(env), ...(token ? { token } : {}) };
  return new LosClient({ apiUrl: options.apiUrl, token: () => bearerToken(source) });
}

/** A setup error, not a connection to retry: the URL `los` was given (--api-url or LOS_API_URL) cannot name the API. */
export function checkApiUrl(apiUrl: string): void {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new SetupError(`LOS_API_URL (or --api-url) ${quoteValue(apiUrl)} is not a URL: give the LOS API's, e.g. ${DEFAULT_API_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SetupError(`LOS_API_URL (or --api-url) ${quoteValue(apiUrl)} is not an http(s) URL: give the LOS API's, e.g. ${DEFAULT_API_URL}`);
}

export const repeatable = (value: string, previous: string[] = []) => [...previous, value];

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

/** How a time typed without an offset was read, said back so the coordinator can check it. */
export function readAsLocal(field: string, typed: unknown, stored: string): string | undefined {
  if (typeof typed !== 'string') return undefined;
  const reading = readInstant(typed);
  return reading.ok && reading.readAsLocal ? `${field} ${quoteValue(typed)} read as Stockholm time: ${stored}` : undefined;
}
