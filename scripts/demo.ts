/**
 * `npm run demo`: one realistic LOS operation, end to end, on the real stack. It starts the Temporal dev
 * server (with its Web UI) and nats-server, the worker, the bridge and a simulated system for every agency
 * in the catalogue, registers a tip, and acts as the coordinator through all five phases.
 * `npm run demo -- --keep` leaves everything running afterwards so the UI can be explored.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { loadCatalogueFile, sealDecision } from '../coordinator/index.js';
import { createDevIssuer, readAs, tokenVerifier, type Reader } from '../workers/access.js';
import { AuditLog } from '../workers/audit.js';
import { startCodecServer } from '../workers/codecServer.js';
import { generateMasterKey, openKeyStore, readMasterKeyring } from '../workers/keys.js';
import { SUBJECTS, agencyName, type OperationState, type Phase, type TipInput } from '../domain/index.js';
import { TASK_QUEUE, assessUpdate, closeUpdate, scheduleUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { freePort, startTemporalDevServer } from './dev-stack.js';
import { startEmbeddedEngine } from './embedded-engine.js';
import { PROJECT_ROOT } from './temporal-cli.js';

const keep = process.argv.includes('--keep');
// Tests point the demo at a scratch directory; by default the stack keeps its data in .data/.
const DATA = process.env.LOS_DEMO_DATA_DIR ?? join(PROJECT_ROOT, '.data');
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => console.log(`${stamp()} ${line}`);

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
  Runtime.install({ logger: new DefaultLogger('WARN') });
  say('Starting the embedded stack: Temporal dev server (SQLite + Web UI) and nats-server with JetStream…');
  // The master key is generated for this run and kept only in .data/ (git-ignored, mode 0600), for `los`.
  const masterKey = generateMasterKey();
  const masterKeyFile = join(DATA, 'master.key');
  const codecPort = await freePort(8234);
  const codecUrl = `http://127.0.0.1:${codecPort}`;
  const temporal = await startTemporalDevServer({
    dbFile: join(DATA, 'temporal.db'),
    port: 7233,
    uiPort: 8233,
    logFile: join(DATA, 'temporal.log'),
    // The UI decodes through the codec server; the history retention matches the operations' retention.
    uiCodecEndpoint: codecUrl,
    historyRetention: '90 days',
  });
  writeFileSync(masterKeyFile, `${masterKey}\n`, { mode: 0o600 });
  const keyring = readMasterKeyring({ LOS_MASTER_KEY: masterKey });
  const catalogue = loadCatalogueFile();
  say('Bundling the workflow code and starting the worker, the bridge and nats-server…');
  const deadLetter = (reason: string, subject: string) => say(`  ✗ dead letter from ${subject}: ${reason}`);
  // Need to know, enforced by nats-server: every agency system logs in as itself and reads only its own events.
  const engine = await startEmbeddedEngine({ temporalAddress: temporal.address, scratchDir: DATA, taskQueue: TASK_QUEUE, auth: true, onDeadLetter: deadLetter, keyring });
  // The codec server, with its own key-store connection, a development token issuer and the access log.
  const codecStore = await openKeyStore({ servers: engine.nats.url, keyring, name: 'los-codec', ...(engine.natsEngineCredentials ?? {}) });
  const audit = await AuditLog.open(codecStore.nc);
  const issuer = await createDevIssuer();
  const codec = await startCodecServer({ keys: codecStore.keys, audit, verifier: await tokenVerifier(issuer.publicJwk), uiOrigin: new URL(temporal.uiUrl!).origin, port: codecPort });
  writeFileSync(join(DATA, 'issuer.jwk.json'), JSON.stringify(issuer.publicJwk));
  const coordinator: Reader = { sub: 'demo.coordinator@umea', role: 'coordinator', municipality: 'Umeå' };
  const coordinatorToken = await issuer.mint(coordinator, '12h');
  say(`Temporal at ${temporal.address}, UI at ${temporal.uiUrl}; NATS at ${engine.nats.url} with one user per agency`);
  const agencies = await engine.startAgencies(DEMO_BEHAVIOURS, {
    onEvent: (agency, event) => say(`  → ${agency.padEnd(20)} ${event.name}${event.name === 'briefing' ? ' (with the full description)' : ''}`),
    onAnswer: (agency, answer, _operation, detail) => say(`  ← ${agency.padEnd(20)} ${answer}${detail ? `: ${detail}` : ''}`),
  });
  const { nc } = engine;
  say(`Worker, bridge and ${agencies.size} simulated agency systems are up.`);
  // The steering group's events are read through its own durable consumer, like any recipient's.
  const steering = await (await nc.jetstream().consumers.get(SUBJECTS.streamOut, SUBJECTS.steeringConsumer)).consume();
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

  const registration = await engine.register(tip, { config: { ...config, retention: '90 days' } });
  say(`Tip registered as operation ${registration.operationId}`);
  say(`Temporal UI: ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${registration.operationId}`);
  const again = await engine.register(tip, { config: { ...config, retention: '90 days' } });
  say(`Registering the same tip again: ${again.started ? 'started a second operation (wrong!)' : `recognised, still ${again.operationId}`}`);

  const handle = registration.handle;
  // The coordinator's decisions: free text sealed with the operation's key before it reaches Temporal.
  const sealed = <T extends object>(decision: T) => sealDecision(engine.keys, registration.operationId, decision);
  let lastPhase: Phase | undefined;
  const showPhase = (state: OperationState | { phase: Phase; nextDeadline?: OperationState['nextDeadline'] }) => {
    if (state.phase === lastPhase) return;
    lastPhase = state.phase;
    say(`PHASE → ${PHASE_NAMES[state.phase]}${state.nextDeadline ? `; next deadline: ${state.nextDeadline.what} at ${state.nextDeadline.dueAt}` : ''}`);
  };
  showPhase({ phase: 'tip' });
  /** The coordinator's view: poll the state query, print each phase change, until the test holds. */
  const until = async (test: (s: OperationState) => boolean) => {
    for (;;) {
      const current = await handle.query(stateQuery);
      showPhase(current);
      if (test(current)) return current;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  await until((s) => s.phase === 'assessment');
  say('Coordinator: asks Polisen first whether an ongoing investigation requires holding back.');
  await handle.executeUpdate(assessUpdate, {
    args: [await sealed({ decision: 'request_info' as const, agencies: ['polisen' as const], question: 'Is there an ongoing investigation that requires holding back?' })],
  });
  await until((s) => !s.pending.some((p) => p.awaiting === 'information'));
  say('Coordinator: assessment decision is "proceed".');
  await handle.executeUpdate(assessUpdate, { args: [await sealed({ decision: 'proceed' as const, note: 'Police see no reason to hold back.' })] });

  const matched = await until((s) => s.phase === 'joint_action');
  const accepted = matched.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency);
  say(`Mandates: ${accepted.length} accepted (${accepted.join(', ')}); ${matched.agencies.filter((a) => a.mandate === 'declined').map((a) => a.agency).join(', ') || 'none'} declined.`);

  try {
    await handle.executeUpdate(scheduleUpdate, { args: [await sealed({ at: new Date(Date.now() + 5_000).toISOString(), place: tip.entity.address, lead: 'lansstyrelsen' as const })] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    say(`Coordinator tries Länsstyrelsen as lead and is refused: ${err.cause?.message}`);
  }
  const at = new Date(Date.now() + 5_000).toISOString();
  say(`Coordinator: schedules the joint action at ${at}, led by ${agencyName('polisen', catalogue)}.`);
  await handle.executeUpdate(scheduleUpdate, { args: [await sealed({ at, place: tip.entity.address, lead: 'polisen' as const })] });

  await until((s) => s.phase === 'follow_up' && s.waitingFor === 'closing decision');
  say('Coordinator: all outcomes are in; closes the operation.');
  await handle.executeUpdate(closeUpdate, { args: [await sealed({ summary: 'Licence revoked, tax reassessed, assets seized; criminal reports filed with the Police.' })] });

  // The coordinator reads the sealed summary with the same rights as the codec server; the read is logged.
  const [result] = (await readAs(codecStore.keys, audit, { reader: coordinator, action: 'show', operationId: registration.operationId, values: [await handle.result()], payloads: [] })) as [Awaited<ReturnType<typeof handle.result>>];
  const timeline = await handle.query(timelineQuery).catch(() => []);
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
`);
  say(`Access log of ${result.operationId}: ${(await audit.forOperation(result.operationId)).length} record(s) (los audit ${result.operationId}).`);
  say(`Finished in ${((Date.now() - t0) / 1000).toFixed(1)}s.`);

  const shutdown = async () => {
    steering.stop();
    await codec.close();
    await codecStore.close();
    await engine.stop();
    await temporal.stop();
  };
  if (keep) {
    say(`--keep: everything stays up. Temporal UI: ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${result.operationId}`);
    say(`Who can see what: the UI shows phase, deadlines and summary to anyone; personal fields only through the codec server at ${codecUrl}.`);
    say(`  In a browser, sign in to the codec server as the Umeå coordinator: ${codecUrl}/login?token=${coordinatorToken}`);
    say('  then turn on "include cross-origin credentials" in the UI\'s codec settings.');
    say(`  CLI: temporal workflow show -w ${result.operationId} --codec-endpoint ${codecUrl} --codec-auth "Bearer ${coordinatorToken}"`);
    say(`  los: LOS_MASTER_KEY_FILE=${masterKeyFile} NATS_URL=${engine.nats.url} NATS_USER=${engine.natsEngineCredentials?.user ?? ''} NATS_PASSWORD=… LOS_TOKEN_ISSUER_JWK_FILE=${join(DATA, 'issuer.jwk.json')} LOS_TOKEN=<token> npm run los -- show ${result.operationId}`);
    say('Press Ctrl-C to stop.');
    await new Promise<void>((resolveSignal) => {
      process.once('SIGINT', () => resolveSignal());
      process.once('SIGTERM', () => resolveSignal());
    });
  }
  await shutdown();
  say('Stopped cleanly.');
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
