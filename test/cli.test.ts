import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { OPERATOR_VIEWS } from '../coordinator/queries.js';
import type { OperationState, TimelineEntry, TipInput } from '../domain/index.js';
import { stateQuery } from '../workflows/definitions.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { generateMasterKey, readMasterKeyring } from '../workers/keys.js';
import { createDevIssuer, type Reader } from '../workers/access.js';

/** The `los` command as an operator runs it: the real launcher in a child process, the real dev server and worker. */
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

function los(...args: string[]): Promise<Run> {
  return losWith({}, ...args);
}

function losWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOS, ...args], {
      env: { ...process.env, ...env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default', NATS_URL: engine.nats.url, LOS_MASTER_KEY: MASTER_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
  await engine.startAgencies(DEMO_BEHAVIOURS);
  scratch = mkdtempSync(join(inject('scratchDir'), 'cli-tips-'));
});
afterAll(async () => {
  await engine?.stop();
});

describe('los, from tip to a scheduled joint action', () => {
  it('registers a tip once, takes the decisions, shows the operation and finds it in the list', { timeout: 120_000 }, async () => {
    const file = tipFile(vindelnTip());
    const first = await los('tip', 'register', file, '--task-queue', engine.taskQueue);
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

    await until(operationId!, (s) => s.waitingFor === 'schedule decision');
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
    expect(shown.stdout).toMatch(/^Next deadline +action start at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 1 d 23 h\)$/m);
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
    const timelineHeader = rows.find((r) => r.startsWith('AT (UTC)'))!;
    const scheduledRow = rows.find((r) => r.includes('joint action #1 scheduled for'))!;
    expect(scheduledRow.indexOf('joint action #1')).toBe(timelineHeader.indexOf('WHAT'));
    expect(rows.some((r) => /^\S+Z +phase changed +mandate_matching → joint_action$/.test(r))).toBe(true);

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
    expect(state).toMatchObject({ operationId, phase: 'assessment', waitingFor: 'assessment decision', overdue: false, municipality: MUNICIPALITY });
    expect(state.nextDeadline?.what).toBe('assessment');
    expect(timeline.map((e) => e.text)).toContain('tip → assessment');

    const decided = await los('assess', operationId, 'dismiss', '--reason', 'Already handled by the Police.', '--json');
    expect(decided.code, decided.stderr).toBe(0);
    expect(JSON.parse(decided.stdout)).toMatchObject({ operationId, decision: { decision: 'dismiss', reason: 'Already handled by the Police.' }, state: { phase: 'dismissed' } });

    const list = await eventually(
      () => los('list', '--municipality', MUNICIPALITY, '--phase', 'dismissed', '--json'),
      (run) => run.stdout.includes(operationId),
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
    expect(JSON.parse(run.stdout)).toEqual({ error: { message: 'operation "los-nowhere-00000000000000000000" not found in namespace "default"', exitCode: 1 } });
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
    await until(operationId, (s) => s.waitingFor === 'schedule decision');
    // Länsstyrelsen declines in DEMO_BEHAVIOURS.
    const run = await los('schedule', operationId, '--at', inHours(48), '--place', 'Storgatan 12', '--lead', 'lansstyrelsen');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^error: schedule rejected: lead "lansstyrelsen" has not accepted a mandate \(participants: [a-z_, ]+\)$/);
    expect((await stateOf(operationId)).waitingFor).toBe('schedule decision');
    await engine.client.workflow.getHandle(operationId).terminate('test done');
  });

  it('says plainly when an operation ID is unknown', async () => {
    const run = await los('show', 'los-nowhere-00000000000000000000');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: operation "los-nowhere-00000000000000000000" not found in namespace "default"');
  });

  it('exits 2 within seconds when Temporal cannot be reached', async () => {
    const started = Date.now();
    const run = await los('show', 'los-vindeln-00000000000000000000', '--address', UNREACHABLE);
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
