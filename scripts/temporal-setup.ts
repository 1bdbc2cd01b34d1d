/**
 * `tsx scripts/temporal-setup.ts`: the steps that make a Temporal server for LOS, as docker-compose.yml and
 * `npm run cluster` both take them (the same code, so the two cannot drift apart).
 *
 * - `databases --prefix <p>`: creates `<p>_temporal` and `<p>_temporal_visibility` on LOS_POSTGRES_URL when
 *   missing and brings both schemas (embedded in the SQL tool) up to date.
 * - `config <out> --prefix <p> [--jwks-url <url> --audience <aud>] [--tls-dir <dir> --tls-name <host>]
 *   [--metrics-port <port>] [--log-file <file>]`: the server's config on Temporal's standard ports (7233 for clients);
 *   with the provider's keys, every call authorised with its JWTs as on `npm run cluster`; with a TLS directory, the
 *   frontend on TLS with a CA and a certificate for that host made there once (as `npm run cluster` makes them); the
 *   metrics and the log file for the refusals' forwarder below.
 * - `ui-config <dir> --temporal-address <host:port> [--oidc-issuer <url> --codec-endpoint <https url>]
 *   [--tls-ca-file <pem> --tls-server-name <host>]`: the Web UI server's config; with an issuer, people sign in there
 *   (client `temporal-ui`, its secret from LOS_TEMPORAL_UI_CLIENT_SECRET) and the UI decodes through the codec server
 *   with their token.
 * - `namespace --address <host:port> [--oidc-issuer <url>] [--tls-ca-file <pem>]`: the namespace with its history
 *   retention and the LOS search attributes; with an issuer, as the set-up's machine client
 *   (LOS_TEMPORAL_TOKEN_CLIENT_ID and _SECRET).
 * - `refusals --log-file <file> [--metrics-url <url>] [--ready-file <path>]`: carries the server's authorisation
 *   refusals to the security log (scripts/temporal-refusals.ts) until SIGTERM, connected to NATS as the engine's
 *   processes are (NATS_URL, NATS_NKEY_SEED_FILE, NATS_TLS_CA_FILE, LOS_STREAM_REPLICAS).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { nkeyAuthenticator } from '@nats-io/transport-node';
import { Command } from 'commander';
import { readEngineEnv } from '../config/index.js';
import { readSeedFile } from '../messaging/index.js';
import { AuditLog } from '../vault/index.js';
import { connectEngineNats } from '../workers/startup.js';
import { clientCredentialsGrant } from '../workers/temporalAccess.js';
import { forwardTemporalRefusals, type RefusalPosition } from './temporal-refusals.js';
import { ensureTemporalCertificates } from './temporal-tls.js';
import {
  STANDARD_TEMPORAL_PORTS,
  ensureNamespace,
  postgresFromEnvironment,
  prepareTemporalDatabases,
  writeTemporalServerConfig,
  writeTemporalUiConfig,
} from './temporal-server.js';

const program = new Command().name('temporal-setup').description('Databases, config, Web UI config and namespace of a Temporal server for LOS.');

program
  .command('databases')
  .description('create both databases on LOS_POSTGRES_URL when missing and bring their schemas up to date')
  .requiredOption('--prefix <name>', 'prefix of the two databases')
  .action((options: { prefix: string }) => prepareTemporalDatabases(postgresFromEnvironment(), options.prefix, (line) => console.error(line)));

program
  .command('config')
  .description("write the server's config: PostgreSQL from LOS_POSTGRES_URL, Temporal's standard ports")
  .argument('<out>', 'where to write it (mode 0600: it may hold the database password)')
  .requiredOption('--prefix <name>', 'prefix of the two databases')
  .option('--bind-address <ip>', 'where the services listen', '0.0.0.0')
  .option('--broadcast-address <ip>', 'where the services reach each other (one host: loopback)', '127.0.0.1')
  .option('--jwks-url <url>', "the identity provider's keys: every call is then authorised with its JWTs (permissions claim)")
  .option('--audience <aud>', "the JWTs' audience, with --jwks-url", 'urn:los:temporal')
  .option('--tls-dir <dir>', "TLS on the frontend: a CA (ca.pem, what clients trust) and the frontend's certificate, made here once")
  .option('--tls-name <host>', "the host name in the frontend's certificate (besides localhost), with --tls-dir", 'temporal')
  .option('--metrics-port <port>', "the server's Prometheus metrics on this port (the count of the calls its authoriser denied)", (v) => Number(v))
  .option('--log-file <file>', "the server's log to this file instead of stdout (for the refusals' forwarder)")
  .action(
    (
      out: string,
      options: {
        prefix: string;
        bindAddress: string;
        broadcastAddress: string;
        jwksUrl?: string;
        audience: string;
        tlsDir?: string;
        tlsName: string;
        metricsPort?: number;
        logFile?: string;
      },
    ) => {
      if (options.jwksUrl !== undefined && !URL.canParse(options.jwksUrl)) throw new Error(`--jwks-url: "${options.jwksUrl}" is not a URL`);
      if (options.metricsPort !== undefined && !(Number.isInteger(options.metricsPort) && options.metricsPort > 0))
        throw new Error('--metrics-port: must be a port number');
      const tls = options.tlsDir ? ensureTemporalCertificates(options.tlsDir, options.tlsName) : undefined;
      writeTemporalServerConfig(out, {
        postgres: postgresFromEnvironment(),
        databasePrefix: options.prefix,
        ports: STANDARD_TEMPORAL_PORTS,
        bindAddress: options.bindAddress,
        broadcastAddress: options.broadcastAddress,
        ...(options.jwksUrl ? { authorization: { jwksUrl: options.jwksUrl, audience: options.audience } } : {}),
        ...(tls ? { tls } : {}),
        ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
        ...(options.logFile ? { logFile: options.logFile } : {}),
      });
      console.error(`Temporal server config written to ${out}${tls ? `; clients trust ${tls.caFile}` : ''}`);
    },
  );

program
  .command('ui-config')
  .description("write the Web UI server's config")
  .argument('<dir>', 'its config directory')
  .requiredOption('--temporal-address <host:port>', "the Temporal frontend's address")
  .option('--host <ip>', 'where the UI listens', '0.0.0.0')
  .option('--port <port>', 'where the UI listens', (v) => Number(v), 8080)
  .option('--origin <url>', 'the URL people open it at', 'http://localhost:8080')
  .option('--oidc-issuer <url>', 'people sign in at this provider (its secret from LOS_TEMPORAL_UI_CLIENT_SECRET)')
  .option('--client-id <id>', "the UI's client at the provider", 'temporal-ui')
  .option('--codec-endpoint <url>', 'the codec server the browser decodes with (https when people sign in)')
  .option('--tls-ca-file <pem>', "the frontend's TLS: the CA to trust")
  .option('--tls-server-name <host>', "the name the frontend's certificate is checked against, with --tls-ca-file", 'temporal')
  .action(
    (
      dir: string,
      options: {
        temporalAddress: string;
        host: string;
        port: number;
        origin: string;
        oidcIssuer?: string;
        clientId: string;
        codecEndpoint?: string;
        tlsCaFile?: string;
        tlsServerName: string;
      },
    ) => {
      const { oidcIssuer, clientId, codecEndpoint, tlsCaFile, tlsServerName, ...where } = options;
      const clientSecret = process.env.LOS_TEMPORAL_UI_CLIENT_SECRET;
      if (oidcIssuer && !clientSecret) throw new Error(`--oidc-issuer: set LOS_TEMPORAL_UI_CLIENT_SECRET (client ${clientId}'s secret at the provider)`);
      writeTemporalUiConfig(dir, {
        ...where,
        ...(oidcIssuer && clientSecret ? { signIn: { issuer: oidcIssuer, clientId, clientSecret } } : {}),
        ...(codecEndpoint ? { codecEndpoint } : {}),
        ...(tlsCaFile ? { tls: { caFile: tlsCaFile, serverName: tlsServerName } } : {}),
      });
      console.error(`Temporal UI config written to ${dir}`);
    },
  );

program
  .command('namespace')
  .description('register the namespace with its retention and add the LOS search attributes (what exists is kept)')
  .requiredOption('--address <host:port>', "the Temporal frontend's address")
  .option('--namespace <name>', 'the namespace', 'default')
  .option('--oidc-issuer <url>', 'a server that checks tokens: ask this provider for one (LOS_TEMPORAL_TOKEN_CLIENT_ID and _SECRET)')
  .option('--audience <aud>', "the server's JWT audience, with --oidc-issuer", 'urn:los:temporal')
  .option('--tls-ca-file <pem>', "the frontend's TLS: the CA to trust (its certificate names the address's host)")
  .action(async (options: { address: string; namespace: string; oidcIssuer?: string; audience: string; tlsCaFile?: string }) => {
    let apiKey: string | undefined;
    if (options.oidcIssuer) {
      const clientId = process.env.LOS_TEMPORAL_TOKEN_CLIENT_ID;
      const clientSecret = process.env.LOS_TEMPORAL_TOKEN_CLIENT_SECRET;
      if (!clientId || !clientSecret)
        throw new Error("--oidc-issuer: set LOS_TEMPORAL_TOKEN_CLIENT_ID and LOS_TEMPORAL_TOKEN_CLIENT_SECRET (the set-up's machine client)");
      apiKey = (await clientCredentialsGrant({ issuer: options.oidcIssuer, audience: options.audience, clientId, clientSecret })).accessToken;
    }
    await ensureNamespace(options.address, options.namespace, undefined, {
      ...(apiKey ? { apiKey } : {}),
      ...(options.tlsCaFile ? { tls: { serverRootCACertificate: readFileSync(options.tlsCaFile) } } : {}),
    });
    console.error(`namespace ${options.namespace} ready at ${options.address}`);
  });

program
  .command('refusals')
  .description("carry the Temporal server's authorisation refusals to the security log until SIGTERM (NATS from the environment)")
  .requiredOption('--log-file <file>', "the server's log (config --log-file)")
  .option('--metrics-url <url>', "the server's Prometheus metrics (config --metrics-port), for the calls its authoriser denied")
  .requiredOption(
    '--state-file <path>',
    'where it keeps how far it has read (so a restart neither repeats nor misses a refusal) and when its last round ended (for a healthcheck)',
  )
  .action(async (options: { logFile: string; metricsUrl?: string; stateFile: string }) => {
    const env = readEngineEnv(process.env);
    if (!env.ok) throw new Error(env.error);
    const settings = env.value;
    const nc = await connectEngineNats({
      servers: settings.NATS_URL.split(','),
      name: 'los-temporal-refusals',
      ...(settings.NATS_NKEY_SEED_FILE ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readSeedFile(settings.NATS_NKEY_SEED_FILE))) } : {}),
      ...(settings.NATS_TLS_CA_FILE ? { tls: { caFile: settings.NATS_TLS_CA_FILE } } : {}),
    });
    const audit = await AuditLog.open(nc, { replicas: settings.LOS_STREAM_REPLICAS });
    const log = (line: string) => console.error(line);
    // Where the last run stopped; the log's start the first time.
    const kept = existsSync(options.stateFile) ? (JSON.parse(readFileSync(options.stateFile, 'utf8')) as Partial<RefusalPosition>) : {};
    const forwarder = forwardTemporalRefusals({
      logFile: options.logFile,
      from: typeof kept.offset === 'number' ? kept.offset : 0,
      ...(typeof kept.denied === 'number' ? { denied: kept.denied } : {}),
      ...(options.metricsUrl ? { metricsUrl: options.metricsUrl } : {}),
      // Intervals of its own below, so that the position is written after each round.
      intervalMs: 24 * 3_600_000,
      record: (entry) => audit.record(entry),
      log,
    });
    const round = async () => {
      await forwarder.poll();
      writeFileSync(options.stateFile, `${JSON.stringify({ ...forwarder.position(), at: new Date().toISOString() })}\n`);
    };
    await round();
    const timer = setInterval(() => void round(), 5_000);
    log(`carrying the Temporal server's refusals in ${options.logFile}${options.metricsUrl ? ` and ${options.metricsUrl}` : ''} to the security log`);
    await new Promise<void>((resolveStop) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolveStop());
    });
    clearInterval(timer);
    await forwarder.stop();
    await nc.drain();
  });

try {
  await program.parseAsync();
} catch (err) {
  console.error(`temporal-setup failed: ${(err as Error).message}`);
  process.exit(1);
}
