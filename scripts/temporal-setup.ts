/**
 * `tsx scripts/temporal-setup.ts`: the steps that make a Temporal server for LOS, as docker-compose.yml and
 * `npm run cluster` both take them (the same code, so the two cannot drift apart).
 *
 * - `databases --prefix <p>`: creates `<p>_temporal` and `<p>_temporal_visibility` on LOS_POSTGRES_URL when
 *   missing and brings both schemas (embedded in the SQL tool) up to date.
 * - `config <out> --prefix <p> [--jwks-url <url> --audience <aud>]`: the server's config on Temporal's standard
 *   ports (7233 for clients); with the provider's keys, every call authorised with its JWTs as on `npm run cluster`.
 * - `ui-config <dir> --temporal-address <host:port> [--oidc-issuer <url> --codec-endpoint <https url>]`: the Web UI
 *   server's config; with an issuer, people sign in there (client `temporal-ui`, its secret from
 *   LOS_TEMPORAL_UI_CLIENT_SECRET) and the UI decodes through the codec server with their token.
 * - `namespace --address <host:port> [--oidc-issuer <url>]`: the namespace with its history retention and the LOS
 *   search attributes; with an issuer, as the set-up's machine client (LOS_TEMPORAL_TOKEN_CLIENT_ID and _SECRET).
 */
import { Command } from 'commander';
import { clientCredentialsGrant } from '../workers/temporalAccess.js';
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
  .action((out: string, options: { prefix: string; bindAddress: string; broadcastAddress: string; jwksUrl?: string; audience: string }) => {
    if (options.jwksUrl !== undefined && !URL.canParse(options.jwksUrl)) throw new Error(`--jwks-url: "${options.jwksUrl}" is not a URL`);
    writeTemporalServerConfig(out, {
      postgres: postgresFromEnvironment(),
      databasePrefix: options.prefix,
      ports: STANDARD_TEMPORAL_PORTS,
      bindAddress: options.bindAddress,
      broadcastAddress: options.broadcastAddress,
      ...(options.jwksUrl ? { authorization: { jwksUrl: options.jwksUrl, audience: options.audience } } : {}),
    });
    console.error(`Temporal server config written to ${out}`);
  });

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
  .action(
    (
      dir: string,
      options: { temporalAddress: string; host: string; port: number; origin: string; oidcIssuer?: string; clientId: string; codecEndpoint?: string },
    ) => {
      const { oidcIssuer, clientId, codecEndpoint, ...where } = options;
      const clientSecret = process.env.LOS_TEMPORAL_UI_CLIENT_SECRET;
      if (oidcIssuer && !clientSecret) throw new Error(`--oidc-issuer: set LOS_TEMPORAL_UI_CLIENT_SECRET (client ${clientId}'s secret at the provider)`);
      writeTemporalUiConfig(dir, {
        ...where,
        ...(oidcIssuer && clientSecret ? { signIn: { issuer: oidcIssuer, clientId, clientSecret } } : {}),
        ...(codecEndpoint ? { codecEndpoint } : {}),
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
  .action(async (options: { address: string; namespace: string; oidcIssuer?: string; audience: string }) => {
    let apiKey: string | undefined;
    if (options.oidcIssuer) {
      const clientId = process.env.LOS_TEMPORAL_TOKEN_CLIENT_ID;
      const clientSecret = process.env.LOS_TEMPORAL_TOKEN_CLIENT_SECRET;
      if (!clientId || !clientSecret)
        throw new Error("--oidc-issuer: set LOS_TEMPORAL_TOKEN_CLIENT_ID and LOS_TEMPORAL_TOKEN_CLIENT_SECRET (the set-up's machine client)");
      apiKey = (await clientCredentialsGrant({ issuer: options.oidcIssuer, audience: options.audience, clientId, clientSecret })).accessToken;
    }
    await ensureNamespace(options.address, options.namespace, undefined, apiKey ? { apiKey } : {});
    console.error(`namespace ${options.namespace} ready at ${options.address}`);
  });

try {
  await program.parseAsync();
} catch (err) {
  console.error(`temporal-setup failed: ${(err as Error).message}`);
  process.exit(1);
}
