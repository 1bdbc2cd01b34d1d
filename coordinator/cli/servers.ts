import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { AuditLog, clientDataConverter, openKeyStore, readMasterKeyring, type KeyStore, SetupError } from '../../vault/index.js';
import type { Author } from '../../domain/index.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/definitions.js';
import { InvalidInputError } from '../operations.js';
import { searchAttributesCreateCommand } from '../queries.js';
import { CALL_TIMEOUT_MS, CONNECT_TIMEOUT, type CommonOptions } from './command.js';
import { Unreachable, withCauses } from './failures.js';

/** What sealing and reading need: the key store and the access log on NATS. The master key comes from the environment. */
export interface Vault {
  keys: KeyStore;
  audit: AuditLog;
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

export async function withVault<T>(options: CommonOptions, work: (vault: Vault) => Promise<T>): Promise<T> {
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
export async function withClient<T>(options: CommonOptions, work: (client: Client) => Promise<T>, vault?: Vault): Promise<T> {
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

/** The token issuer's public key (JWK): LOS_TOKEN_ISSUER_JWK (JSON) or LOS_TOKEN_ISSUER_JWK_FILE. */
export function issuerJwk() {
  const text =
    process.env.LOS_TOKEN_ISSUER_JWK ?? (process.env.LOS_TOKEN_ISSUER_JWK_FILE ? readFileSync(process.env.LOS_TOKEN_ISSUER_JWK_FILE, 'utf8') : undefined);
  if (!text) throw new InvalidInputError('a token needs the issuer key to check it: set LOS_TOKEN_ISSUER_JWK or LOS_TOKEN_ISSUER_JWK_FILE');
  return JSON.parse(text) as import('jose').JWK;
}

/**
 * Who `los` decides and registers as, until it becomes a client of the API (which names the signed-in person):
 * `LOS_AUTHOR_SUB`, `LOS_AUTHOR_NAME` and `LOS_AUTHOR_MUNICIPALITY`, else "los-cli", a coordinator of the
 * operation's municipality. It signs with the key store's API key, which this `los` holds anyway.
 */
export function cliAuthor(municipality: string, env: Record<string, string | undefined> = process.env): Author {
  return {
    sub: env.LOS_AUTHOR_SUB || 'los-cli',
    name: env.LOS_AUTHOR_NAME || 'los (command line)',
    role: 'coordinator',
    municipality: env.LOS_AUTHOR_MUNICIPALITY || municipality,
  };
}
