import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EngineEnv } from '../config/index.js';
import { SetupError } from '../vault/index.js';
import type { ClaimNames } from './auth.js';

/** The API process's settings, from the validated environment (config/environment.ts), with their defaults filled in. */
export interface ApiSettings {
  host: string;
  port: number;
  publicUrl: string;
  audience: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  cliClientId: string;
  scopes: string;
  claims: ClaimNames;
  cookieSecret: string;
  /** False when no LOS_API_SESSION_SECRET was given: this process made one, so its sessions are its own. */
  cookieSecretShared: boolean;
  sessionTtlMs: number;
}

const secret = (value: string | undefined, file: string | undefined) => value ?? (file ? readFileSync(file, 'utf8').trim() : undefined);

export function apiSettings(settings: EngineEnv): ApiSettings {
  if (!settings.LOS_OIDC_ISSUER) throw new SetupError('api: set LOS_OIDC_ISSUER (the OpenID Connect provider’s issuer URL)');
  const clientSecret = secret(settings.LOS_OIDC_CLIENT_SECRET, settings.LOS_OIDC_CLIENT_SECRET_FILE);
  if (!clientSecret)
    throw new SetupError(`api: set LOS_OIDC_CLIENT_SECRET or LOS_OIDC_CLIENT_SECRET_FILE (client ${settings.LOS_OIDC_CLIENT_ID}'s secret at the provider)`);
  const cookieSecret = secret(settings.LOS_API_SESSION_SECRET, settings.LOS_API_SESSION_SECRET_FILE);
  if (cookieSecret !== undefined && cookieSecret.length < 32) throw new SetupError('api: LOS_API_SESSION_SECRET_FILE must hold at least 32 characters');
  const publicUrl = (settings.LOS_API_PUBLIC_URL ?? `http://127.0.0.1:${settings.LOS_API_PORT}`).replace(/\/+$/, '');
  return {
    host: settings.LOS_API_HOST,
    port: settings.LOS_API_PORT,
    publicUrl,
    audience: settings.LOS_API_AUDIENCE ?? `${publicUrl}/v1`,
    issuer: settings.LOS_OIDC_ISSUER,
    clientId: settings.LOS_OIDC_CLIENT_ID,
    clientSecret,
    cliClientId: settings.LOS_OIDC_CLI_CLIENT_ID,
    scopes: settings.LOS_OIDC_SCOPES,
    claims: { role: settings.LOS_OIDC_ROLE_CLAIM, municipality: settings.LOS_OIDC_MUNICIPALITY_CLAIM, name: settings.LOS_OIDC_NAME_CLAIM },
    cookieSecret: cookieSecret ?? randomBytes(32).toString('base64url'),
    cookieSecretShared: cookieSecret !== undefined,
    sessionTtlMs: Math.round(settings.LOS_API_SESSION_HOURS * 3_600_000),
  };
}
