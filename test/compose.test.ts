import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER_REPLICAS, CLUSTER_TEMPORAL_AUDIENCE, CLUSTER_TEMPORAL_CLIENTS } from '../scripts/cluster.js';
import { DEMO_TEMPORAL_UI_CLIENT } from '../scripts/identity-provider.js';
import { NATS_CLUSTER_NAME, NATS_CLUSTER_SIZE } from '../scripts/nats-cluster.js';
import { NATS_SERVER_VERSION } from '../scripts/nats-server-binary.js';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { ensureTemporalCertificates } from '../scripts/temporal-tls.js';
import {
  STANDARD_TEMPORAL_PORTS,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_ENVIRONMENT,
  TEMPORAL_UI_VERSION,
  temporalServerConfig,
  temporalUiConfig,
  writeTemporalServerConfig,
  type TemporalServerConfigOptions,
} from '../scripts/temporal-server.js';
import { EngineEnv } from '../config/index.js';
import { ENTITY_KEY_ENV } from '../vault/index.js';

/**
 * No Docker engine runs here, so docker-compose.yml is checked statically: the services the README names
 * exist, every long-running one has a healthcheck, ports and settings agree with the code.
 */
interface Service {
  image?: string;
  deploy?: { replicas?: number };
  user?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const services = compose.services;
const natsNodes = Object.keys(services).filter((name) => /^nats-\d+$/.test(name));
const oneShot = new Set(['temporal-schema', 'temporal-setup', 'nats-config']);
/** A service's environment with each `${…}` from the host's environment given a sample: a URL for a URL, else a secret. */
function sampleEnvironment(service: string): Record<string, string> {
  const sample = (key: string) => (/ISSUER|URL/.test(key) ? 'https://login.example.se' : 'a-secret-from-the-environment-of-40-chars');
  return Object.fromEntries(Object.entries(services[service]!.environment ?? {}).map(([k, v]) => [k, String(v).replace(/^\$\{[^}]+\}$/, sample(k))]));
}

describe('docker-compose.yml', () => {
  it('has every service the README names: PostgreSQL, Temporal, its UI, NATS, the worker and the bridge', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'nats-1', 'worker', 'bridge']) expect(services, name).toHaveProperty(name);
    expect(readme).toContain('`temporal-ui` service of `docker-compose.yml`, on port 8080');
  });

  it('gives every long-running service a healthcheck, and starts each only after what it depends on is ready', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!oneShot.has(name)) expect(service.healthcheck, name).toBeDefined();
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
        expect(condition).toBe(oneShot.has(dependency) ? 'service_completed_successfully' : 'service_healthy');
      }
    }
  });

  it('keeps the data in named volumes', () => {
    for (const [service, mount] of [['postgresql', '/var/lib/postgresql/data'], ...natsNodes.map((node) => [node, '/data'] as const)] as const) {
      const volume = services[service]!.volumes!.find((v) => v.split(':')[1] === mount)!.split(':')[0]!;
      expect(compose.volumes).toHaveProperty(volume);
    }
  });

  it('publishes the ports the README and the code use', () => {
    expect(services.temporal!.ports).toContain('7233:7233');
    expect(services['temporal-ui']!.ports).toContain('8080:8080');
    expect(services['nats-1']!.ports).toContain('4222:4222');
    expect(services.worker!.environment!.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('configures the worker and bridge only with variables the engine reads, and valid values', () => {
    for (const name of ['worker', 'bridge', 'codec']) {
      const env = sampleEnvironment(name);
      expect(
        Object.keys(env).filter((key) => !(key in EngineEnv.shape)),
        name,
      ).toEqual([]);
      expect(EngineEnv.safeParse(env).success, name).toBe(true);
    }
    // The healthchecks probe the endpoints the processes are told to serve.
    expect(JSON.stringify(services.worker!.healthcheck!.test)).toContain(String(services.worker!.environment!.METRICS_BIND_ADDRESS).split(':')[1]);
    expect(JSON.stringify(services.bridge!.healthcheck!.test)).toContain(String(services.bridge!.environment!.HEALTH_BIND_ADDRESS).split(':')[1]);
  });

  it('runs the API with only variables it reads, valid values, its port published and probed', () => {
    const env = sampleEnvironment('api');
    // The entity key is read where the reference is computed (vault/entityReference.ts), not by EngineEnv.
    expect(Object.keys(env).filter((key) => !(key in EngineEnv.shape) && key !== ENTITY_KEY_ENV)).toEqual([]);
    expect(EngineEnv.safeParse(env).success).toBe(true);
    expect(services.api!.ports).toContain(`${env.LOS_API_PORT}:${env.LOS_API_PORT}`);
    expect(JSON.stringify(services.api!.healthcheck!.test)).toContain(`127.0.0.1:${env.LOS_API_PORT}/healthz`);
    expect(env.NATS_NKEY_SEED_FILE).toBe('/keys/worker.nk');
    expect(dockerfile).toContain('COPY api ./api');
  });

  it('sets up the namespace and its search attributes with the script npm run cluster uses', () => {
    // scripts/temporal-setup.ts namespace calls ensureNamespace, which registers SEARCH_ATTRIBUTE_FLAGS.
    expect(services['temporal-setup']!.entrypoint).toEqual(['npx', 'tsx', 'scripts/temporal-setup.ts']);
    const command = services['temporal-setup']!.command as string[];
    expect(command.slice(0, 3)).toEqual(['namespace', '--address', services.worker!.environment!.TEMPORAL_ADDRESS]);
    // As the set-up's machine client, with a token for Temporal's audience from the provider.
    expect(flag(command, '--oidc-issuer')).toMatch(/^\$\{LOS_OIDC_ISSUER:\?/);
    expect(flag(command, '--audience')).toBe(CLUSTER_TEMPORAL_AUDIENCE);
    expect(services['temporal-setup']!.environment!.LOS_TEMPORAL_TOKEN_CLIENT_ID).toBe(CLUSTER_TEMPORAL_CLIENTS.admin.clientId);
  });

  it('gives nats-server the generated accounts and TLS, and the worker and the bridge their own NKEYs, over TLS', () => {
    const script = String(services['nats-config']!.command);
    expect(script).toContain('nats-config.ts keys /keys');
    expect(script).toContain(`nats-config.ts dev-tls /tls --host ${natsNodes.join(' ')}`);
    expect(script).toMatch(/nats-config\.ts config \/config\/nats-\$\$node\.conf .*--tls-cert \/tls\/server\.pem --tls-key \/tls\/server-key\.pem/);
    for (const node of natsNodes) {
      expect(services[node]!.command).toEqual(expect.arrayContaining(['-c', `/config/${node}.conf`]));
      expect(services[node]!.volumes).toEqual(expect.arrayContaining(['nats-config:/config:ro', 'nats-tls:/tls:ro']));
    }
    for (const [name, identity] of [
      ['worker', 'worker'],
      ['bridge', 'bridge'],
    ] as const) {
      const env = services[name]!.environment!;
      expect(env.NATS_URL, name).toBe(natsNodes.map((node) => `tls://${node}:4222`).join(','));
      expect(env.NATS_NKEY_SEED_FILE, name).toBe(`/keys/${identity}.nk`);
      expect(services[name]!.volumes, name).toEqual(expect.arrayContaining(['nats-keys-engine:/keys:ro', 'nats-tls:/tls:ro']));
      // The agencies' seeds are kept apart from the engine's processes.
      expect(JSON.stringify(services[name]!.volumes), name).not.toContain('nats-keys-agencies');
    }
    // Nothing secret about NATS in the file: no password variables at all.
    expect(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/NATS_PASSWORD|LOS_NATS_/);
  });
});

/** The commands a one-shot service's shell script runs, with `npx` only printing what it was given, `chown` and `chmod` nothing. */
function commandsOf(service: string): string[][] {
  const script = `npx() { echo "$@"; }\nchown() { :; }\nchmod() { :; }\n${String(services[service]!.command).replaceAll('$$', '$')}`;
  const run = spawnSync('/bin/sh', ['-ec', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...sampleEnvironment(service) } });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
}

const flag = (args: string[], name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

/** The server's config as the set-up's `config` command (its arguments) writes it in a container, with these settings. */
const composeServerConfig = (config: string[], settings: Partial<TemporalServerConfigOptions>) =>
  temporalServerConfig({
    postgres: { host: 'postgresql', port: 5432, user: 'temporal' },
    databasePrefix: flag(config, '--prefix')!,
    ports: STANDARD_TEMPORAL_PORTS,
    bindAddress: '0.0.0.0',
    ...settings,
  });
const flags = (args: string[], name: string) => args.flatMap((arg, i) => (args[i - 1] === name ? [arg] : []));

describe('docker-compose.yml agrees with npm run cluster', () => {
  it('builds the same Temporal server, SQL tool and Web UI versions, and runs the same nats-server version', () => {
    expect(dockerfile).toContain(`ARG TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION}\n`);
    expect(dockerfile).toContain(`ARG TEMPORAL_UI_VERSION=${TEMPORAL_UI_VERSION}\n`);
    expect(dockerfile).toContain('go install go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}');
    expect(dockerfile).toContain('go install go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}');
    expect(dockerfile).toContain('go install github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_VERSION}');
    for (const node of natsNodes) expect(services[node]!.image, node).toBe(`nats:${NATS_SERVER_VERSION.slice(1)}-alpine`);
  });

  it('gives the server the config the project generates, on the port it publishes, with the same PostgreSQL user', () => {
    const [databases, config, ui] = commandsOf('temporal-schema');
    expect(databases!.slice(0, 3)).toEqual(['tsx', 'scripts/temporal-setup.ts', 'databases']);
    expect(config!.slice(0, 4)).toEqual(['tsx', 'scripts/temporal-setup.ts', 'config', '/config/temporal.yaml']);
    expect(flag(config!, '--prefix')).toBe(flag(databases!, '--prefix'));
    const temporalCommand = services.temporal!.command as string[];
    expect(temporalCommand.slice(0, 4)).toEqual(['--config-file', '/config/temporal.yaml', '--allow-no-auth', 'start']);
    const postgresUrl = new URL(String(services['temporal-schema']!.environment!.LOS_POSTGRES_URL).replace(/\$\{[^}]+\}/, 'secret-from-env'));
    expect(decodeURIComponent(postgresUrl.username)).toBe(services.postgresql!.environment!.POSTGRES_USER);
    expect(postgresUrl.host).toBe('postgresql:5432');
    // The config npm run cluster writes, on the standard ports: clients reach the frontend where compose publishes it.
    const generated = parse(
      temporalServerConfig({
        postgres: { host: 'postgresql', port: 5432, user: 'temporal' },
        databasePrefix: flag(config!, '--prefix')!,
        ports: STANDARD_TEMPORAL_PORTS,
        bindAddress: flag(config!, '--bind-address')!,
        broadcastAddress: flag(config!, '--broadcast-address')!,
        ...(flag(config!, '--jwks-url') ? { authorization: { jwksUrl: flag(config!, '--jwks-url')!, audience: flag(config!, '--audience')! } } : {}),
      }),
    ) as { services: { frontend: { rpc: { grpcPort: number; bindOnIP: string } } }; global: { authorization?: Record<string, unknown> } };
    expect(generated.services.frontend.rpc).toMatchObject({ grpcPort: 7233, bindOnIP: '0.0.0.0' });
    // Every service the config lists is started: the internal frontend too.
    expect(flags(temporalCommand, '--service').sort()).toEqual(Object.keys(generated.services).sort());
    expect(services.temporal!.ports).toEqual([`${generated.services.frontend.rpc.grpcPort}:7233`]);
    expect(services.worker!.environment!.TEMPORAL_ADDRESS).toBe(`temporal:${generated.services.frontend.rpc.grpcPort}`);
    // The Web UI: its config from the same script, the environment the cluster starts it with, the port published.
    expect(ui!.slice(0, 4)).toEqual(['tsx', 'scripts/temporal-setup.ts', 'ui-config', '/config/ui']);
    expect(flag(ui!, '--temporal-address')).toBe(services.worker!.environment!.TEMPORAL_ADDRESS);
    expect(services['temporal-ui']!.command).toEqual(['--root', '/config', '--config', 'ui', '--env', TEMPORAL_UI_ENVIRONMENT, 'start']);
    expect(services['temporal-ui']!.ports).toEqual([`${flag(ui!, '--port')}:${flag(ui!, '--port')}`]);
  });

  it('gives the server the dynamic config beside its config: visibility at 100 calls a second with bursts of 200, not Temporal’s 10', () => {
    const [, config] = commandsOf('temporal-schema');
    const out = config![3]!;
    expect(out).toBe('/config/temporal.yaml');
    // The set-up's config command in a scratch directory standing in for the volume.
    const dir = mkdtempSync(join(tmpdir(), 'los-compose-dynamic-'));
    try {
      writeTemporalServerConfig(join(dir, basename(out)), {
        postgres: { host: 'postgresql', port: 5432, user: 'temporal' },
        databasePrefix: 'los',
        ports: STANDARD_TEMPORAL_PORTS,
        bindAddress: '0.0.0.0',
      });
      const written = parse(readFileSync(join(dir, basename(out)), 'utf8')) as { dynamicConfigClient?: { filepath: string; pollInterval: string } };
      // In the container: the same directory, which the temporal service mounts.
      expect(written.dynamicConfigClient).toEqual({ filepath: join(dir, 'dynamic-config.yaml'), pollInterval: '60s' });
      expect((services.temporal!.volumes as string[]).some((v) => v.startsWith('temporal-config:/config'))).toBe(true);
      const dynamic = parse(readFileSync(written.dynamicConfigClient!.filepath, 'utf8')) as Record<string, { value: number }[]>;
      expect(dynamic['frontend.namespaceRPS.visibility']).toEqual([{ value: 100, constraints: {} }]);
      expect(dynamic['frontend.namespaceBurstRatio.visibility']).toEqual([{ value: 2, constraints: {} }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('authorises every call to Temporal with the provider’s JWTs as the cluster does, and gives each engine process its own client', () => {
    const [, config] = commandsOf('temporal-schema');
    // The provider's keys and the cluster's audience, from the environment the service is given.
    expect(services['temporal-schema']!.environment!.LOS_OIDC_JWKS_URL).toMatch(/^\$\{LOS_OIDC_JWKS_URL:\?/);
    expect(flag(config!, '--jwks-url')).toBe('https://login.example.se');
    expect(flag(config!, '--audience')).toBe(CLUSTER_TEMPORAL_AUDIENCE);
    const authorised = parse(
      composeServerConfig(config!, { authorization: { jwksUrl: flag(config!, '--jwks-url')!, audience: flag(config!, '--audience')! } }),
    ) as { global: { authorization: Record<string, unknown> } };
    expect(authorised.global.authorization).toMatchObject({
      jwtKeyProvider: { keySourceURIs: ['https://login.example.se'] },
      permissionsClaimName: 'permissions',
      audience: CLUSTER_TEMPORAL_AUDIENCE,
      authorizer: 'default',
      claimMapper: 'default',
    });
    for (const role of ['worker', 'bridge', 'api'] as const) {
      const env = services[role]!.environment!;
      expect(env.LOS_TEMPORAL_TOKEN_CLIENT_ID, role).toBe(CLUSTER_TEMPORAL_CLIENTS[role].clientId);
      expect(String(env.LOS_TEMPORAL_TOKEN_CLIENT_SECRET), role).toMatch(/^\$\{LOS_TEMPORAL_[A-Z]+_CLIENT_SECRET:\?/);
      expect(env.LOS_TEMPORAL_AUDIENCE, role).toBe(CLUSTER_TEMPORAL_AUDIENCE);
      expect(env.LOS_OIDC_ISSUER, role).toMatch(/^\$\{LOS_OIDC_ISSUER:\?/);
    }
  });

  it('signs people in to the Temporal UI at the provider and decodes through the https codec server with their token', () => {
    const ui = commandsOf('temporal-schema')[2]!;
    expect(flag(ui, '--oidc-issuer')).toBe('https://login.example.se');
    const codecEndpoint = flag(ui, '--codec-endpoint')!;
    const written = parse(
      temporalUiConfig({
        temporalAddress: flag(ui, '--temporal-address')!,
        host: flag(ui, '--host')!,
        port: Number(flag(ui, '--port')),
        origin: flag(ui, '--origin')!,
        signIn: { issuer: flag(ui, '--oidc-issuer')!, clientId: flag(ui, '--client-id') ?? DEMO_TEMPORAL_UI_CLIENT.clientId, clientSecret: 'from-the-env' },
        codecEndpoint,
      }),
    ) as { auth: { enabled: boolean; providers: Record<string, unknown>[] }; codec: { endpoint: string; passAccessToken: boolean } };
    expect(written.auth.enabled).toBe(true);
    expect(written.auth.providers[0]).toMatchObject({
      type: 'oidc',
      providerUrl: 'https://login.example.se',
      clientId: DEMO_TEMPORAL_UI_CLIENT.clientId,
      callbackUrl: `${flag(ui, '--origin')}/auth/sso/callback`,
    });
    expect(written.codec).toMatchObject({ endpoint: codecEndpoint, passAccessToken: true });
    // The client secret comes from the environment, never the command line.
    expect(String(services['temporal-schema']!.environment!.LOS_TEMPORAL_UI_CLIENT_SECRET)).toMatch(/^\$\{LOS_TEMPORAL_UI_CLIENT_SECRET:\?/);
    expect(String(services['temporal-schema']!.command)).toContain('chown -R 1000:1000 /config/ui');
    // The codec server the UI names: https, on the port it publishes, with the UI's origin for CORS and its own certificate.
    const codec = services.codec!;
    const port = new URL(codecEndpoint).port;
    expect(codecEndpoint.startsWith('https://')).toBe(true);
    expect(codec.command).toEqual(['codec']);
    expect(codec.ports).toEqual([`${port}:${port}`]);
    expect(codec.environment!.CODEC_BIND_ADDRESS).toBe(`0.0.0.0:${port}`);
    expect(codec.environment!.LOS_UI_ORIGIN).toBe(flag(ui, '--origin'));
    expect(codec.environment!.CODEC_TLS_CERT_FILE).toBe('/codec-tls/server.pem');
    expect(codec.volumes).toContain('codec-tls:/codec-tls:ro');
    expect(commandsOf('nats-config').some((args) => args.join(' ').startsWith('tsx scripts/nats-config.ts dev-tls /codec-tls --host localhost'))).toBe(true);
    expect(JSON.stringify(codec.healthcheck!.test)).toContain(`port: ${port}`);
  });

  it('serves the Temporal frontend over TLS as the cluster does: a CA and a certificate for its compose name made by the set-up, trusted by every client', () => {
    const [, config, ui] = commandsOf('temporal-schema');
    const tlsDir = flag(config!, '--tls-dir')!;
    const host = services.worker!.environment!.TEMPORAL_ADDRESS!.toString().split(':')[0]!;
    expect(tlsDir).toBe('/temporal-tls');
    expect(flag(config!, '--tls-name')).toBe(host);
    // The same function npm run cluster makes its certificates with: run here, its certificate names the host clients dial.
    const made = ensureTemporalCertificates(mkdtempSync(join(tmpdir(), 'los-compose-tls-')), flag(config!, '--tls-name')!);
    const text = spawnSync('openssl', ['x509', '-in', made.certFile, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    const keyMode = statSync(made.keyFile).mode;
    rmSync(dirname(made.certFile), { recursive: true, force: true });
    expect(text.stdout).toContain(`DNS:${host}`);
    const inVolume = (file: string) => join(tlsDir, basename(file));
    const generated = parse(
      composeServerConfig(config!, {
        tls: { certFile: inVolume(made.certFile), keyFile: inVolume(made.keyFile), caFile: inVolume(made.caFile), serverName: made.serverName },
      }),
    ) as { global: { tls: { frontend: { server: { certFile: string; keyFile: string } } } } };
    expect(generated.global.tls.frontend.server).toMatchObject({ certFile: '/temporal-tls/frontend.pem', keyFile: '/temporal-tls/frontend.key' });
    // The server reads the certificate where the set-up wrote it; every client trusts the CA from the same volume.
    expect(services['temporal-schema']!.volumes).toContain(`temporal-tls:${tlsDir}`);
    expect(services.temporal!.volumes).toContain(`temporal-tls:${tlsDir}:ro`);
    for (const name of ['worker', 'bridge', 'api']) {
      expect(services[name]!.environment!.LOS_TEMPORAL_TLS_CA_FILE, name).toBe(inVolume(made.caFile));
      expect(services[name]!.volumes, name).toContain(`temporal-tls:${tlsDir}:ro`);
    }
    expect(flag(services['temporal-setup']!.command as string[], '--tls-ca-file')).toBe(inVolume(made.caFile));
    expect(services['temporal-setup']!.volumes).toContain(`temporal-tls:${tlsDir}:ro`);
    expect(flag(ui!, '--tls-ca-file')).toBe(inVolume(made.caFile));
    expect(flag(ui!, '--tls-server-name')).toBe(host);
    expect(services['temporal-ui']!.volumes).toContain(`temporal-tls:${tlsDir}:ro`);
    // The set-up runs as root and leaves the CA readable to the image's user, the keys not.
    expect(String(services['temporal-schema']!.command)).toContain(`chmod 755 ${tlsDir}`);
    expect(keyMode & 0o077).toBe(0);
  });

  it('carries the Temporal server’s refusals to the security log as the cluster does: its log file and its metrics, read by a service of its own', () => {
    const [, config] = commandsOf('temporal-schema');
    const forwarder = services['temporal-refusals']!;
    const command = forwarder.command as string[];
    expect(forwarder.entrypoint).toEqual(['node', '--import', 'tsx', 'scripts/temporal-setup.ts']);
    expect(command[0]).toBe('refusals');
    // The log the server writes to a file (not stdout), in a volume both mount.
    const logFile = flag(config!, '--log-file')!;
    expect(flag(command, '--log-file')).toBe(logFile);
    const logDir = logFile.slice(0, logFile.lastIndexOf('/'));
    const logVolume = services.temporal!.volumes!.find((v) => v.split(':')[1] === logDir)!.split(':')[0]!;
    expect(forwarder.volumes).toContain(`${logVolume}:${logDir}:ro`);
    const written = parse(composeServerConfig(config!, { logFile, metricsPort: Number(flag(config!, '--metrics-port')) })) as {
      log: Record<string, unknown>;
      global: { metrics: { prometheus: { listenAddress: string } } };
    };
    expect(written.log).toMatchObject({ stdout: false, outputFile: logFile });
    // The metrics the server serves, where the forwarder reads them.
    expect(written.global.metrics.prometheus.listenAddress).toBe(`0.0.0.0:${flag(config!, '--metrics-port')}`);
    expect(new URL(flag(command, '--metrics-url')!)).toMatchObject({ hostname: 'temporal', port: flag(config!, '--metrics-port'), pathname: '/metrics' });
    // Its position kept in a volume the set-up gives the image's user; its healthcheck reads the time written there.
    const stateFile = flag(command, '--state-file')!;
    const stateDir = stateFile.slice(0, stateFile.lastIndexOf('/'));
    const stateVolume = forwarder.volumes!.find((v) => v.split(':')[1] === stateDir)!.split(':')[0]!;
    expect(compose.volumes).toHaveProperty(stateVolume);
    const setupMount = services['temporal-schema']!.volumes!.find((v) => v.startsWith(`${stateVolume}:`))!.split(':')[1]!;
    expect(String(services['temporal-schema']!.command)).toContain(`chown 1000:1000 ${setupMount}`);
    expect(JSON.stringify(forwarder.healthcheck!.test)).toContain(stateFile);
    // It writes the access log as the worker's NATS identity, over TLS; it holds no master key and no Temporal token.
    const env = sampleEnvironment('temporal-refusals');
    expect(Object.keys(env).filter((key) => !(key in EngineEnv.shape))).toEqual([]);
    expect(EngineEnv.safeParse(env).success).toBe(true);
    expect(env).toMatchObject({
      NATS_URL: services.worker!.environment!.NATS_URL,
      NATS_NKEY_SEED_FILE: '/keys/worker.nk',
      LOS_STREAM_REPLICAS: String(CLUSTER_REPLICAS),
    });
    expect(Object.keys(env).filter((key) => /MASTER_KEY|TEMPORAL_TOKEN/.test(key))).toEqual([]);
    expect(forwarder.volumes).toEqual(expect.arrayContaining(['nats-keys-engine:/keys:ro', 'nats-tls:/tls:ro']));
  });

  it('runs NATS as the same cluster: three nodes, each routed to the others, three replicas, two workers and two bridges', () => {
    expect(natsNodes).toHaveLength(NATS_CLUSTER_SIZE);
    const configs = commandsOf('nats-config').filter((args) => args[2] === 'config');
    expect(configs).toHaveLength(NATS_CLUSTER_SIZE);
    for (const args of configs) {
      const node = flag(args, '--server-name')!;
      expect(natsNodes).toContain(node);
      expect(args[3]).toBe(`/config/${node}.conf`);
      expect(flag(args, '--cluster-name') ?? NATS_CLUSTER_NAME).toBe(NATS_CLUSTER_NAME);
      const routePort = flag(args, '--cluster-listen')!.split(':')[1];
      expect(flags(args, '--route').sort()).toEqual(natsNodes.filter((other) => other !== node).map((other) => `nats-route://${other}:${routePort}`));
    }
    for (const name of ['worker', 'bridge']) {
      expect(Number(services[name]!.environment!.LOS_STREAM_REPLICAS), name).toBe(CLUSTER_REPLICAS);
      expect(services[name]!.deploy?.replicas, name).toBe(2);
    }
  });
});
