import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { READY_LINE } from '../idp/index.js';
import { freePort, stopProcess, waitFor, type RunningProcess } from './dev-stack.js';
import { PROJECT_ROOT } from './temporal-cli.js';

/**
 * The embedded identity provider (`idp/main.ts`) as a child process on a loopback port, for the demo, the tests and
 * the bench: started like the dev stack's servers, ready when it prints its ready line, stopped with SIGTERM.
 */

export interface IdentityProviderOptions {
  /** Its log (`idp.log`) and, unless `dataDir` is given, its signing keys go here. */
  scratchDir: string;
  /** The realm file; `idp/realm.yaml` (the demo realm) by default. */
  realmFile?: string;
  /** The API's resource indicator, the `aud` of its access tokens. */
  audience: string;
  /** The Temporal server's JWT audience: tokens for it carry the realm's Temporal permissions. */
  temporalAudience?: string;
  /** The API's origins; each gives `los-api` the redirect URI `<url>/auth/callback`. */
  apiUrls: string[];
  /** The Temporal UI's origins; each gives `temporal-ui` the redirect URI `<url>/auth/sso/callback`. */
  temporalUiUrls?: string[];
  port?: number;
  /** Where its signing keys are kept; the same directory on a restart keeps issued tokens valid. */
  dataDir?: string;
  /** More environment, e.g. `LOS_IDP_CLIENT_SECRET_LOS_API`. */
  env?: NodeJS.ProcessEnv;
}

export interface IdentityProvider extends RunningProcess {
  issuer: string;
  port: number;
  logFile: string;
}

export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  mkdirSync(options.scratchDir, { recursive: true });
  const port = await freePort(options.port);
  const issuer = `http://127.0.0.1:${port}`;
  const logFile = join(options.scratchDir, 'idp.log');
  const args = [
    '--import',
    'tsx',
    join(PROJECT_ROOT, 'idp', 'main.ts'),
    '--port',
    String(port),
    '--issuer',
    issuer,
    '--data-dir',
    options.dataDir ?? join(options.scratchDir, 'idp-data'),
    '--audience',
    options.audience,
    ...(options.temporalAudience ? ['--temporal-audience', options.temporalAudience] : []),
    ...options.apiUrls.flatMap((url) => ['--api-url', url]),
    ...(options.temporalUiUrls ?? []).flatMap((url) => ['--temporal-ui-url', url]),
    ...(options.realmFile ? ['--realm', options.realmFile] : []),
  ];
  // A restart appends to the same log: only what this process writes counts.
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', log, log], env: { ...process.env, ...options.env } });
  const readyLine = `${READY_LINE} ${issuer}`;
  await waitFor(
    'the identity provider',
    child,
    async () => {
      if (!readFileSync(logFile).subarray(logStart).toString('utf8').includes(readyLine)) throw new Error(`no "${readyLine}" in its log yet`);
    },
    30_000,
    logFile,
  );
  return { process: child, issuer, port, logFile, stop: () => stopProcess(child) };
}

/** The demo realm's (idp/realm.yaml) secrets, which are no secret: for the demo, the tests, the bench and the cluster. */
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_API_CLIENT_SECRET = 'demo-secret-los-api';
export const DEMO_CASE_SYSTEM_SECRET = 'demo-secret-los-case-system';
/** The Temporal Web UI's client in the demo realm (kind temporal-ui). */
export const DEMO_TEMPORAL_UI_CLIENT = { clientId: 'temporal-ui', clientSecret: 'demo-secret-temporal-ui' } as const;
/** The demo's coordinator, as the demo realm names her. */
export const DEMO_COORDINATOR = { username: 'anna', name: 'Anna Lindqvist' } as const;
