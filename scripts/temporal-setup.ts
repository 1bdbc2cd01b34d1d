/**
 * `tsx scripts/temporal-setup.ts`: the steps that make a Temporal server for LOS, as docker-compose.yml and
 * `npm run cluster` both take them (the same code, so the two cannot drift apart).
 *
 * - `databases --prefix <p>`: creates `<p>_temporal` and `<p>_temporal_visibility` on LOS_POSTGRES_URL when
 *   missing and brings both schemas (embedded in the SQL tool) up to date.
 * - `config <out> --prefix <p>`: the server's config on Temporal's standard ports (7233 for clients).
 * - `ui-config <dir> --temporal-address <host:port>`: the Web UI server's config.
 * - `namespace --address <host:port>`: the namespace with its history retention and the LOS search attributes.
 */
import { Command } from 'commander';
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
  .action((out: string, options: { prefix: string; bindAddress: string; broadcastAddress: string }) => {
    writeTemporalServerConfig(out, {
      postgres: postgresFromEnvironment(),
      databasePrefix: options.prefix,
      ports: STANDARD_TEMPORAL_PORTS,
      bindAddress: options.bindAddress,
      broadcastAddress: options.broadcastAddress,
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
  .action((dir: string, options: { temporalAddress: string; host: string; port: number; origin: string }) => {
    writeTemporalUiConfig(dir, options);
    console.error(`Temporal UI config written to ${dir}`);
  });

program
  .command('namespace')
  .description('register the namespace with its retention and add the LOS search attributes (what exists is kept)')
  .requiredOption('--address <host:port>', "the Temporal frontend's address")
  .option('--namespace <name>', 'the namespace', 'default')
  .action(async (options: { address: string; namespace: string }) => {
    await ensureNamespace(options.address, options.namespace);
    console.error(`namespace ${options.namespace} ready at ${options.address}`);
  });

try {
  await program.parseAsync();
} catch (err) {
  console.error(`temporal-setup failed: ${(err as Error).message}`);
  process.exit(1);
}
