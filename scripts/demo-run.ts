/**
 * The demo itself (see scripts/demo.ts, its entry point, which reads the options first).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { entityKeyFromEnvironment, AuditLog, generateMasterKey, readMasterKeyring, UnknownMasterKeyError } from '../vault/index.js';
import { loadCatalogueFile } from '../config/index.js';
import {
  SUBJECTS,
  agencyName,
  formatStockholm,
  type DecisionInput,
  type DecisionKind,
  type OperationState,
  type Phase,
  type TipInput,
} from '../domain/index.js';
import { currentWorkflowBundle } from '../workers/workflowBundle.js';
import { TASK_QUEUE, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { freePort, startTemporalDevServer } from './dev-stack.js';
import { startEmbeddedEngine } from './embedded-engine.js';
import { DEMO_API_CLIENT_SECRET, DEMO_COORDINATOR, DEMO_PASSWORD, startIdentityProvider } from './identity-provider.js';
import { approveDevice } from './oidc-sign-in.js';
import { LosClient, NotAllowedNowError } from '../coordinator/client.js';
import { bearerToken, signIn } from '../coordinator/credentials.js';
import { PROJECT_ROOT } from './temporal-cli.js';
import { loadRealm, type ROLES } from '../idp/realm.js';
import { demoOptions } from './demo-options.js';

type RealmRole = (typeof ROLES)[number];

const { keep, ports } = demoOptions();
// Tests point the demo at a scratch directory; by default the stack keeps its data in .data/.
const DATA = process.env.LOS_DEMO_DATA_DIR ?? join(PROJECT_ROOT, '.data');
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => console.log(`${stamp()} ${line}`);

/** Everything the demo started, stopped in reverse order exactly once: at the end, on a signal, or on failure. */
const started: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;
/** Starts under way: a stop waits for them, then stops what they started with the rest. */
const starting = new Set<Promise<unknown>>();
const stopAll = () =>
  (stopping ??= (async () => {
    for (;;) {
      await Promise.allSettled([...starting]);
      const stop = started.pop();
      if (!stop) return;
      // Written synchronously: the process exits right after, and a pipe would lose a pending write.
      await stop().catch((err: unknown) => writeSync(2, `demo: while stopping: ${(err as Error).message}\n`));
    }
  })());
/** Starts something the demo must stop again; once a stop has begun, nothing new starts. */
async function owned<T>(start: () => Promise<T>, stopOf: (it: T) => Promise<void>): Promise<T> {
  if (stopping) throw new Error('stopping');
  const pending = start();
  starting.add(pending);
  try {
    const it = await pending;
    started.push(() => stopOf(it));
    return it;
  } finally {
    starting.delete(pending);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // Not once: Ctrl-C reaches this process both from the terminal and from npm, and a second signal must not
  // end it with the default action half-way through stopping.
  process.on(signal, () => {
    if (stopping) return;
    say(`${signal}: stopping everything the demo started…`);
    void stopAll().then(() => {
      say('Stopped cleanly.');
      process.exit(0);
    });
  });
}

const PHASE_NAMES: Record<Phase, string> = {
  tip: 'tip (registered)',
  assessment: 'assessment (bedömning)',
  mandate_matching: 'mandate matching (mandatmatchning)',
  joint_action: 'joint action (gemensam insats)',
  follow_up: 'follow-up (uppföljning)',
  closed: 'closed',
  dismissed: 'dismissed',
  cancelled: 'cancelled',
};

async function main() {
  // The demo owns SIGINT and SIGTERM (it stops everything it started), so the SDK must not react to them first.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  say('Starting the embedded stack: Temporal dev server (SQLite + Web UI) and nats-server with JetStream…');
  // The master key wraps the keys the NATS store keeps, so it is kept with that store: made on the first run, in
  // .data/ (git-ignored, mode 0600), and used again by every run on the same data, as a deployment keeps its key.
  mkdirSync(DATA, { recursive: true });
  const masterKeyFile = join(DATA, 'master.key');
  if (!existsSync(masterKeyFile)) writeFileSync(masterKeyFile, `${generateMasterKey()}\n`, { mode: 0o600 });
  const keyring = readMasterKeyring({ LOS_MASTER_KEY_FILE: masterKeyFile });
  const codecPort = await freePort(8234);
  const codecUrl = `http://127.0.0.1:${codecPort}`;
  const temporal = await owned(
    () =>
      startTemporalDevServer({
        dbFile: join(DATA, 'temporal.db'),
        port: ports.temporal,
        uiPort: ports.ui,
        logFile: join(DATA, 'temporal.log'),
        // The UI decodes through the codec server; the history retention matches the operations' retention.
        uiCodecEndpoint: codecUrl,
        historyRetention: '90 days',
      }),
    (it) => it.stop(),
  );
  const catalogue = loadCatalogueFile();
  // Built once and kept in dist/; rebuilt when the workflow code has changed since (workers/workflowBundle.ts).
  await currentWorkflowBundle((reason) => say(`${reason[0]!.toUpperCase()}${reason.slice(1)}…`));
  say('Starting the worker, the bridge and nats-server…');
  const deadLetter = (reason: string, subject: string) => say(`  ✗ dead letter from ${subject}: ${reason}`);
  // Need to know, enforced by nats-server: every agency system logs in as itself and reads only its own events.
  // The entity-reference key: the environment's, or the data directory's (owner-readable only), made on the first run
  // and kept like the master key: the operations kept in Temporal carry references computed with it. \`los\` can be
  // pointed at it with LOS_ENTITY_KEY_FILE while --keep holds the stack up.
  const entityKeyFile = join(DATA, 'entity.key');
  let entityKey = entityKeyFromEnvironment();
  if (entityKey === undefined) {
    if (!existsSync(entityKeyFile)) writeFileSync(entityKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    entityKey = readFileSync(entityKeyFile, 'utf8').trim();
  }
  // People sign in at an OpenID Connect provider: the embedded one here, its own process, with the demo realm
  // (idp/realm.yaml). The engine knows only its issuer URL and the API's client registration. The codec server lets
  // in whom the API lets in: by their access token, or in a browser by the API's session cookie.
  const apiPort = await freePort(4300);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const uiOnApiHost = new URL(temporal.uiUrl!).origin.replace('localhost', '127.0.0.1');
  const idp = await owned(
    async () =>
      startIdentityProvider({
        scratchDir: DATA,
        dataDir: join(DATA, 'idp'),
        audience: `${apiUrl}/v1`,
        apiUrls: [apiUrl],
        port: await freePort(4400),
      }),
    (it) => it.stop(),
  );
  say(`Identity provider at ${idp.issuer} (the demo realm: idp/realm.yaml)`);
  const engine = await owned(
    () =>
      startEmbeddedEngine({
        entityKey,
        keyring,
        temporalAddress: temporal.address,
        scratchDir: DATA,
        taskQueue: TASK_QUEUE,
        auth: true,
        onDeadLetter: deadLetter,
        // The engine's one door for people: the HTTP API, signing them in at the provider.
        api: { port: apiPort, issuer: idp.issuer, clientSecret: DEMO_API_CLIENT_SECRET },
        // The UI at 127.0.0.1, the API's host: a browser sends the API's session cookie only within the same site.
        codec: { port: codecPort, uiOrigin: uiOnApiHost },
        ...(ports.nats ? { natsPort: ports.nats } : {}),
        // The production wiring's erasure reconciliation, hourly; its Temporal Schedule is in the UI while --keep holds.
        erasureReconcileSeconds: 3_600,
      }),
    (it) => it.stop(),
  );
  // The coordinator's own reads below go through the access rules and the access log, as the codec server's do.
  const audit = await AuditLog.open(await engine.connectAs('worker'));
  say(`Temporal at ${temporal.address}, UI at ${temporal.uiUrl}; NATS at ${engine.nats.url} with one account per agency (NKEYs); the API at ${apiUrl}`);
  const agencies = await engine.startAgencies(DEMO_BEHAVIOURS, {
    onEvent: (agency, event) => say(`  → ${agency.padEnd(20)} ${event.name}${event.name === 'briefing' ? ' (with the full description)' : ''}`),
    onAnswer: (agency, answer, _operation, detail) => say(`  ← ${agency.padEnd(20)} ${answer}${detail ? `: ${detail}` : ''}`),
  });
  say(`Worker, bridge and ${agencies.size} simulated agency systems are up.`);
  // The steering group's events are read through its own durable consumer, like any recipient's.
  const steering = await owned(
    async () => (await jetstream(await engine.connectAs('steering_group')).consumers.get(SUBJECTS.streamOut, SUBJECTS.steeringConsumer)).consume(),
    async (it) => it.stop(),
  );
  void (async () => {
    for await (const msg of steering) {
      say(`  → steering group       ${msg.subject.split('.').pop()}`);
      msg.ack();
    }
  })();

  const tip: TipInput = {
    entity: {
      orgNumber: '556703-7485',
      name: 'Restaurang Norrsken AB',
      address: 'Storgatan 12, 903 26 Umeå',
      municipality: 'Umeå',
    },
    categories: ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'],
    description:
      'Serves alcohol after licence hours; staff appear to work without contracts and live on the premises; ' +
      'large cash deposits do not match the reported turnover.',
    urgency: 'high',
    source: { kind: 'public', protected: true },
    receivedAt: new Date().toISOString(),
  };
  // Deadlines scaled to seconds; a real operation uses days.
  const config = {
    assessmentDeadline: '20s',
    informationDeadline: '6s',
    mandateDeadline: '6s',
    findingsDeadline: '6s',
    followUpAfter: '3s',
    outcomeDeadline: '6s',
  };

  // The coordinator is Anna Lindqvist of Umeå. She signs in as \`los login\` does (the device flow); the demo
  // approves the code at the provider with her demo password, as she would in her browser.
  const credentialsFile = join(DATA, 'demo-credentials.json');
  const auth = await new LosClient({ apiUrl, token: () => Promise.reject(new Error('no token needed')) }).authConfig();
  await signIn(apiUrl, auth, credentialsFile, (device) => {
    say(`Coordinator: los login → open ${device.verificationUri}, code ${device.userCode} (Anna signs in there)`);
    void approveDevice(device.verificationUriComplete ?? device.verificationUri, DEMO_COORDINATOR.username, DEMO_PASSWORD).catch(fail);
  });
  const anna = new LosClient({ apiUrl, token: () => bearerToken({ apiUrl, credentialsFile }) });
  say(`Coordinator: signed in as ${DEMO_COORDINATOR.name} (coordinator, Umeå); everything she does goes through the API.`);

  const registration = await anna.registerTip(tip, { config: { ...config, retention: '90 days' } });
  say(`Tip registered as operation ${registration.operationId}`);
  say(`Temporal UI: ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${registration.operationId}`);
  const again = await anna.registerTip(tip, { config: { ...config, retention: '90 days' } });
  say(
    `Registering the same tip again: ${again.outcome === 'started' ? 'started a second operation (wrong!)' : `recognised (${again.outcome}), still ${again.operationId}`}`,
  );

  // The narrator (not the coordinator) follows the operation's progress through Temporal, as an operator would.
  const handle = engine.client.workflow.getHandle(registration.operationId);
  // The coordinator's decisions go to the API, which seals their free text, signs them with her as author and
  // forwards them; the workflow checks the signature, her role and municipality before it takes them.
  const decide = <K extends DecisionKind>(kind: K, decision: DecisionInput<K>) => anna.decide(registration.operationId, kind, decision);
  let lastPhase: Phase | undefined;
  const showPhase = (state: OperationState | { phase: Phase; nextDeadline?: OperationState['nextDeadline'] }) => {
    if (state.phase === lastPhase) return;
    lastPhase = state.phase;
    say(
      `PHASE → ${PHASE_NAMES[state.phase]}${state.nextDeadline ? `; next deadline: ${state.nextDeadline.what} at ${formatStockholm(state.nextDeadline.dueAt)}` : ''}`,
    );
  };
  showPhase({ phase: 'tip' });
  /** The coordinator's view: poll the state query, print each phase change, until the test holds. */
  let phaseEntriesShown = 0;
  const until = async (test: (s: OperationState) => boolean) => {
    for (;;) {
      const current = await handle.query(stateQuery);
      // Phases can pass faster than a poll: the timeline has every move, in order.
      const moves = (await handle.query(timelineQuery)).filter((e) => e.kind === 'phase_changed');
      for (const move of moves.slice(phaseEntriesShown)) {
        const to = move.text.split(' → ')[1] as Phase;
        showPhase(to === current.phase ? current : { phase: to });
      }
      phaseEntriesShown = moves.length;
      if (test(current)) return current;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  await until((s) => s.phase === 'assessment');
  say('Coordinator: asks Polisen first whether an ongoing investigation requires holding back.');
  await decide('assessment', {
    decision: 'request_info',
    agencies: ['polisen'],
    question: 'Is there an ongoing investigation that requires holding back?',
  });
  await until((s) => !s.pending.some((p) => p.awaiting === 'information'));
  say('Coordinator: assessment decision is "proceed".');
  await decide('assessment', { decision: 'proceed', note: 'Police see no reason to hold back.' });

  const matched = await until((s) => s.phase === 'joint_action');
  const accepted = matched.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency);
  say(
    `Mandates: ${accepted.length} accepted (${accepted.join(', ')}); ${
      matched.agencies
        .filter((a) => a.mandate === 'declined')
        .map((a) => a.agency)
        .join(', ') || 'none'
    } declined.`,
  );

  try {
    await decide('schedule', { at: new Date(Date.now() + 5_000).toISOString(), place: tip.entity.address, lead: 'lansstyrelsen' });
  } catch (err) {
    if (!(err instanceof NotAllowedNowError)) throw err;
    say(`Coordinator tries Länsstyrelsen as lead and is refused (HTTP ${err.problem?.status ?? 409}): ${err.message}`);
  }
  const at = new Date(Date.now() + 5_000).toISOString();
  say(`Coordinator: schedules the joint action at ${formatStockholm(at)}, led by ${agencyName('polisen', catalogue)}.`);
  await decide('schedule', { at, place: tip.entity.address, lead: 'polisen' });

  await until((s) => s.phase === 'follow_up' && s.stage === 'closing_decision');
  say('Coordinator: all outcomes are in; closes the operation.');
  await decide('close', { summary: 'Licence revoked, tax reassessed, assets seized; criminal reports filed with the Police.' });

  await handle.result();
  // The coordinator reads the operation through the API: every field she is entitled to, and the read is logged.
  const { state: result, timeline } = await anna.show(registration.operationId);
  say(`PHASE → ${PHASE_NAMES[result.phase]}`);
  const o = result.outcome!;
  const kr = (n: number) => `${n.toLocaleString('sv-SE')} kr`;
  console.log(`
Outcome summary for ${result.operationId}
  participants        ${o.participants.join(', ')}
  declined            ${o.declined.join(', ') || '-'}
  no answer           ${o.noAnswer.join(', ') || '-'}
  fines               ${kr(o.finesSek)}
  sanction fees       ${kr(o.sanctionFeesSek)}
  tax reassessed      ${kr(o.taxReassessedSek)}
  assets seized       ${kr(o.assetsSeizedSek)}
  licences revoked    ${o.licencesRevoked}
  closure orders      ${o.closureOrders}
  criminal reports    ${o.criminalReports}
  timeline entries    ${timeline.length}
  coordinator         ${o.coordinatorSummary ?? '-'}

Who decided (the timeline's signed authors)
${timeline
  .filter((entry) => entry.by !== undefined)
  .map((entry) => `  ${formatStockholm(entry.at)}  ${entry.by!.name} (${entry.by!.role})  ${entry.text}`)
  .join('\n')}
`);
  say(`Access log of ${result.operationId}: ${(await audit.forOperation(result.operationId)).length} record(s) (los audit ${result.operationId}).`);
  say(`Finished in ${((Date.now() - t0) / 1000).toFixed(1)}s.`);

  if (keep) {
    say(`--keep: everything stays up. Temporal UI: ${uiOnApiHost}/namespaces/${temporal.namespace}/workflows/${result.operationId}`);
    say(`The console (Swedish; ?lang=en for English): ${apiUrl}/konsol   this operation: ${apiUrl}/konsol/operationer/${result.operationId}`);
    say(`  Sign in there with password ${DEMO_PASSWORD} as one of the demo people (idp/realm.yaml):`);
    for (const line of consolePeople()) say(`    ${line}`);
    say(`Who can see what: the UI shows phase, deadlines and summary to anyone; personal fields only through the codec server at ${codecUrl}.`);
    say(`  In a browser, sign in at the API as ${DEMO_COORDINATOR.username} (password ${DEMO_PASSWORD}): ${apiUrl}/auth/login?returnTo=/auth/session`);
    say(
      `  then open the UI at ${uiOnApiHost} (not localhost: the cookie is 127.0.0.1's) and turn on "include cross-origin credentials" in its codec settings.`,
    );
    say(`  los: export LOS_API_URL=${apiUrl}; npm run los -- login   (sign in as anna), then npm run los -- show ${result.operationId}`);
    say(`  temporal: temporal workflow show -w ${result.operationId} --codec-endpoint ${codecUrl} --codec-auth "Bearer $(npm run --silent los -- token)"`);
    say('Press Ctrl-C (or send SIGTERM) to stop.');
    return;
  }
  await stopAll();
  say('Stopped cleanly.');
}

/** What the console shows each role; a role without a line (the administrator) has no pages in it. */
const CONSOLE_BY_ROLE: Partial<Record<RealmRole, (municipality?: string) => string>> = {
  coordinator: (municipality) => `coordinator of ${municipality}: decisions due there, its operations, every decision and tip`,
  steering_group: () => 'steering group: overdue operations and open escalations everywhere, no personal field',
  auditor: () => 'auditor: the access log and each operation’s disclosure register',
  operator: () => 'operator: overdue operations as the steering group sees them, sealed fields sealed',
};

/** The people of the demo realm (the file the identity provider reads) who have console pages, one line each. */
function consolePeople(): string[] {
  return loadRealm(join(PROJECT_ROOT, 'idp', 'realm.yaml')).people.flatMap((person) => {
    const what = CONSOLE_BY_ROLE[person.los_role];
    return what ? [`${person.username.padEnd(8)} ${person.name}, ${what(person.los_municipality)}`] : [];
  });
}

/** What a person can do about a failure the demo recognises. */
function advice(err: unknown): string | undefined {
  if (err instanceof UnknownMasterKeyError)
    return `The data in ${DATA} was made with another master key than ${join(DATA, 'master.key')} holds (was the file replaced or removed?). Put the old key back, or remove ${DATA} to start afresh.`;
  return undefined;
}

/**
 * A failure stops everything too; one while stopping is the stop's own doing (calls cut off mid-flight). The person
 * reads what failed and what to do; the stack trace goes to the demo's log file.
 */
const fail = (err: unknown) => {
  if (stopping) return;
  const logFile = join(DATA, 'demo.log');
  let logged = false;
  try {
    mkdirSync(DATA, { recursive: true });
    appendFileSync(logFile, `${new Date().toISOString()} demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
    logged = true;
  } catch {
    // The data directory cannot be written: the message below is all there is.
  }
  writeSync(
    2,
    `demo failed: ${(err as Error)?.message ?? String(err)}\n${advice(err) ?? 'Stopping everything the demo started.'}${logged ? ` The details are in ${logFile}.` : ''}\n`,
  );
  void stopAll().finally(() => process.exit(1));
};
process.on('uncaughtException', fail);
main().catch(fail);
