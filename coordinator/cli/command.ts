import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { parseWith, quoteValue, readInstant } from '../../domain/index.js';
import { InvalidInputError } from '../operations.js';

/** How every `los` command is declared, talks to the servers and answers. */

export const CONNECT_TIMEOUT = '3 seconds';
/** A query or update needs a worker to answer; without one the call would wait forever. */
export const CALL_TIMEOUT_MS = 15_000;

export interface CommonOptions {
  address: string;
  namespace: string;
  json?: boolean;
  /** nats-server with the key store and the access log (NATS_URL; with the engine accounts, an NKEY seed in NATS_NKEY_SEED_FILE). */
  nats: string;
}

/** What a command prints: `text` for a person, `json` (one document) with --json; warnings go to stderr. */
export interface Output {
  text: string;
  json: unknown;
  warnings?: string[];
}

/** Runs a command's work and prints its output or its failure (runCli). */
export type Perform = (options: CommonOptions, work: () => Promise<Output>) => Promise<void>;

/** Every command talks to Temporal the same way and can answer in JSON. */
export function command(parent: Command, nameAndArgs: string, description: string): Command {
  return parent
    .command(nameAndArgs)
    .description(description)
    .addOption(new Option('--address <host:port>', 'Temporal frontend address').env('TEMPORAL_ADDRESS').default('127.0.0.1:7233'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE').default('default'))
    .addOption(new Option('--nats <url>', 'nats-server holding the key store and the access log').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .option('--json', 'print one JSON document on stdout');
}

export function parsed<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = parseWith(schema, input, what);
  if (!result.ok) throw new InvalidInputError(result.error);
  return result.value;
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
