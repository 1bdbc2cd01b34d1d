import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { natsServerConfig, type NatsAccountsOptions } from '../messaging/index.js';
import { freePort, reloadNats, stopProcess, waitFor } from './dev-stack.js';
import type { DevTls } from './dev-tls.js';
import { natsServerBinary } from './nats-server-binary.js';

/**
 * A JetStream cluster of nats-server nodes on loopback ports, each with the generated per-agency accounts
 * (public keys only in its config). Any node may be killed and restarted on its own store and ports. With TLS,
 * clients must connect with `tls://` and trust the CA, and the routes between the nodes are mutual TLS.
 */

export const NATS_CLUSTER_NAME = 'los';
export const NATS_CLUSTER_SIZE = 3;

export interface NatsNode {
  name: string;
  url: string;
  routeUrl: string;
  monitorUrl: string;
  configFile: string;
  logFile: string;
  process?: ChildProcess;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL: a client given all of them reconnects to whichever is up. */
  urls: string[];
  /** With TLS: the CA clients must trust, as `connect({ tls })` takes it. */
  tls?: { caFile: string };
  /**
   * Renders every node's config again with these keys and has each running node reload it; returns once
   * `applied(url)` holds on every running node (e.g. a revoked key is refused there).
   */
  reconfigure(keys: NatsClusterOptions['keys'], applied: (url: string) => Promise<unknown>): Promise<void>;
  /** SIGKILL: the node dies without a word, as when its host loses power. */
  kill(index: number): Promise<void>;
  /** Starts a stopped or killed node again and waits until its JetStream has caught up. */
  start(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  dataDir: string;
  agencies: readonly string[];
  /** The public keys valid now and those revoked (scripts/nats-keys.ts). */
  keys: Pick<NatsAccountsOptions, 'publicKeys' | 'revokedKeys'>;
  /** TLS for clients and routes, e.g. from makeDevTls; without it the nodes take plaintext on loopback. */
  tls?: DevTls;
  /** @default 3 */
  size?: number;
  /** The seed the readiness probe connects with (an engine identity's). */
  probeSeed: string;
}

export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const size = options.size ?? NATS_CLUSTER_SIZE;
  const planned: { name: string; client: number; route: number; monitor: number }[] = [];
  for (let i = 1; i <= size; i++) planned.push({ name: `los-${i}`, client: await freePort(), route: await freePort(), monitor: await freePort() });
  const scheme = options.tls ? 'tls' : 'nats';
  const clientTls = options.tls ? { caFile: options.tls.caFile } : undefined;
  const render = (node: (typeof planned)[number], keys: NatsClusterOptions['keys']) => {
    const dir = join(options.dataDir, node.name);
    mkdirSync(dir, { recursive: true });
    const config = natsServerConfig({
      agencies: options.agencies,
      ...keys,
      listen: `127.0.0.1:${node.client}`,
      storeDir: join(dir, 'jetstream'),
      ...(options.tls ? { tls: options.tls } : {}),
      cluster: {
        name: NATS_CLUSTER_NAME,
        serverName: node.name,
        listen: `127.0.0.1:${node.route}`,
        routes: planned.filter((other) => other !== node).map((other) => `nats-route://127.0.0.1:${other.route}`),
        ...(options.tls ? { tls: options.tls } : {}),
      },
    });
    writeFileSync(join(dir, 'nats.conf'), `${config}\nhttp: "127.0.0.1:${node.monitor}"\n`);
  };
  const nodes: NatsNode[] = planned.map((node) => {
    const dir = join(options.dataDir, node.name);
    render(node, options.keys);
    return {
      name: node.name,
      url: `${scheme}://127.0.0.1:${node.client}`,
      routeUrl: `nats-route://127.0.0.1:${node.route}`,
      monitorUrl: `http://127.0.0.1:${node.monitor}`,
      configFile: join(dir, 'nats.conf'),
      logFile: join(dir, 'nats.log'),
    };
  });

  const spawnNode = (node: NatsNode) => {
    const log = openSync(node.logFile, 'a');
    node.process = spawn(natsServerBinary(), ['-c', node.configFile], { stdio: ['ignore', log, log] });
  };
  // Healthy means JetStream is enabled and this node's streams have caught up with their leaders.
  const healthy = async (node: NatsNode) => {
    const response = await fetch(`${node.monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) throw new Error(`${node.name}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  };
  // A cluster's JetStream answers only once its nodes have elected a meta leader.
  const jetStreamAnswers = async (url: string) => {
    const nc = await connect({
      servers: url,
      reconnect: false,
      timeout: 2_000,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(options.probeSeed)),
      ...(clientTls ? { tls: clientTls } : {}),
    });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
  };

  for (const node of nodes) spawnNode(node);
  try {
    for (const node of nodes) await waitFor(`nats-server ${node.name}`, node.process!, () => healthy(node), 60_000, node.logFile);
    await waitFor(`JetStream of the NATS cluster`, nodes[0]!.process!, () => jetStreamAnswers(nodes[0]!.url), 60_000, nodes[0]!.logFile);
  } catch (err) {
    await Promise.all(nodes.map((node) => node.process && stopProcess(node.process)));
    throw err;
  }

  const at = (index: number) => {
    const node = nodes[index];
    if (!node) throw new Error(`the NATS cluster has no node ${index}`);
    return node;
  };
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    ...(clientTls ? { tls: clientTls } : {}),
    async reconfigure(keys, applied) {
      planned.forEach((node) => render(node, keys));
      const running = nodes.filter((node) => node.process && node.process.exitCode === null && node.process.signalCode === null);
      await Promise.all(running.map((node) => reloadNats({ process: node.process!, stop: async () => undefined }, () => applied(node.url))));
    },
    async kill(index) {
      const node = at(index);
      if (!node.process || node.process.exitCode !== null || node.process.signalCode !== null) return;
      const exited = new Promise((resolveExit) => node.process!.once('exit', resolveExit));
      node.process.kill('SIGKILL');
      await exited;
    },
    async start(index) {
      const node = at(index);
      spawnNode(node);
      await waitFor(`nats-server ${node.name}`, node.process!, () => healthy(node), 120_000, node.logFile);
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.process && stopProcess(node.process)));
    },
  };
}
