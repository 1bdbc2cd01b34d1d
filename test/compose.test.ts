import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { EngineEnv } from '../workers/config.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/definitions.js';

/**
 * No Docker engine runs here, so docker-compose.yml is checked statically: the services the README names
 * exist, every long-running one has a healthcheck, ports and settings agree with the code.
 */
interface Service {
  image?: string;
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
const services = compose.services;
const oneShot = new Set(['temporal-schema', 'temporal-setup', 'nats-config']);

describe('docker-compose.yml', () => {
  it('has every service the README names: PostgreSQL, Temporal, its UI, NATS, the worker and the bridge', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'nats', 'worker', 'bridge']) expect(services, name).toHaveProperty(name);
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
    for (const [service, mount] of [
      ['postgresql', '/var/lib/postgresql/data'],
      ['nats', '/data'],
    ] as const) {
      const volume = services[service]!.volumes!.find((v) => v.split(':')[1] === mount)!.split(':')[0]!;
      expect(compose.volumes).toHaveProperty(volume);
    }
  });

  it('publishes the ports the README and the code use', () => {
    expect(services.temporal!.ports).toContain('7233:7233');
    expect(services['temporal-ui']!.ports).toContain('8080:8080');
    expect(services.nats!.ports).toContain('4222:4222');
    expect(services.worker!.environment!.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services.worker!.environment!.NATS_URL).toBe('tls://nats:4222');
  });

  it('configures the worker and bridge only with variables the engine reads, and valid values', () => {
    for (const name of ['worker', 'bridge']) {
      const env = Object.fromEntries(Object.entries(services[name]!.environment!).map(([k, v]) => [k, String(v).replace(/^\$\{[^}]+\}$/, 'secret-from-env')]));
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

  it('registers exactly the search attributes the workflow sets', () => {
    const command = String(services['temporal-setup']!.command);
    const registered = Object.fromEntries([...command.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]));
    expect(registered).toEqual(SEARCH_ATTRIBUTE_FLAGS);
  });

  it('gives nats-server the generated accounts and TLS, and the worker and the bridge their own NKEYs, over TLS', () => {
    const script = String(services['nats-config']!.command);
    expect(script).toContain('nats-config.ts keys /keys');
    expect(script).toContain('nats-config.ts dev-tls /tls --host nats');
    expect(script).toMatch(/nats-config\.ts config \/config\/nats\.conf .*--tls-cert \/tls\/server\.pem --tls-key \/tls\/server-key\.pem/);
    expect(services.nats!.command).toEqual(expect.arrayContaining(['-c', '/config/nats.conf']));
    expect(services.nats!.volumes).toEqual(expect.arrayContaining(['nats-config:/config:ro', 'nats-tls:/tls:ro']));
    for (const [name, identity] of [
      ['worker', 'worker'],
      ['bridge', 'bridge'],
    ] as const) {
      const env = services[name]!.environment!;
      expect(env.NATS_URL, name).toBe('tls://nats:4222');
      expect(env.NATS_NKEY_SEED_FILE, name).toBe(`/keys/${identity}.nk`);
      expect(services[name]!.volumes, name).toEqual(expect.arrayContaining(['nats-keys-engine:/keys:ro', 'nats-tls:/tls:ro']));
      // The agencies' seeds are kept apart from the engine's processes.
      expect(JSON.stringify(services[name]!.volumes), name).not.toContain('nats-keys-agencies');
    }
    // Nothing secret about NATS in the file: no password variables at all.
    expect(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/NATS_PASSWORD|LOS_NATS_/);
  });
});
