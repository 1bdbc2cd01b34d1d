import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { OPERATOR_VIEWS } from '../coordinator/queries.js';
import { stockholmWallTime, type OperationState, type TimelineEntry, type TipInput } from '../domain/index.js';
import { SEARCH_ATTRIBUTE_FLAGS, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { findTemporalCli } from '../scripts/temporal-cli.js';
import { eventually, receivedFor, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { generateMasterKey, readMasterKeyring, createDevIssuer, type Reader } from '../vault/index.js';
import { runCli } from '../coordinator/cli.js';

/**
 * The `los` command against the real dev server and worker. Most runs call `runCli` in this process, with the
 * environment and the output streams a child process would have (a child takes seconds to start tsx); the runs
 * marked `losProcess` go through the real launcher (coordinator/los.mjs) in a child process, as an operator runs it.
 */
const LOS = fileURLToPath(new URL('../coordinator/los.mjs', import.meta.url));
const UNREACHABLE = '127.0.0.1:1';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let engine: TestEngine;
/** The engine's master key: `los` seals with the same key store. */
const MASTER_KEY = generateMasterKey();
let scratch: string;
let agencies: Awaited<ReturnType<TestEngine['startAgencies']>>;

/** What `los` finds in its environment, as an operator's shell would give it. */
const losEnvironment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  TEMPORAL_ADDRESS: inject('temporalAddress'),
  TEMPORAL_NAMESPACE: 'default',
  NATS_URL: engine.nats.url,
  LOS_MASTER_KEY: MASTER_KEY,
  ...env,
});

function los(...args: string[]): Promise<Run> {
  return losWith({}, ...args);
}

/** One `los` command line in this process: its environment set and its stdout and stderr captured for the run. */
async function losWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  const overrides = losEnvironment(env);
  const saved = Object.fromEntries(Object.keys(overrides).map((key) => [key, process.env[key]]));
  Object.assign(process.env, overrides);
  let stdout = '';
  let stderr = '';
  const [writeOut, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await runCli([process.execPath, LOS, ...args]);
    return { code, stdout, stderr };
  } finally {
    [process.stdout.write, process.stderr.write] = [writeOut, writeErr];
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** `los` as an operator runs it: the real launcher in a child process. */
function losProcess(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOS, ...args], { env: { ...process.env, ...losEnvironment({}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tipFiles = 0;
function tipFile(tip: TipInput): string {
  tipFiles += 1;
  const path = join(scratch, `tip-${tipFiles}.json`);
  writeFileSync(path, JSON.stringify(tip, null, 2));
  return path;
}

// A municipality no other test file uses, so `los list` filters find only this file's operations.
const MUNICIPALITY = 'Vindeln';
const vindelnTip = () => sampleTip({ entity: { ...sampleTip().entity, municipality: MUNICIPALITY } });
const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

async function registered(tip: TipInput): Promise<string> {
  const run = await los('tip', 'register', tipFile(tip), '--task-queue', engine.taskQueue, '--json');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { operationId: string }).operationId;
}

const stateOf = (operationId: string) => engine.client.workflow.getHandle(operationId).query(stateQuery);
const until = (operationId: string, test: (s: OperationState) => boolean) => eventually(() => stateOf(operationId), test, 30_000);

beforeAll(async () => {
  engine = await startTestEngine('cli', { keyring: readMasterKeyring({ LOS_MASTER_KEY: MASTER_KEY }) });
  agencies = await engine.startAgencies(DEMO_BEHAVIOURS);
  scratch = mkdtempSync(join(inject('scratchDir'), 'cli-tips-'));
});
afterAll(async () => {
  await engine?.stop();
});

describe('los, from tip to a scheduled joint action', () => {
  it('registers a tip once, takes the decisions, shows the operation and finds it in the list', { timeout: 120_000 }, async () => {
    const file = tipFile(vindelnTip());
    const first = await losProcess('tip', 'register', file, '--task-queue', engine.taskQueue);
    expect(first.code, first.stderr).toBe(0);
    const operationId = /started operation (los-vindeln-[0-9a-f]{20})/.exec(first.stdout)?.[1];
    expect(operationId, first.stdout).toBeDefined();

    const again = await los('tip', 'register', file, '--task-queue', engine.taskQueue);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`tip already registered: operation ${operationId} exists; nothing started`);

    await until(operationId!, (s) => s.phase === 'assessment');
    const assessed = await los('assess', operationId!, 'proceed');
    expect(assessed.code, assessed.stderr).toBe(0);
    expect(assessed.stdout).toContain(`assessment recorded: ${operationId}`);

    await until(operationId!, (s) => s.stage === 'schedule_decision');
    const scheduled = await los('schedule', operationId!, '--at', inHours(48), '--place', 'Storgatan 12, Vindeln', '--lead', 'polisen');
    expect(scheduled.code, scheduled.stderr).toBe(0);
    // Participants still confirming readiness may be named after "action start".
    expect(scheduled.stdout).toMatch(new RegExp(`^joint action scheduled: ${operationId} is in phase joint_action, waiting for action start\\b`));

    // Without a token the record shows, the personal fields do not.
    const sealedView = await los('show', operationId!);
    expect(sealedView.code, sealedView.stderr).toBe(0);
    expect(sealedView.stdout.split('\n').find((r) => r.startsWith('polisen '))).toContain('(sealed)');
    expect(sealedView.stdout).not.toContain('LOS-samordnare');

    // A coordinator of the operation's municipality reads everything; an operator is refused; both are logged.
    const issuer = await createDevIssuer();
    const asReader = async (reader: Reader) => ({ LOS_TOKEN: await issuer.mint(reader), LOS_TOKEN_ISSUER_JWK: JSON.stringify(issuer.publicJwk) });
    const refused = await losWith(await asReader({ sub: 'olle.operator', role: 'operator' }), 'show', operationId!);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/operators may not decode personal data/);
    const shown = await losWith(await asReader({ sub: 'kari.coordinator@vindeln', role: 'coordinator', municipality: MUNICIPALITY }), 'show', operationId!);
    expect(shown.code, shown.stderr).toBe(0);
    const audit = await los('audit', operationId!);
    expect(audit.stdout).toMatch(/REFUSED +show +olle\.operator \(operator\)/);
    expect(audit.stdout).toMatch(/allowed +show +kari\.coordinator@vindeln \(coordinator\)/);
    expect(shown.stdout).toMatch(/^Phase +joint_action$/m);
    expect(shown.stdout).toMatch(/^Waiting for +action start\b/m);
    // Swedish local time, with the zone, wherever a person reads a time.
    expect(shown.stdout).toMatch(/^Next deadline +action start at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T \(in 1 d 23 h\)$/m);
    expect(shown.stdout).toMatch(/^Overdue +no$/m);
    // Each agency's answers on one aligned row: mandate, tools, contact function, and a decline's reason.
    const rows = shown.stdout.split('\n');
    const header = rows.find((r) => r.startsWith('AGENCY'))!;
    const polisen = rows.find((r) => r.startsWith('polisen '))!;
    expect(polisen).toContain('accepted');
    expect(polisen).toContain('LOS-samordnare, lokalpolisområde Umeå');
    expect(polisen.indexOf('LOS-samordnare')).toBe(header.indexOf('CONTACT FUNCTION'));
    const lansstyrelsen = rows.find((r) => r.startsWith('lansstyrelsen '))!;
    expect(lansstyrelsen).toContain('declined');
    expect(lansstyrelsen.slice(header.indexOf('DECLINE REASON'))).toBe('A restaurant is not under our anti-money-laundering supervision; Polisen covers it.');
    const timelineHeader = rows.find((r) => r.startsWith('AT (Stockholm)'))!;
    const scheduledRow = rows.find((r) => r.includes('joint action #1 scheduled for'))!;
    expect(scheduledRow.indexOf('joint action #1')).toBe(timelineHeader.indexOf('WHAT'));
    // Who decided, in which role: the author the decision was signed for.
    expect(scheduledRow.slice(timelineHeader.indexOf('BY'))).toMatch(/^los \(command line\) \(coordinator\) /);
    expect(rows.some((r) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T +phase changed +mandate_matching → joint_action$/.test(r))).toBe(true);

    const filters = ['--phase', 'joint_action', '--municipality', MUNICIPALITY, '--agency', 'polisen'];
    const query = `LosPhase = 'joint_action' AND LosMunicipality = '${MUNICIPALITY}' AND LosAgencies = 'polisen'`;
    const list = await eventually(
      () => los('list', ...filters),
      (run) => run.stdout.includes(operationId!),
    );
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toBe(`Query: ${query}`);
    expect(list.stdout).toContain(`temporal workflow list --namespace default --query "${query}"`);
    expect(list.stdout).toMatch(new RegExp(`^${operationId} +running +joint_action +no `, 'm'));

    const cancelled = await los('cancel', operationId!, '--reason', 'The owner closed the business.');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    await engine.client.workflow.getHandle(operationId!).result();
    const afterwards = await los('schedule', operationId!, '--at', inHours(48), '--place', 'Storgatan 12', '--lead', 'polisen');
    expect(afterwards.code).toBe(1);
    expect(afterwards.stderr.trim()).toBe(`error: operation "${operationId}" has ended (cancelled); it takes no more decisions`);
  });
});

describe('los --json', () => {
  it('prints one JSON document with the operation ID, the state and the timeline, and the list with its query', { timeout: 90_000 }, async () => {
    const registration = await los('tip', 'register', tipFile(vindelnTip()), '--task-queue', engine.taskQueue, '--json');
    expect(registration.code, registration.stderr).toBe(0);
    const { operationId, started } = JSON.parse(registration.stdout) as { operationId: string; started: boolean };
    expect(started).toBe(true);
    await until(operationId, (s) => s.phase === 'assessment');

    const shown = await los('show', operationId, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const { state, timeline } = JSON.parse(shown.stdout) as { state: OperationState; timeline: TimelineEntry[] };
    expect(state).toMatchObject({ operationId, phase: 'assessment', stage: 'assessment', overdue: false, municipality: MUNICIPALITY });
    expect(state.nextDeadline?.what).toBe('assessment');
    expect(timeline.map((e) => e.text)).toContain('tip → assessment');

    const decided = await los('assess', operationId, 'dismiss', '--reason', 'Already handled by the Police.', '--json');
    expect(decided.code, decided.stderr).toBe(0);
    // The state is queried right after the update: the main loop may not have acted on the decision yet.
    expect(JSON.parse(decided.stdout)).toMatchObject({
      operationId,
      decision: { decision: 'dismiss', reason: 'Already handled by the Police.' },
      state: { operationId, phase: expect.stringMatching(/^(assessment|dismissed)$/) },
    });
    await engine.client.workflow.getHandle(operationId).result();

    // Visibility is eventually consistent: the phase is upserted before the operation's last fan-out completes it.
    const list = await eventually(
      () => los('list', '--municipality', MUNICIPALITY, '--phase', 'dismissed', '--json'),
      (run) =>
        json<{ operations: { operationId: string; status: string }[] }>(run).operations.some((o) => o.operationId === operationId && o.status === 'COMPLETED'),
    );
    const listed = JSON.parse(list.stdout) as { query: string; operations: { operationId: string; phase: string; status: string }[] };
    expect(listed.query).toBe(`LosPhase = 'dismissed' AND LosMunicipality = '${MUNICIPALITY}'`);
    expect(listed.operations.find((o) => o.operationId === operationId)).toMatchObject({ phase: 'dismissed', status: 'COMPLETED' });

    const overdue = await los('list', '--overdue', '--json');
    expect(overdue.code, overdue.stderr).toBe(0);
    expect((JSON.parse(overdue.stdout) as { query: string }).query).toBe(OPERATOR_VIEWS.overdue.query);
  });

  it('reports a failure as a JSON document too', async () => {
    const run = await los('show', 'los-nowhere-00000000000000000000', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { message: 'operation "los-nowhere-00000000000000000000" not found in namespace "default"', exitCode: 1 },
    });
  });
});

describe('los rejects what it cannot do, and says why', () => {
  it('rejects a tip with a bad org number before contacting any server, naming the field', async () => {
    const tip = vindelnTip();
    const run = await los('tip', 'register', tipFile({ ...tip, entity: { ...tip.entity, orgNumber: '5566778890' } }), '--address', UNREACHABLE);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: tip rejected: entity.orgNumber "5566778890": Luhn check digit should be 9');
    expect(run.stdout).toBe('');
  });

  it('rejects a decision that breaks its schema before contacting any server', async () => {
    const run = await los('assess', 'los-vindeln-00000000000000000000', 'dismiss', '--reason', 'no', '--address', UNREACHABLE);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: assessment rejected: reason "no": must give a reason of at least 3 characters');
  });

  it('passes on the workflow validator’s message when the lead has not accepted a mandate', { timeout: 90_000 }, async () => {
    const operationId = await registered(vindelnTip());
    await until(operationId, (s) => s.phase === 'assessment');
    expect((await los('assess', operationId, 'proceed')).code).toBe(0);
    await until(operationId, (s) => s.stage === 'schedule_decision');
    // Länsstyrelsen declines in DEMO_BEHAVIOURS.
    const run = await los('schedule', operationId, '--at', inHours(48), '--place', 'Storgatan 12', '--lead', 'lansstyrelsen');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^error: schedule rejected: lead "lansstyrelsen" has not accepted a mandate \(participants: [a-z_, ]+\)$/);
    expect((await stateOf(operationId)).stage).toBe('schedule_decision');
    await engine.client.workflow.getHandle(operationId).terminate('test done');
  });

  it('says plainly when an operation ID is unknown', async () => {
    const run = await los('show', 'los-nowhere-00000000000000000000');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: operation "los-nowhere-00000000000000000000" not found in namespace "default"');
  });

  it('exits 2 within seconds when Temporal cannot be reached', async () => {
    const started = Date.now();
    const run = await losProcess('show', 'los-vindeln-00000000000000000000', '--address', UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: cannot reach Temporal at 127\.0\.0\.1:1: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('validates list filters against the domain’s phases and agencies', async () => {
    const phase = await los('list', '--phase', 'approved');
    expect(phase.code).toBe(1);
    expect(phase.stderr).toContain("option '--phase <phase>' argument 'approved' is invalid. Allowed choices are tip, assessment, mandate_matching");
    const agency = await los('list', '--agency', 'polis');
    expect(agency.code).toBe(1);
    expect(agency.stderr).toContain("option '--agency <agency>' argument 'polis' is invalid.");
  });
});

const json = <T>(run: Run): T => JSON.parse(run.stdout) as T;
/** The Stockholm wall time `hours` from now, as a coordinator types it: no offset. */
const localInHours = (h: number) => {
  const wall = stockholmWallTime(Date.now() + h * 3_600_000);
  return `${wall.date}T${wall.time.slice(0, 5)}`;
};

describe('los tip register never misleads', () => {
  it('names how, when and why an operation ended when its tip is registered again, and exits 1', { timeout: 60_000 }, async () => {
    const tip = vindelnTip();
    const operationId = await registered(tip);
    await until(operationId, (s) => s.phase === 'assessment');
    expect((await los('cancel', operationId, '--reason', 'The owner closed the business.')).code).toBe(0);
    await engine.client.workflow.getHandle(operationId).result();

    // Why it ended is personal data: without a token it stays sealed.
    const sealedReason = await los('tip', 'register', tipFile(tip), '--task-queue', engine.taskQueue);
    expect(sealedReason.code).toBe(1);
    expect(sealedReason.stderr).toContain('(sealed: give your --token to read it)');
    expect(sealedReason.stderr).not.toContain('The owner closed the business.');

    // A coordinator of the municipality reads it, and the read is on the access log.
    const issuer = await createDevIssuer();
    const coordinator = {
      LOS_TOKEN: await issuer.mint({ sub: 'kari.coordinator@vindeln', role: 'coordinator', municipality: MUNICIPALITY }),
      LOS_TOKEN_ISSUER_JWK: JSON.stringify(issuer.publicJwk),
    };
    const again = await losWith(coordinator, 'tip', 'register', tipFile(tip), '--task-queue', engine.taskQueue);
    expect(again.code).toBe(1);
    expect((await los('audit', operationId)).stdout).toMatch(/allowed +register +kari\.coordinator@vindeln \(coordinator\)/);
    expect(again.stderr.trim()).toMatch(
      new RegExp(
        `^error: tip already registered as operation ${operationId}, which has ended: cancelled on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d CES?T \\("The owner closed the business\\."\\); ` +
          'nothing started and nothing corrected\\. If the case has come back, register it as a new tip, with the time it came back as receivedAt\\.$',
      ),
    );
    const asJson = await losWith(coordinator, 'tip', 'register', tipFile(tip), '--task-queue', engine.taskQueue, '--json');
    expect(asJson.code).toBe(1);
    const { error } = json<{ error: { message: string; exitCode: number; details: { outcome: string; ended: { how: string; at: string; reason: string } } } }>(
      asJson,
    );
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('which has ended: cancelled on ');
    expect(error.details).toMatchObject({ operationId, outcome: 'ended', ended: { how: 'cancelled', reason: 'The owner closed the business.' } });
    expect(Date.parse(error.details.ended.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('applies a corrected address and urgency, and tells only the agencies that hold each, and only that', { timeout: 120_000 }, async () => {
    const tip = { ...vindelnTip(), urgency: 'normal' as const };
    const operationId = await registered(tip);
    await until(operationId, (s) => s.phase === 'assessment');
    expect((await los('assess', operationId, 'proceed')).code).toBe(0);
    await until(operationId, (s) => s.stage === 'schedule_decision');
    // A time typed without an offset is read as Stockholm time and said back with its offset.
    const at = localInHours(48);
    const scheduled = await los('schedule', operationId, '--at', at, '--place', 'Storgatan 12, Vindeln', '--lead', 'polisen');
    expect(scheduled.code, scheduled.stderr).toBe(0);
    expect(scheduled.stderr).toMatch(new RegExp(`^--at "${at}" read as Stockholm time: ${at}:00\\+0[12]:00$`, 'm'));
    const state = await until(operationId, (s) => s.pending.filter((p) => p.awaiting === 'readiness').length === 0);
    const participants = state.agencies
      .filter((a) => a.mandate === 'accepted')
      .map((a) => a.agency)
      .sort();
    const told = state.agencies.map((a) => a.agency).sort();

    const corrected = { ...tip, urgency: 'critical' as const, entity: { ...tip.entity, address: 'Storgatan 14, 922 31 Vindeln' } };
    const run = await los('tip', 'register', tipFile(corrected), '--task-queue', engine.taskQueue);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`tip already registered as operation ${operationId}: corrected entity.address, urgency; told ${told.join(', ')}`);

    const timeline = await engine.client.workflow.getHandle(operationId).query(timelineQuery);
    expect(timeline.some((e) => e.kind === 'decision' && e.text.startsWith('tip corrected: entity.address, urgency (urgency normal → critical)'))).toBe(true);
    await eventually(
      async () => receivedFor(agencies, operationId),
      (received) => told.every((agency) => received[agency]?.includes('tip_corrected')),
    );
    for (const agency of told) {
      const notice = agencies.get(agency)!.received.find((e) => e.operationId === operationId && e.name === 'tip_corrected')!;
      // Need to know: the urgency only went to briefed participants, so only they hear it changed.
      const expected = participants.includes(agency) ? { address: corrected.entity.address, urgency: 'critical' } : { address: corrected.entity.address };
      expect(notice.data, agency).toEqual({ correlation: expect.anything(), corrected: expected });
    }
    // The same corrected tip once more changes nothing and says so.
    const same = await los('tip', 'register', tipFile(corrected), '--task-queue', engine.taskQueue);
    expect(same.stdout.trim()).toBe(`tip already registered: operation ${operationId} exists; nothing started`);
    await engine.client.workflow.getHandle(operationId).terminate('test done');
  });

  it('warns of another open operation about the same business, found by a pseudonymous reference', { timeout: 60_000 }, async () => {
    const orgNumber = '202100-5448';
    const first = json<{ operationId: string; entityRef: string }>(
      await los('tip', 'register', tipFile({ ...vindelnTip(), entity: { ...vindelnTip().entity, orgNumber } }), '--task-queue', engine.taskQueue, '--json'),
    );
    // Another municipality, another description, the org number written in its 12-digit form.
    const elsewhere = sampleTip({
      entity: { ...sampleTip().entity, orgNumber: '16202100-5448', municipality: 'Robertsfors' },
      description: 'Cash-only bar in the back room.',
    });
    const elsewhereFile = tipFile(elsewhere);
    const secondId = json<{ operationId: string }>(await los('tip', 'register', elsewhereFile, '--task-queue', engine.taskQueue, '--json')).operationId;
    // Visibility is eventually consistent; every registration of the tip warns once the other one is visible.
    const second = await eventually(
      () => los('tip', 'register', elsewhereFile, '--task-queue', engine.taskQueue),
      (run) => run.stderr.includes(first.operationId),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`warning: another open operation concerns the same business: ${first.operationId} (`);
    expect(second.stderr).toContain(`\`los list --same-business ${secondId}\` lists them`);

    const other = json<{ operationId: string; entityRef: string; sameBusiness: unknown[] }>(
      await los('tip', 'register', tipFile(vindelnTip()), '--task-queue', engine.taskQueue, '--json'),
    );
    const described = await engine.client.workflow.getHandle(secondId).describe();
    const secondRef = described.searchAttributes.LosEntityRef?.[0];
    // Stable across municipalities and written forms; different for another business; no org number in it.
    expect(secondRef).toBe(first.entityRef);
    expect(other.entityRef).not.toBe(first.entityRef);
    expect(first.entityRef).toMatch(/^[0-9a-f]{32}$/);
    expect(other.sameBusiness.some((o) => (o as { operationId: string }).operationId === first.operationId)).toBe(false);

    const listed = await eventually(
      () => los('list', '--same-business', secondId, '--json'),
      (run) => run.code === 0 && json<{ operations: unknown[] }>(run).operations.length >= 2,
    );
    const { query, operations } = json<{ query: string; operations: { operationId: string }[] }>(listed);
    expect(query).toBe(`LosEntityRef = '${first.entityRef}'`);
    expect(operations.map((o) => o.operationId).sort()).toEqual([first.operationId, secondId].sort());
    for (const id of [first.operationId, secondId, other.operationId]) await engine.client.workflow.getHandle(id).terminate('test done');
  });

  it('stores a municipality NFC-normalised, so either spelling of "Åsele" finds it', { timeout: 60_000 }, async () => {
    const decomposed = 'A\u030asele';
    const operationId = await registered(sampleTip({ entity: { ...sampleTip().entity, municipality: decomposed } }));
    for (const typed of ['Åsele', decomposed]) {
      const run = await eventually(
        () => los('list', '--municipality', typed, '--json'),
        (r) => r.code === 0 && json<{ operations: { operationId: string }[] }>(r).operations.some((o) => o.operationId === operationId),
      );
      expect(json<{ query: string }>(run).query).toBe("LosMunicipality = 'Åsele'");
    }
    await engine.client.workflow.getHandle(operationId).terminate('test done');
  });

  it('takes the deadlines and periods as options, checked with the domain schema', { timeout: 60_000 }, async () => {
    const bad = await los('tip', 'register', tipFile(vindelnTip()), '--assessment-deadline', '5 workdays', '--quorum', 'two', '--address', UNREACHABLE);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'error: tip register rejected: --assessment-deadline "5 workdays": must be a duration such as "10 days", "30s" or "5 working days"; --quorum "two": Invalid input: expected number, received string',
    );
    const run = await los('tip', 'register', tipFile(vindelnTip()), '--task-queue', engine.taskQueue, '--assessment-deadline', '3 days', '--json');
    expect(run.code, run.stderr).toBe(0);
    const { operationId } = json<{ operationId: string }>(run);
    const state = await until(operationId, (s) => s.phase === 'assessment');
    const dueIn = Date.parse(state.nextDeadline!.dueAt) - Date.now();
    expect(dueIn).toBeGreaterThan(3 * 86_400_000 - 120_000);
    expect(dueIn).toBeLessThanOrEqual(3 * 86_400_000);
    await engine.client.workflow.getHandle(operationId).terminate('test done');
  });
});

describe('los refuses unclean input, naming the field, quoting little', () => {
  it('refuses control characters and bidirectional overrides in free text', async () => {
    const tip = vindelnTip();
    const ansi = await los('tip', 'register', tipFile({ ...tip, description: 'Looks fine \u001b[2J\u001b[Hcleared' }), '--address', UNREACHABLE);
    expect(ansi.code).toBe(1);
    expect(ansi.stderr.trim()).toBe(
      'error: tip rejected: description "Looks fine \\u001b[2J\\u001b[Hcleared": contains a control character (U+001B at character 12); only line breaks and tabs are allowed',
    );
    const bidi = await los('tip', 'register', tipFile({ ...tip, entity: { ...tip.entity, name: 'Norrsken \u202eBA' } }), '--address', UNREACHABLE);
    expect(bidi.stderr.trim()).toBe(
      'error: tip rejected: entity.name "Norrsken \\u202eBA": contains a bidirectional override (U+202E at character 10), which can make the text display as something else',
    );
  });

  it('quotes at most about 100 characters of a rejected value, even of a 2 MB description', async () => {
    const run = await los('tip', 'register', tipFile({ ...vindelnTip(), description: 'x'.repeat(2_000_000) }), '--address', UNREACHABLE);
    expect(run.code).toBe(1);
    expect(run.stderr.length).toBeLessThan(300);
    expect(run.stderr).toContain(`description "${'x'.repeat(100)}…" (2000000 characters): `);
  });

  it('refuses an action years ahead and a time that does not exist in Stockholm', async () => {
    const far = await los(
      'schedule',
      'los-vindeln-00000000000000000000',
      '--at',
      '2099-06-01T10:00',
      '--place',
      'Storgatan 12',
      '--lead',
      'polisen',
      '--address',
      UNREACHABLE,
    );
    expect(far.code).toBe(1);
    expect(far.stderr.trim()).toBe('error: schedule rejected: at "2099-06-01T10:00:00+02:00" is more than two years ahead');
    const nine = await los(
      'schedule',
      'los-vindeln-00000000000000000000',
      '--at',
      '9999-06-01T10:00:00Z',
      '--place',
      'Storgatan 12',
      '--lead',
      'polisen',
      '--address',
      UNREACHABLE,
    );
    expect(nine.stderr.trim()).toBe('error: schedule rejected: at "9999-06-01T10:00:00Z": must lie between the years 2000 and 2099');
    const gap = await los(
      'schedule',
      'los-vindeln-00000000000000000000',
      '--at',
      '2027-03-28T02:30',
      '--place',
      'Storgatan 12',
      '--lead',
      'polisen',
      '--address',
      UNREACHABLE,
    );
    expect(gap.stderr.trim()).toBe(
      'error: schedule rejected: at "2027-03-28T02:30": does not exist in Stockholm: the clocks jump from 02:00 to 03:00 that night',
    );
  });
});

describe('los --json for every failure', () => {
  it('gives command-line mistakes as one JSON document on stdout, and nothing on stderr', async () => {
    const choice = await losProcess('list', '--phase', 'approved', '--json');
    expect(choice.code).toBe(1);
    expect(choice.stderr).toBe('');
    expect(json<{ error: { message: string; exitCode: number } }>(choice).error).toEqual({
      message: expect.stringMatching(/^option '--phase <phase>' argument 'approved' is invalid\. Allowed choices are tip, assessment/),
      exitCode: 1,
    });
    const missing = await los('schedule', 'los-vindeln-00000000000000000000', '--json');
    expect(missing.code).toBe(1);
    expect(json<{ error: { message: string } }>(missing).error.message).toBe("required option '--at <time>' not specified");
    const huge = await los('assess', 'los-x', 'y'.repeat(5_000), '--json');
    expect(json<{ error: { message: string } }>(huge).error.message.length).toBeLessThan(400);
  });

  it('refuses to register without the entity key, saying how to set one, before contacting any server', async () => {
    const run = await losWith({ LOS_ENTITY_KEY: '', LOS_ENTITY_KEY_FILE: '' }, 'tip', 'register', tipFile(vindelnTip()), '--address', UNREACHABLE, '--json');
    expect(run.code).toBe(2);
    expect(json<{ error: { message: string } }>(run).error.message).toMatch(
      /^no entity key: set LOS_ENTITY_KEY to the engine's entity key, or LOS_ENTITY_KEY_FILE to a file holding it /,
    );
  });

  it("keeps Temporal's cause and turns missing search attributes into advice naming them and the command", { timeout: 60_000 }, async () => {
    const namespace = `los-bare-${process.pid}`;
    // A namespace made as an operator would, without the LOS search attributes.
    execFileSync(findTemporalCli()!, ['operator', 'namespace', 'create', '--address', inject('temporalAddress'), '--namespace', namespace], {
      stdio: 'ignore',
    });
    const file = tipFile(vindelnTip());
    const run = await eventually(
      () => los('tip', 'register', file, '--namespace', namespace, '--json'),
      (r) => r.stdout.includes('search attribute'),
    );
    expect(run.code).toBe(2);
    const { message } = json<{ error: { message: string } }>(run).error;
    const names = Object.keys(SEARCH_ATTRIBUTE_FLAGS);
    expect(message).toContain(`namespace "${namespace}" lacks the LOS search attributes ${names.join(', ')} (Temporal: Failed to start Workflow: `);
    // Temporal names one missing attribute, whichever its map yields first.
    expect(message).toMatch(/no mapping defined for search attribute Los(Phase|Municipality|EntityRef)/);
    expect(message).toContain(
      `create them with: temporal operator search-attribute create --address ${inject('temporalAddress')} --namespace ${namespace} --name LosPhase --type Keyword`,
    );
    expect(message).toContain('--name LosEntityRef --type Keyword');
  });
});
