import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EngineEnv } from '../config/index.js';
import { SetupError } from '../vault/index.js';
import type { ClaimNames } from './auth.js';

/**
 * Who may come in, as the API and the codec server both check it: the provider (issuer, the API's audience, the
 * claims' names) and the browser session (the cookie's secret, the sessions' life).
 */
export interface IdentityProcessSettings {
  publicUrl: string;
  audience: string;
  issuer: string;
  claims: ClaimNames;
  cookieSecret: string;
  /** False when no LOS_API_SESSION_SECRET was given: this process made one, so its sessions are its own. */
  cookieSecretShared: boolean;
  sessionTtlMs: number;
}

/** The API process's settings, from the validated environment (config/environment.ts), with their defaults filled in. */
export interface ApiSettings extends IdentityProcessSettings {
  host: string;
  port: number;
  clientId: string;
  clientSecret: string;
  cliClientId: string;
  scopes: string;
}

const secret = (value: string | undefined, file: string | undefined) => value ?? (file ? readFileSync(file, 'utf8').trim() : undefined);

/** The provider and the session settings; `process` names who needs them in the setup error ('api', 'codec server'). */
export function identitySettings(settings: EngineEnv, process: string): IdentityProcessSettings {
  if (!settings.LOS_OIDC_ISSUER) throw new SetupError(`${process}: set LOS_OIDC_ISSUER (the OpenID Connect provider’s issuer URL)`);
  const cookieSecret = secret(settings.LOS_API_SESSION_SECRET, settings.LOS_API_SESSION_SECRET_FILE);
  if (cookieSecret !== undefined && cookieSecret.length < 32) throw new SetupError(`${process}: LOS_API_SESSION_SECRET_FILE must hold at least 32 characters`);
  const publicUrl = (settings.LOS_API_PUBLIC_URL ?? `http://127.0.0.1:${settings.LOS_API_PORT}`).replace(/\/+$/, '');
  return {
    publicUrl,
    audience: settings.LOS_API_AUDIENCE ?? `${publicUrl}/v1`,
    issuer: settings.LOS_OIDC_ISSUER,
    claims: { role: settings.LOS_OIDC_ROLE_CLAIM, municipality: settings.LOS_OIDC_MUNICIPALITY_CLAIM, name: settings.LOS_OIDC_NAME_CLAIM },
    cookieSecret: cookieSecret ?? randomBytes(32).toString('base64url'),
    cookieSecretShared: cookieSecret !== undefined,
    sessionTtlMs: Math.round(settings.LOS_API_SESSION_HOURS * 3_600_000),
  };
}

export function apiSettings(settings: EngineEnv, identity: IdentityProcessSettings = identitySettings(settings, 'api')): ApiSettings {
  const clientSecret = secret(settings.LOS_OIDC_CLIENT_SECRET, settings.LOS_OIDC_CLIENT_SECRET_FILE);
  if (!clientSecret)
    throw new SetupError(`api: set LOS_OIDC_CLIENT_SECRET or LOS_OIDC_CLIENT_SECRET_FILE (client ${settings.LOS_OIDC_CLIENT_ID}'s secret at the provider)`);
  return {
    ...identity,
    host: settings.LOS_API_HOST,
    port: settings.LOS_API_PORT,
    clientId: settings.LOS_OIDC_CLIENT_ID,
    clientSecret,
    cliClientId: settings.LOS_OIDC_CLI_CLIENT_ID,
    scopes: settings.LOS_OIDC_SCOPES,
  };
}
