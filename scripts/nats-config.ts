/**
 * `tsx scripts/nats-config.ts`: everything nats-server needs to enforce need to know between LOS agencies.
 *
 * - `keys <dir>`: an NKEY for every identity (the engine's worker, bridge, operator, steering group and
 *   coordinator, and each agency in the catalogue): the seeds in `<dir>/engine/<identity>.nk` and
 *   `<dir>/agencies/<agency>.nk` (mode 0600; hand each agency its own, out of band) and the public keys in
 *   `<dir>/public-keys.json`. Keys already there are kept.
 * - `dev-tls <dir> --host <name>`: a development CA and a server certificate for `<name>` (openssl), for the
 *   demo and docker-compose; production uses the organisation's own CA.
 * - `config <out> --public-keys <file>`: the nats-server config: one account per agency and the engine's,
 *   JetStream limits, TLS when given. It holds public keys only: nothing in it is secret. How it was rendered is
 *   kept beside it in `<out>.json`, so that `revoke` and `rotate` can render it again.
 * - `revoke <agency> --keys <dir> [--config <out>…] [--reload <pid>…]`: the agency's keys revoked, its seeds
 *   deleted, the configs rendered again (its account without a user) and the servers told to reload.
 * - `rotate <agency> --keys <dir> [--finish] …`: a second key for the agency, both valid; with `--finish`, the
 *   old one revoked.
 * - `keys <dir> --reissue <agency>`: a new key for a revoked agency.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadCatalogueFile } from '../config/index.js';
import { natsServerConfig, type NatsClusterNode, type NatsTls } from '../messaging/index.js';
import { accountKeys, beginRotation, finishRotation, issueKeys, parsePublicKeys, revokeAgencyKeys } from './nats-keys.js';
import { makeDevTls } from './dev-tls.js';
import { PROJECT_ROOT } from './temporal-cli.js';

const agenciesOf = (catalogue?: string) => loadCatalogueFile(catalogue).agencies.map((a) => a.id);

/** How a config was rendered, kept beside it (`<config>.json`, nothing secret) so `revoke` and `rotate` can render it again. */
interface Rendering {
  publicKeys: string;
  catalogue?: string;
  listen: string;
  storeDir: string;
  tls?: NatsTls;
  cluster?: NatsClusterNode;
}

/** Writes the config (and its rendering beside it); returns the agencies that have an account. */
function render(path: string, rendering: Rendering): string[] {
  const agencies = agenciesOf(rendering.catalogue);
  const { publicKeys, ...server } = rendering;
  const config = natsServerConfig({ agencies, ...server, ...accountKeys(parsePublicKeys(publicKeys)) });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, config);
  writeFileSync(`${path}.json`, `${JSON.stringify(rendering, null, 2)}\n`);
  return agencies;
}

const program = new Command()
  .name('nats-config')
  .description('NKEYs, development TLS and the nats-server config that enforce need to know between LOS agencies.');

program
  .command('keys')
  .description('issue an NKEY to every engine identity and agency that has none yet (a revoked agency only with --reissue)')
  .argument('<dir>', 'where the seeds (0600) and public-keys.json go')
  .option('--catalogue <file>', 'mandate catalogue whose agencies get an account (default: the national catalogue)')
  .option('--reissue <agency...>', 'issue a new key to these revoked agencies')
  .action((dir: string, options: { catalogue?: string; reissue?: string[] }) => {
    const { created, kept, revoked } = issueKeys(dir, agenciesOf(options.catalogue), options.reissue ?? []);
    console.error(
      `NKEYs in ${resolve(dir)}: ${created.length} created, ${kept} kept; public keys in public-keys.json` +
        (revoked.length > 0 ? `; revoked, no key issued: ${revoked.join(', ')}` : ''),
    );
  });

program
  .command('dev-tls')
  .description('a development CA and a server certificate signed by it (not for production)')
  .argument('<dir>', 'where ca.pem, server.pem and server-key.pem go')
  .option('--host <name...>', 'host names the server certificate is valid for', ['localhost'])
  .action((dir: string, options: { host: string[] }) => {
    const { made } = makeDevTls(dir, options.host);
    console.error(
      made ? `development CA and a server certificate for ${options.host.join(', ')} written to ${resolve(dir)}` : `development TLS in ${resolve(dir)} kept`,
    );
  });

program
  .command('config')
  .description('write the nats-server config: one account per agency and the engine, NKEY users, limits, TLS')
  .argument('<out>', 'where to write the config file')
  .requiredOption('--public-keys <file>', 'public-keys.json as `keys` wrote it')
  .option('--catalogue <file>', 'mandate catalogue whose agencies get an account (default: the national catalogue)')
  .option('--listen <host:port>', 'address clients connect to', '127.0.0.1:4222')
  .option('--store-dir <dir>', 'JetStream store directory', join(PROJECT_ROOT, '.data', 'nats'))
  .option('--tls-cert <file>', 'server certificate (PEM); with --tls-key, clients must use tls://')
  .option('--tls-key <file>', 'server private key (PEM)')
  .option('--tls-ca <file>', 'CA certificate (PEM)')
  .option('--no-tls', 'no TLS: only for a server listening on loopback')
  .option('--server-name <name>', "in a cluster: this node's name, unique in the cluster")
  .option('--cluster-name <name>', 'in a cluster: its name, the same on every node', 'los')
  .option('--cluster-listen <host:port>', 'in a cluster: the address the other nodes connect to')
  .option('--route <url...>', "in a cluster: the other nodes' route URLs, e.g. nats-route://nats-2:6222")
  .action(
    (
      out: string,
      options: {
        publicKeys: string;
        catalogue?: string;
        listen: string;
        storeDir: string;
        tlsCert?: string;
        tlsKey?: string;
        tlsCa?: string;
        tls: boolean;
        serverName?: string;
        clusterName: string;
        clusterListen?: string;
        route?: string[];
      },
    ) => {
      const tls =
        options.tlsCert && options.tlsKey
          ? { certFile: resolve(options.tlsCert), keyFile: resolve(options.tlsKey), ...(options.tlsCa ? { caFile: resolve(options.tlsCa) } : {}) }
          : undefined;
      const loopback = /^(127\.|localhost:|\[::1\])/.test(options.listen);
      if (!tls && options.tls) throw new Error('TLS is required: give --tls-cert and --tls-key (see `dev-tls`), or --no-tls for a loopback-only server');
      if (!tls && !loopback) throw new Error(`--no-tls is only for a loopback listener, not ${options.listen}`);
      const clustered = [options.serverName, options.clusterListen, options.route].filter((given) => given !== undefined).length;
      if (clustered > 0 && clustered < 3) throw new Error('a cluster node needs all of --server-name, --cluster-listen and --route');
      const cluster =
        options.serverName && options.clusterListen && options.route
          ? {
              name: options.clusterName,
              serverName: options.serverName,
              listen: options.clusterListen,
              routes: options.route,
              // With TLS the routes are mutual TLS too: the certificate must allow client authentication (dev-tls's does).
              ...(tls ? { tls } : {}),
            }
          : undefined;
      const rendering: Rendering = {
        publicKeys: resolve(options.publicKeys),
        ...(options.catalogue ? { catalogue: resolve(options.catalogue) } : {}),
        listen: options.listen,
        storeDir: resolve(options.storeDir),
        ...(tls ? { tls } : {}),
        ...(cluster ? { cluster } : {}),
      };
      const path = resolve(out);
      const agencies = render(path, rendering);
      console.error(
        `nats-server config for the engine and ${agencies.length} agency accounts written to ${path}${tls ? ' (TLS)' : ''}${cluster ? ` (node ${cluster.serverName} of cluster ${cluster.name})` : ''}`,
      );
    },
  );

/** Renders the configs again from the keys now valid, and has the servers running them reload. */
function rerender(configs: string[] | undefined, pids: string[] | undefined) {
  for (const config of configs ?? []) {
    const path = resolve(config);
    const sidecar = `${path}.json`;
    let rendering: Rendering;
    try {
      rendering = JSON.parse(readFileSync(sidecar, 'utf8')) as Rendering;
    } catch (err) {
      throw new Error(`${sidecar}, which \`config\` writes beside the config to render it again, could not be read: ${(err as Error).message}`);
    }
    render(path, rendering);
    console.error(`${path} rendered again`);
  }
  for (const pid of pids ?? []) {
    if (!/^\d+$/.test(pid)) throw new Error(`--reload: "${pid}" is not a process id`);
    // What `nats-server --signal reload=<pid>` sends.
    process.kill(Number(pid), 'SIGHUP');
    console.error(`nats-server ${pid} told to reload its config`);
  }
}

const KEYS_DIR = ['--keys <dir>', 'the keys directory `keys` made'] as const;
const CONFIGS = ['--config <file...>', 'nats-server configs `config` wrote, to render again with the new keys'] as const;
const RELOAD = ['--reload <pid...>', 'nats-server processes to reload afterwards (as `nats-server --signal reload=<pid>`)'] as const;

program
  .command('revoke')
  .description("revoke an agency's credentials: its keys never log in again and, once reloaded, the servers close its connections")
  .argument('<agency>', 'the agency whose keys are revoked')
  .requiredOption(...KEYS_DIR)
  .option(...CONFIGS)
  .option(...RELOAD)
  .action((agency: string, options: { keys: string; config?: string[]; reload?: string[] }) => {
    const revoked = revokeAgencyKeys(options.keys, agency);
    console.error(`agency "${agency}": ${revoked.length} key(s) revoked and its seeds deleted`);
    rerender(options.config, options.reload);
  });

program
  .command('rotate')
  .description("rotate an agency's key: a new key valid beside the old; with --finish, the old one revoked")
  .argument('<agency>', 'the agency whose key is rotated')
  .requiredOption(...KEYS_DIR)
  .option('--finish', 'end the switch-over: revoke the old key, the new seed becomes the agency seed')
  .option(...CONFIGS)
  .option(...RELOAD)
  .action((agency: string, options: { keys: string; finish?: boolean; config?: string[]; reload?: string[] }) => {
    if (options.finish) {
      const old = finishRotation(options.keys, agency);
      console.error(`agency "${agency}": old key ${old} revoked; its new key is its only one`);
    } else {
      const next = beginRotation(options.keys, agency);
      console.error(`agency "${agency}": new seed in ${resolve(next)}; hand it over, and both keys are valid until \`rotate ${agency} --finish\``);
    }
    rerender(options.config, options.reload);
  });

try {
  await program.parseAsync();
} catch (err) {
  console.error(`nats-config failed: ${(err as Error).message}`);
  process.exit(1);
}
