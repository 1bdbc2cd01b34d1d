import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { defaultBehaviour, startSimulatedAgency, type AgencyBehaviour, type SimulatedAgency, type SimulatedAgencyOptions } from '../agencies/index.js';
import type { ApiServer } from '../api/index.js';
import { readEngineEnv } from '../config/index.js';
import { executeSigned, registerTip, type RegisterOptions } from '../api/engine.js';
import { AGENCY_IDS, SUBJECTS, erasureReconciliationScheduleId, type AgencyId, type Author, type SignedDecision, type TipInput } from '../domain/index.js';
import type { EngineIdentity } from '../messaging/index.js';
import { entityKeyFromEnvironment, generateMasterKey, readMasterKeyring, signDecision, type KeyStore, type MasterKeyring } from '../vault/index.js';
import {
  composeEngine,
  connectEngineNats,
  createLogger,
  currentWorkflowBundle,
  type Bridge,
  type CodecServer,
  type EngineLogger,
  type EngineRole,
} from '../workers/index.js';
import { startNatsServer, startSecuredNatsServer, type NatsServer } from './dev-stack.js';

/**
 * A coordinator of a municipality, as the API would name them from their token: who the demo, the tests and
 * the history recorder decide as (the workflow takes decisions only from a coordinator of the operation's municipality).
 */
export function coordinatorOf(municipality: string): Author {
  return { sub: `coordinator.${municipality.toLowerCase()}`, name: `LOS coordinator ${municipality}`, role: 'coordinator', municipality };
}

/** The coordinator of Umeå, where the sample tips are. */
export const UMEA_COORDINATOR: Author = { sub: 'anna.coordinator@umea', name: 'Anna Lindqvist', role: 'coordinator', municipality: 'Umeå' };

/**
 * The whole engine in one process, on a given Temporal server and a nats-server of its own: worker, bridge,
 * dead-letter watcher (and the codec server on demand), wired by the composition root of the engine's processes
 * (workers/compose.ts) with the production defaults, and simulated agencies on demand. The demo, the tests and the
 * history recorder use it.
 */
export interface EmbeddedEngine {
  /** A client with the engine's codec: what the coordinator's `los` uses. */
  client: Client;
  /** The key store (master key, data keys, the bridge's signing key). */
  keys: KeyStore;
  /** Credentials of the engine's NATS user, for another key-store connection (e.g. a codec server). */
  nc: NatsConnection;
  nats: NatsServer;
  /** The nats-server's store directory (JetStream's files are under `jetstream/`). */
  natsStoreDir: string;
  taskQueue: string;
  deadLetters: { reason: string; subject: string }[];
  /**
   * A connection as one of the engine's identities (with auth; without, a plain one), closed by stop(). The
   * steering group's and the coordinator's readers use their own inbox prefix, as their permissions require.
   */
  connectAs(identity: EngineIdentity): Promise<NatsConnection>;
  /** The bridge this engine started (stop() stops it too). */
  bridge: Bridge;
  /** The codec server, when the options asked for one. */
  codec?: CodecServer;
  /** The HTTP API, when the options asked for it. */
  api?: ApiServer;
  /** Registers a tip as the typed client does; by default as a coordinator of the tip's municipality. */
  register(tip: TipInput, options?: Partial<RegisterOptions>): ReturnType<typeof registerTip>;
  /**
   * A decision signed with the engine's API key, as the API signs what it forwards; by default as Umeå's
   * coordinator. Send it with `handle.executeUpdate(update, { args: [signed] })`.
   */
  sign<D>(
    operation: string | { workflowId: string },
    update: UpdateDefinition<unknown, [SignedDecision<D>]> | string,
    decision: D,
    author?: Author,
  ): Promise<SignedDecision<D>>;
  /** Signs and sends a decision as the typed client does (waiting out a new operation's first moments); by default as Umeå's coordinator. */
  decide<R, D>(
    handle: Pick<WorkflowHandle, 'workflowId' | 'executeUpdate'>,
    update: UpdateDefinition<R, [SignedDecision<D>]>,
    decision: D,
    author?: Author,
  ): Promise<R>;
  /**
   * With auth: revokes an agency's NATS credentials (its user gone from the config, the server reloaded); returns
   * once the server refuses the agency. Its simulated agency, if started, is left to find that out.
   */
  revokeAgency(agency: AgencyId): Promise<void>;
  /** With auth: the agency's NATS credentials, as it was handed them (for an agency client a test drives itself). */
  agencyCredentials(agency: AgencyId): { nkeySeed: string };
  /** Stops nats-server; the returned function starts it again on the same port and store. */
  pauseNats(): Promise<() => Promise<void>>;
  startAgencies(
    behaviours?: Partial<Record<AgencyId, AgencyBehaviour>>,
    watch?: Pick<SimulatedAgencyOptions, 'onEvent' | 'onAnswer'>,
  ): Promise<Map<AgencyId, SimulatedAgency>>;
  stop(): Promise<void>;
}

export interface EmbeddedEngineOptions {
  temporalAddress: string;
  /** Directory for this engine's nats-server store and log. */
  scratchDir: string;
  taskQueue: string;
  /** Loopback port for this engine's nats-server. @default a free port */
  natsPort?: number;
  /** @default the bundle in dist/, built first if it is missing or stale */
  workflowBundle?: { code: string } | { codePath: string };
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Run nats-server with one user per agency and an engine user, so need to know is enforced by the server. */
  auth?: boolean;
  /** Called for every dead letter, from the bridge and from delivery advisories alike. */
  onDeadLetter?: (reason: string, subject: string) => void;
  /**
   * The key of the pseudonymous entity reference.
   * @default `LOS_ENTITY_KEY` / `LOS_ENTITY_KEY_FILE` from the environment, else a fresh random key for this engine
   */
  entityKey?: string;
  /** The master keyring; a fresh random master key when not given. */
  keyring?: MasterKeyring;
  /**
   * Start the codec server too, for the Temporal UI and CLI, on this loopback port. It lets in whom the API lets
   * in (the provider's tokens, the API's sessions), so it needs `api` as well.
   */
  codec?: { port: number; uiOrigin?: string };
  /**
   * Start the HTTP API too, on this loopback port, signing people in at this OpenID Connect provider (the embedded
   * one for the demo and the tests: scripts/identity-provider.ts).
   */
  api?: {
    port: number;
    issuer: string;
    /** The `los-api` client's secret at the provider. */
    clientSecret: string;
    /** @default LOS_API_SESSION_SECRET's default: a random key of this process */
    sessionSecret?: string;
    /** @default `http://127.0.0.1:<port>` */
    publicUrl?: string;
  };
  /** @default silent: a test or the demo says what it wants to show itself */
  logger?: EngineLogger;
  /** How often acknowledged events and settled answers are erased from the streams; 0 never. @default 0 */
  streamEraseIntervalMs?: number;
  /**
   * Keep the erasure reconciliation's Temporal Schedule at this interval (LOS_ERASURE_RECONCILE_SECONDS); stop()
   * deletes it, so that no schedule outlives the engine on a shared server. @default 0: none
   */
  erasureReconcileSeconds?: number;
}

export async function startEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const natsOptions = {
    storeDir: join(options.scratchDir, 'nats'),
    logFile: join(options.scratchDir, 'nats.log'),
    ...(options.natsPort ? { port: options.natsPort } : {}),
  };
  const secured = options.auth ? await startSecuredNatsServer({ ...natsOptions, agencies: AGENCY_IDS }) : undefined;
  let nats = secured ? secured.server : await startNatsServer(natsOptions);
  // The same settings a deployment's processes read from their environment, with the production defaults.
  const settings = readEngineEnv({
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    NATS_URL: nats.url,
    LOS_ERASURE_RECONCILE_SECONDS: String(options.erasureReconcileSeconds ?? 0),
    ...(options.codec
      ? {
          CODEC_BIND_ADDRESS: `127.0.0.1:${options.codec.port}`,
          ...(options.codec.uiOrigin ? { LOS_UI_ORIGIN: options.codec.uiOrigin } : {}),
        }
      : {}),
    ...(options.api
      ? {
          LOS_API_PORT: String(options.api.port),
          LOS_OIDC_ISSUER: options.api.issuer,
          LOS_OIDC_CLIENT_SECRET: options.api.clientSecret,
          ...(options.api.sessionSecret ? { LOS_API_SESSION_SECRET: options.api.sessionSecret } : {}),
          ...(options.api.publicUrl ? { LOS_API_PUBLIC_URL: options.api.publicUrl } : {}),
        }
      : {}),
  });
  if (!settings.ok) {
    await nats.stop();
    throw new Error(settings.error);
  }
  // With accounts, the worker and the bridge are separate identities, each with only its own rights; the codec
  // server reads the key store and writes the access log as the worker does.
  const identity = (role: EngineRole): EngineIdentity => (role === 'bridge' ? 'bridge' : 'worker');
  const connections = new Map<EngineIdentity, Promise<NatsConnection>>();
  const connectNats = (role: EngineRole) => {
    const as = secured ? identity(role) : 'worker';
    let connection = connections.get(as);
    if (!connection) {
      connection = connectEngineNats({
        servers: nats.url,
        name: `los-${as}-${options.taskQueue}`,
        ...(secured ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(secured.engine(as).nkeySeed)) } : {}),
      });
      connections.set(as, connection);
    }
    return connection;
  };
  const deadLetters: EmbeddedEngine['deadLetters'] = [];
  const entityKey = options.entityKey ?? entityKeyFromEnvironment() ?? randomBytes(32).toString('hex');
  let engine;
  try {
    engine = await composeEngine(
      {
        settings: settings.value,
        logger: options.logger ?? createLogger({ level: 'silent' }),
        connectNats,
        keyring: options.keyring ?? readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }),
        workflowBundle: options.workflowBundle ?? (await currentWorkflowBundle()),
        // Tests see a lost delivery redelivered within seconds, not the production minute.
        redelivery: { ackWaitMs: options.ackWaitMs ?? 5_000, ...(options.maxDeliver ? { maxDeliver: options.maxDeliver } : {}) },
        bridgeRetryDelayMs: 500,
        // Off unless asked: most tests read the streams after the agencies have acknowledged what they hold.
        streamEraseIntervalMs: options.streamEraseIntervalMs ?? 0,
        entityKey,
        onDeadLetter: (reason, subject) => {
          deadLetters.push({ reason, subject });
          options.onDeadLetter?.(reason, subject);
        },
      },
      ['worker', 'bridge', ...(options.codec ? (['codec'] as const) : []), ...(options.api ? (['api'] as const) : [])],
    );
  } catch (err) {
    await nats.stop();
    throw err;
  }
  const { keys, nc } = engine;
  const { bridge, client } = engine.bridge!;
  const agencies: SimulatedAgency[] = [];
  const extraConnections: NatsConnection[] = [];
  const { catalogue } = engine;

  return {
    client,
    keys,
    nc,
    get nats() {
      return nats;
    },
    async pauseNats() {
      const port = Number(new URL(nats.url).port);
      await nats.stop();
      return async () => {
        nats = await startNatsServer({ ...natsOptions, port, ...(secured ? { args: secured.configArgs, nkeySeed: secured.seeds.engine.worker } : {}) });
        if (secured) secured.server = nats;
        if (nats.url !== `nats://127.0.0.1:${port}`) throw new Error(`nats-server came back on ${nats.url}, not port ${port}`);
      };
    },
    async revokeAgency(agency) {
      if (!secured) throw new Error('revokeAgency needs an engine started with auth: true (without it, nats-server knows no agencies)');
      await secured.revokeAgency(agency);
    },
    agencyCredentials(agency) {
      if (!secured) throw new Error('agencyCredentials needs an engine started with auth: true');
      return secured.agency(agency);
    },
    natsStoreDir: natsOptions.storeDir,
    taskQueue: options.taskQueue,
    deadLetters,
    bridge,
    ...(engine.codec ? { codec: engine.codec } : {}),
    ...(engine.api ? { api: engine.api } : {}),
    async connectAs(identity) {
      const reader = identity === 'steering_group' || identity === 'coordinator';
      const extra = await connectEngineNats({
        servers: nats.url,
        name: `los-${identity}-${options.taskQueue}`,
        ...(secured ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(secured.engine(identity).nkeySeed)) } : {}),
        ...(reader ? { inboxPrefix: SUBJECTS.inboxPrefix(identity) } : {}),
      });
      extraConnections.push(extra);
      return extra;
    },
    register: (tip, registerOptions = {}) =>
      registerTip(client, tip, {
        catalogue,
        taskQueue: options.taskQueue,
        entityKey,
        keys,
        author: coordinatorOf(tip.entity.municipality),
        ...registerOptions,
      }),
    decide: async (handle, update, decision, author = UMEA_COORDINATOR) => {
      const signer = await keys.apiSigningKey();
      return executeSigned(handle, update, () => signDecision(signer, { update: update.name, operationId: handle.workflowId, decision, author }));
    },
    sign: async (operation, update, decision, author = UMEA_COORDINATOR) =>
      signDecision(await keys.apiSigningKey(), {
        update: typeof update === 'string' ? update : update.name,
        operationId: typeof operation === 'string' ? operation : operation.workflowId,
        decision,
        author,
      }),
    async startAgencies(behaviours = {}, watch = {}) {
      const started = new Map<AgencyId, SimulatedAgency>();
      for (const agency of AGENCY_IDS) {
        const simulated = await startSimulatedAgency(agency, behaviours[agency] ?? defaultBehaviour(agency), {
          servers: nats.url,
          ...watch,
          ...(secured ? { credentials: secured.agency(agency) } : {}),
        });
        agencies.push(simulated);
        started.set(agency, simulated);
      }
      return started;
    },
    async stop() {
      for (const agency of agencies) await agency.stop();
      if (options.erasureReconcileSeconds)
        await client.schedule
          .getHandle(erasureReconciliationScheduleId(options.taskQueue))
          .delete()
          .catch(() => undefined);
      await engine.stop();
      for (const extra of extraConnections) await extra.drain().catch(() => undefined);
      await nats.stop();
    },
  };
}
