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
 *   JetStream limits, TLS when given. It holds public keys only: nothing in it is secret.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadCatalogueFile } from '../config/index.js';
import {
  ENGINE_IDENTITIES,
  freshSeeds,
  natsServerConfig,
  publicKeyOf,
  readSeedFile,
  seedFileName,
  type NatsAccountsOptions,
  type NatsIdentity,
} from '../messaging/index.js';
import { PROJECT_ROOT } from './temporal-cli.js';

const agenciesOf = (catalogue?: string) => loadCatalogueFile(catalogue).agencies.map((a) => a.id);

function writePrivate(path: string, text: string) {
  writeFileSync(path, text, { mode: 0o600 });
  // `mode` applies only when the file is created; an older, wider-open file must be narrowed too.
  chmodSync(path, 0o600);
}

const program = new Command()
  .name('nats-config')
  .description('NKEYs, development TLS and the nats-server config that enforce need to know between LOS agencies.');

program
  .command('keys')
  .description('create an NKEY for every engine identity and agency that has none yet')
  .argument('<dir>', 'where the seeds (0600) and public-keys.json go')
  .option('--catalogue <file>', 'mandate catalogue whose agencies get an account (default: the national catalogue)')
  .action((dir: string, options: { catalogue?: string }) => {
    const agencies = agenciesOf(options.catalogue);
    const fresh = freshSeeds(agencies);
    for (const sub of ['engine', 'agencies']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    const identities: [NatsIdentity, string][] = [
      ...ENGINE_IDENTITIES.map((identity): [NatsIdentity, string] => [identity, fresh.engine[identity]]),
      ...agencies.map((agency): [NatsIdentity, string] => [`agency:${agency}`, fresh.agencies[agency]!]),
    ];
    const publics: NatsAccountsOptions['publicKeys'] = { engine: {} as NatsAccountsOptions['publicKeys']['engine'], agencies: {} };
    let created = 0;
    for (const [identity, seed] of identities) {
      const path = join(dir, seedFileName(identity));
      if (!existsSync(path)) {
        writePrivate(path, `${seed}\n`);
        created += 1;
      }
      const key = publicKeyOf(readSeedFile(path));
      if (identity.startsWith('agency:')) (publics.agencies as Record<string, string>)[identity.slice('agency:'.length)] = key;
      else publics.engine[identity as keyof typeof publics.engine] = key;
    }
    writeFileSync(join(dir, 'public-keys.json'), `${JSON.stringify(publics, null, 2)}\n`);
    console.error(`NKEYs in ${resolve(dir)}: ${created} created, ${identities.length - created} kept; public keys in public-keys.json`);
  });

program
  .command('dev-tls')
  .description('a development CA and a server certificate signed by it (not for production)')
  .argument('<dir>', 'where ca.pem, server.pem and server-key.pem go')
  .option('--host <name...>', 'host names the server certificate is valid for', ['localhost'])
  .action((dir: string, options: { host: string[] }) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(join(dir, 'server.pem'))) {
      console.error(`development TLS in ${resolve(dir)} kept`);
      return;
    }
    const openssl = (...args: string[]) => {
      const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (run.error) throw new Error(`openssl is needed for development TLS and was not found: ${run.error.message}`);
      if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr.trim()}`);
    };
    const names = options.host.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '825', '-subj', '/CN=LOS development CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${options.host[0]}`, '-keyout', 'server-key.pem', '-out', 'server.csr');
    writeFileSync(join(dir, 'server.ext'), `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '825',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    );
    for (const key of ['ca-key.pem', 'server-key.pem']) chmodSync(join(dir, key), 0o600);
    console.error(`development CA and a server certificate for ${options.host.join(', ')} written to ${resolve(dir)}`);
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
      const agencies = agenciesOf(options.catalogue);
      let keys: NatsAccountsOptions['publicKeys'];
      try {
        keys = JSON.parse(readFileSync(options.publicKeys, 'utf8')) as NatsAccountsOptions['publicKeys'];
      } catch (err) {
        throw new Error(`public keys file ${options.publicKeys} could not be read: ${(err as Error).message}`);
      }
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
          ? { name: options.clusterName, serverName: options.serverName, listen: options.clusterListen, routes: options.route }
          : undefined;
      const config = natsServerConfig({
        agencies,
        publicKeys: keys,
        listen: options.listen,
        storeDir: resolve(options.storeDir),
        ...(tls ? { tls } : {}),
        ...(cluster ? { cluster } : {}),
      });
      const path = resolve(out);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, config);
      console.error(
        `nats-server config for the engine and ${agencies.length} agency accounts written to ${path}${tls ? ' (TLS)' : ''}${cluster ? ` (node ${cluster.serverName} of cluster ${cluster.name})` : ''}`,
      );
    },
  );

try {
  await program.parseAsync();
} catch (err) {
  console.error(`nats-config failed: ${(err as Error).message}`);
  process.exit(1);
}
