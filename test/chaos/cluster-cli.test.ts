import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/temporal-cli.js';
import { descendants, npmRun, stillRunning, untilOutput } from './processes.js';
import { postgresFromEnvironment, psqlQuery, temporalDatabases } from '../../scripts/temporal-server.js';
import { isAuthorizationFailure } from '../../messaging/index.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/definitions.js';
import { CLUSTER_TEMPORAL_AUDIENCE, CLUSTER_TEMPORAL_CLIENTS } from '../../scripts/cluster.js';
import { clientCredentialsGrant } from '../../workers/temporalAccess.js';

/**
 * `npm run cluster` as a person runs it: it prints every endpoint, the endpoints answer, SIGTERM to npm (the process
 * the person started, as a service manager or `kill` signals it) stops every process below it, and `--down` removes
 * its databases and its data directory.
 */
const prefix = `los_cli_${randomBytes(4).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), 'los-cluster-cli-'));
const dataDir = join(scratch, 'data');
const clusterOptions = (...args: string[]) => ['--prefix', prefix, '--data-dir', dataDir, ...args];
const cluster = (...args: string[]) => [join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), 'scripts/run-cluster.ts', ...clusterOptions(...args)];

function databasesPresent(): string[] {
  const names = Object.values(temporalDatabases(prefix));
  return psqlQuery(postgresFromEnvironment(), `select datname from pg_database where datname like '${prefix}%'`)
    .filter((name) => names.includes(name))
    .sort();
}

/** Process ids of everything still running with this cluster's data directory on its command line. */
function processesOf(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(dir) && !line.includes('ps -eo'));
}

describe('npm run cluster', () => {
  afterAll(() => {
    const [command, ...args] = cluster('--down');
    spawnSync(command!, args, { cwd: PROJECT_ROOT });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints every endpoint, which answers, stops everything on SIGTERM to npm, and --down removes its databases and data', async () => {
    const run = npmRun('cluster', clusterOptions('--no-ui'));
    const { child, exited } = run;
    expect(await untilOutput(run, 'running; Ctrl-C or SIGTERM stops it', 240_000), run.output().slice(-3_000)).toBe(true);
    const output = run.output();

    const temporalAddress = /^Temporal server (\S+)/m.exec(output)![1]!;
    const natsUrls = [...output.matchAll(/^NATS node los-\d: (\S+)/gm)].map((m) => m[1]!);
    expect(natsUrls).toHaveLength(3);
    const engine = [...output.matchAll(/^(worker|bridge) \d: pid (\d+)/gm)];
    expect(engine.map((m) => m[1])).toEqual(['worker', 'worker', 'bridge', 'bridge']);
    expect(databasesPresent()).toEqual(Object.values(temporalDatabases(prefix)).sort());

    // The namespace with the LOS search attributes, on the server it names: over TLS with the CA it names, and
    // only with a token from the provider it names.
    const caFile = /^Temporal TLS: trust (\S+) \(server name (\S+)\)/m.exec(output);
    const issuer = /^Temporal authorises every call with a token from (\S+)/m.exec(output)?.[1];
    expect(caFile, output).not.toBeNull();
    expect(issuer, output).toBeDefined();
    const tls = { serverRootCACertificate: readFileSync(caFile![1]!), serverNameOverride: caFile![2]! };
    const anonymous = await Connection.connect({ address: temporalAddress, tls });
    try {
      await expect(anonymous.operatorService.listSearchAttributes({ namespace: 'default' })).rejects.toThrow(/unauthorized|permission/i);
    } finally {
      await anonymous.close();
    }
    const { accessToken } = await clientCredentialsGrant({ issuer: issuer!, audience: CLUSTER_TEMPORAL_AUDIENCE, ...CLUSTER_TEMPORAL_CLIENTS.admin });
    const connection = await Connection.connect({ address: temporalAddress, tls, apiKey: accessToken });
    try {
      const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const name of Object.keys(SEARCH_ATTRIBUTE_FLAGS)) expect(listed.customAttributes, name).toHaveProperty(name);
    } finally {
      await connection.close();
    }
    // Every NATS node answers over TLS only, trusting the cluster's CA, and wants credentials: the per-agency accounts are in force.
    const natsCaFile = /the CA to trust: (\S+)/.exec(output)![1]!;
    for (const url of natsUrls) {
      expect(url).toMatch(/^tls:\/\//);
      await expect(connect({ servers: url, reconnect: false, timeout: 2_000, tls: { caFile: natsCaFile } })).rejects.toSatisfy(isAuthorizationFailure);
      await expect(connect({ servers: url.replace(/^tls:/, 'nats:'), reconnect: false, timeout: 2_000, tls: null })).rejects.toThrow(/tls|secure/i);
    }

    expect(processesOf(dataDir).length).toBeGreaterThanOrEqual(4);
    const below = descendants(child.pid!);
    // The script, the Temporal server, three NATS nodes, the identity provider, two workers and two bridges.
    expect(below.length, below.map((p) => p.args).join('\n')).toBeGreaterThanOrEqual(10);
    child.kill('SIGTERM');
    expect(await exited, run.output().slice(-3_000)).toBe(0);
    expect(run.output()).toContain('stopped; the data stays');
    expect(stillRunning(below)).toEqual([]);
    expect(processesOf(dataDir)).toEqual([]);
    expect(engine.filter((m) => existsSync(`/proc/${m[2]}`)).map((m) => `${m[1]} ${m[2]}`)).toEqual([]);
    expect(existsSync(dataDir)).toBe(true);

    const [downCommand, ...downArgs] = cluster('--down');
    const down = spawnSync(downCommand!, downArgs, { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    expect(databasesPresent()).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });
});
