/**
 * `npm run idp`: the embedded OpenID Connect provider as its own process, for a municipality without one.
 *
 *   npm run idp -- [--port 4400] [--host 127.0.0.1] [--issuer <url>] [--realm idp/realm.yaml] [--data-dir .data/idp]
 *                  [--audience <API resource, e.g. http://127.0.0.1:4300/v1>] [--api-url <API origin>]... [--trust-proxy]
 *                  [--temporal-audience <the Temporal server's JWT audience, e.g. urn:los:temporal>] [--temporal-ui-url <UI origin>]...
 *   npm run idp -- --hash-password      reads a password on stdin and prints its scrypt hash for the realm file
 *
 * Environment: LOS_IDP_PORT, LOS_IDP_HOST, LOS_IDP_ISSUER, LOS_IDP_REALM, LOS_IDP_DATA_DIR, LOS_API_AUDIENCE,
 * LOS_API_PUBLIC_URL (comma-separated for several), LOS_TEMPORAL_AUDIENCE, LOS_TEMPORAL_UI_URL (comma-separated for several), LOS_IDP_CLIENT_SECRET_<CLIENT_ID> (a client's secret), LOG_LEVEL.
 */
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadOrCreateSecrets } from './keys.js';
import { createIdentityProvider, READY_LINE } from './provider.js';
import { hashPassword, loadRealm } from './realm.js';

const DEFAULT_REALM = fileURLToPath(new URL('./realm.yaml', import.meta.url));

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.replace(/\r?\n$/, '');
  }
  // Typed at a terminal: not echoed.
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (text: string) => void };
  process.stderr.write('Lösenord: ');
  muted._writeToOutput = () => undefined;
  const password = await new Promise<string>((resolveLine) => rl.question('', resolveLine));
  rl.close();
  process.stderr.write('\n');
  return password;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: env.LOS_IDP_PORT ?? '4400' },
      host: { type: 'string', default: env.LOS_IDP_HOST ?? '127.0.0.1' },
      issuer: { type: 'string', default: env.LOS_IDP_ISSUER },
      realm: { type: 'string', default: env.LOS_IDP_REALM ?? DEFAULT_REALM },
      'data-dir': { type: 'string', default: env.LOS_IDP_DATA_DIR ?? '.data/idp' },
      audience: { type: 'string', default: env.LOS_API_AUDIENCE },
      'temporal-audience': { type: 'string', default: env.LOS_TEMPORAL_AUDIENCE },
      'api-url': { type: 'string', multiple: true },
      'temporal-ui-url': { type: 'string', multiple: true },
      'trust-proxy': { type: 'boolean', default: false },
      'hash-password': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values['hash-password']) {
    const password = await readPassword();
    if (password.length < 8) fail('--hash-password: the password must be at least 8 characters');
    console.log(await hashPassword(password));
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: "${values.port}" is not a port number`);
  const issuer = (values.issuer ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const apiUrls = values['api-url'] ?? (env.LOS_API_PUBLIC_URL ?? 'http://127.0.0.1:4300').split(',');
  const audience = values.audience ?? `${apiUrls[0]!.replace(/\/+$/, '')}/v1`;
  const temporalAudience = values['temporal-audience'];
  const temporalUiUrls = values['temporal-ui-url'] ?? (env.LOS_TEMPORAL_UI_URL ? env.LOS_TEMPORAL_UI_URL.split(',') : []);
  for (const [flag, url] of [
    ['--issuer', issuer],
    ['--audience', audience],
    ...(temporalAudience !== undefined ? [['--temporal-audience', temporalAudience] as const] : []),
    ...apiUrls.map((url) => ['--api-url', url] as const),
    ...temporalUiUrls.map((url) => ['--temporal-ui-url', url] as const),
  ] as const) {
    if (!URL.canParse(url)) fail(`${flag}: "${url}" is not a URL`);
  }
  if (new URL(issuer).protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(issuer).hostname)) {
    fail(`--issuer: "${issuer}" must be https (plain http only on loopback, for development)`);
  }

  // Written synchronously: a refusal is on record before its answer leaves.
  const logger = pino({ name: 'los-idp', level: env.LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ dest: 1, sync: true }));
  let realm;
  try {
    realm = loadRealm(values.realm);
  } catch (err) {
    fail((err as Error).message);
  }
  const secrets = await loadOrCreateSecrets(values['data-dir']);
  const idp = createIdentityProvider({
    issuer,
    realm,
    audience,
    ...(temporalAudience ? { temporalAudience } : {}),
    apiUrls,
    temporalUiUrls,
    secrets,
    logger,
    trustProxy: values['trust-proxy'],
  });
  const server = createServer((req, res) => idp.handle(req, res));
  server.on('error', (err) => fail(`identity provider cannot listen on ${values.host}:${port}: ${err.message}`));
  server.listen(port, values.host, () => {
    logger.info(
      {
        issuer,
        audience,
        temporalAudience,
        redirectOrigins: apiUrls,
        temporalUiOrigins: temporalUiUrls,
        people: realm.people.length,
        clients: realm.clients.length,
      },
      'identity provider started',
    );
    process.stdout.write(`${READY_LINE} ${issuer}\n`);
  });
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'identity provider stopping');
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
