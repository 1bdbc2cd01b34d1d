/**
 * How the engine's processes reach a Temporal server that checks who calls (the cluster's): over TLS when a CA is
 * configured, and with a client-credentials token of the process's own machine client, asked of the provider and
 * renewed before it expires. Neither configured, the connection is plain and anonymous, as the dev server wants.
 */
import { readFileSync } from 'node:fs';
import { Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import * as oidc from 'openid-client';
import type { EngineEnv } from '../config/index.js';
import { SetupError } from '../vault/index.js';
import type { EngineLogger } from './logger.js';

/** Renewed when this share of a token's life has passed, so a slow provider still leaves time. */
const RENEW_AT = 0.7;
/** After a failed renewal, asked again this soon (the old token may still hold). */
const RETRY_MS = 2_000;

export interface ClientCredentials {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The resource the token is for: the Temporal server's JWT audience. */
  audience: string;
}

/** One client-credentials token: its text and how many seconds it lives. */
export async function clientCredentialsGrant(credentials: ClientCredentials): Promise<{ accessToken: string; expiresInSeconds: number }> {
  const issuer = new URL(credentials.issuer);
  const config = await oidc.discovery(
    issuer,
    credentials.clientId,
    { client_secret: credentials.clientSecret },
    oidc.ClientSecretBasic(credentials.clientSecret),
    // Plain http only on loopback, as the embedded provider allows it.
    ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname) && issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {},
  );
  let response: oidc.TokenEndpointResponse;
  try {
    response = await oidc.clientCredentialsGrant(config, { resource: credentials.audience });
  } catch (err) {
    // A refusal no wait can fix (wrong secret, no Temporal permissions): a setup error, not a provider still starting.
    if (err instanceof oidc.ResponseBodyError)
      throw new SetupError(
        `the provider refused client ${credentials.clientId} a token for ${credentials.audience}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`,
      );
    throw err;
  }
  return { accessToken: response.access_token, expiresInSeconds: response.expires_in ?? 300 };
}

/** A process's token for Temporal, kept fresh: renewed at 70 % of its life, again every 2 s while the provider fails. */
export class TemporalTokens {
  private token: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners = new Set<(token: string) => void | Promise<void>>();

  private constructor(
    private readonly credentials: ClientCredentials,
    first: { accessToken: string; expiresInSeconds: number },
    private readonly logger?: EngineLogger,
  ) {
    this.token = first.accessToken;
    this.schedule(first.expiresInSeconds * 1000 * RENEW_AT);
  }

  /** Asks for the first token; fails when the provider refuses or is not there (the caller may wait and retry). */
  static async start(credentials: ClientCredentials, logger?: EngineLogger): Promise<TemporalTokens> {
    return new TemporalTokens(credentials, await clientCredentialsGrant(credentials), logger);
  }

  /** The newest token. */
  current(): string {
    return this.token;
  }

  /** Called with each renewed token (e.g. to set it on a worker's native connection); returns what unsubscribes. */
  onRenew(listener: (token: string) => void | Promise<void>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), Math.max(250, delayMs));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const next = await clientCredentialsGrant(this.credentials);
      this.token = next.accessToken;
      for (const listener of this.listeners) await listener(next.accessToken);
      this.logger?.info({ clientId: this.credentials.clientId, expiresInSeconds: next.expiresInSeconds }, 'Temporal token renewed');
      this.schedule(next.expiresInSeconds * 1000 * RENEW_AT);
    } catch (err) {
      // The message only: never the token or the secret.
      this.logger?.warn({ clientId: this.credentials.clientId, error: (err as Error).message, retryInMs: RETRY_MS }, 'Temporal token not renewed, retrying');
      this.schedule(RETRY_MS);
    }
  }
}

/** Where Temporal is and how to reach it, from the settings: the address, TLS when configured, and the token's client. */
export interface TemporalAccess {
  address: string;
  tls?: TLSConfig;
  credentials?: ClientCredentials;
}

export function temporalAccess(settings: EngineEnv): TemporalAccess {
  const access: TemporalAccess = { address: settings.TEMPORAL_ADDRESS };
  if (settings.LOS_TEMPORAL_TLS_CA_FILE) {
    let ca: Buffer;
    try {
      ca = readFileSync(settings.LOS_TEMPORAL_TLS_CA_FILE);
    } catch (err) {
      throw new SetupError(`LOS_TEMPORAL_TLS_CA_FILE cannot be read: ${(err as Error).message}`);
    }
    access.tls = {
      serverRootCACertificate: ca,
      ...(settings.LOS_TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: settings.LOS_TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  }
  if (settings.LOS_TEMPORAL_TOKEN_CLIENT_ID) {
    // readEngineEnv has checked that the issuer and a secret are given.
    let clientSecret = settings.LOS_TEMPORAL_TOKEN_CLIENT_SECRET;
    if (!clientSecret) {
      try {
        clientSecret = readFileSync(settings.LOS_TEMPORAL_TOKEN_CLIENT_SECRET_FILE!, 'utf8').trim();
      } catch (err) {
        throw new SetupError(`LOS_TEMPORAL_TOKEN_CLIENT_SECRET_FILE cannot be read: ${(err as Error).message}`);
      }
    }
    access.credentials = {
      issuer: settings.LOS_OIDC_ISSUER!,
      clientId: settings.LOS_TEMPORAL_TOKEN_CLIENT_ID,
      clientSecret,
      audience: settings.LOS_TEMPORAL_AUDIENCE,
    };
  }
  return access;
}

/** A client connection (the bridge's, the API's): the token is read afresh for every call. */
export async function connectTemporalClient(access: TemporalAccess, tokens?: TemporalTokens, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  return Connection.connect({
    address: access.address,
    // Explicitly off when not configured: the SDK would otherwise turn TLS on for any connection with a key.
    tls: access.tls ?? false,
    ...(tokens ? { apiKey: () => tokens.current() } : {}),
    ...options,
  });
}

/** A worker's native connection, given each renewed token as it comes; `close` stops the renewals reaching it and closes it. */
export async function connectTemporalNative(
  access: TemporalAccess,
  tokens?: TemporalTokens,
): Promise<{ connection: NativeConnection; close(): Promise<void> }> {
  const connection = await NativeConnection.connect({
    address: access.address,
    tls: access.tls ?? false,
    ...(tokens ? { apiKey: tokens.current() } : {}),
  });
  const unsubscribe = tokens?.onRenew((token) => connection.setApiKey(token));
  return {
    connection,
    async close() {
      unsubscribe?.();
      await connection.close();
    },
  };
}
