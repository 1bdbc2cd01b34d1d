import * as oidc from 'openid-client';

/**
 * A machine client's bearer token (the client credentials grant), as a case system keeps one: fetched once, used
 * for every request, and fetched again before it expires, by one request at a time however many callers want it.
 */

/** A token with less than this left is replaced first, so none expires in flight. */
const RENEW_MARGIN_MS = 60_000;

export interface ClientCredentials {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The API's resource indicator: the `aud` of the access token. */
  audience: string;
}

export interface MachineToken {
  /** The current access token, renewed when it is near expiry. */
  (): Promise<string>;
  /** How many tokens were fetched from the provider so far. */
  readonly fetched: number;
}

export function machineToken(credentials: ClientCredentials, now: () => number = Date.now): MachineToken {
  const issuer = new URL(credentials.issuer);
  let config: Promise<oidc.Configuration> | undefined;
  let current: { token: string; renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  let fetched = 0;
  const fetchToken = async (): Promise<string> => {
    config ??= oidc.discovery(
      issuer,
      credentials.clientId,
      credentials.clientSecret,
      undefined,
      // The embedded provider listens on loopback over plain HTTP; a deployment's issuer is https.
      issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
    );
    let response: oidc.TokenEndpointResponse;
    try {
      response = await oidc.clientCredentialsGrant(await config, { resource: credentials.audience });
    } catch (err) {
      // Discovery may have failed too: ask again from the start next time.
      config = undefined;
      throw err;
    }
    fetched += 1;
    const lifetimeMs = (response.expires_in ?? 300) * 1000;
    // Renew a minute before expiry, or halfway through a token that lives less than two minutes.
    current = { token: response.access_token, renewAt: now() + Math.max(lifetimeMs - RENEW_MARGIN_MS, lifetimeMs / 2) };
    return response.access_token;
  };
  const token = (async () => {
    if (current && now() < current.renewAt) return current.token;
    inFlight ??= fetchToken().finally(() => (inFlight = undefined));
    return inFlight;
  }) as MachineToken;
  Object.defineProperty(token, 'fetched', { get: () => fetched });
  return token;
}
