import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Payload } from '@temporalio/common';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_BEHAVIOURS } from '../agencies/index.js';
import { runCli } from '../coordinator/cli.js';
import { credentialsPath, type TokenSet } from '../coordinator/credentials.js';
import { OPERATOR_VIEWS, type OperationState, type TimelineEntry, type TipInput } from '../domain/index.js';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { stateQuery } from '../workflows/definitions.js';
import { LosPayloadCodec, generateMasterKey, readMasterKeyring, type MasterKeyring } from '../vault/index.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { approveDevice, clientCredentialsToken, discoverIssuer } from './oidc.js';

/**
 * `los` against the real API, the real identity provider and the real engine behind them. People sign in as
 * `los login` has them do: the device flow, approved over plain HTTP as a person would in a browser (test/oidc.ts).
 * Most runs call `runCli` in this process, with the environment and output streams a child process would have;
 * the runs marked `losProcess` go through the real launcher (coordinator/los.mjs) in a child process.
 */
const LOS = fileURLToPath(new URL('../coordinator/los.mjs', import.meta.url));
/** The demo realm's password for every person (idp/realm.yaml). */
const PASSWORD = DEMO_PASSWORD;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let engine: TestEngine;
let idp: IdentityProvider;
let apiUrl: string;
let audience: string;
let scratch: string;
/** The engine's master key until the rotation test gives it a new one. */
const FIRST_MASTER_KEY = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });
/** A port nothing listens on: the API unreachable. */
let closedApi: string;

/** A shell of its own: its own config directory (so its own sign-in), and the API. */
const shell = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  XDG_CONFIG_HOME: mkdtempSync(join(scratch, 'home-')),
  LOS_API_URL: apiUrl,
  LOS_TOKEN: undefined,
  ...env,
});

/** One `los` command line in this process: its environment set and its stdout and stderr captured for the run. */
async function los(env: NodeJS.ProcessEnv, args: string[], onStderr?: (text: string) => void): Promise<Run> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: NodeJS.ProcessEnv) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  let stdout = '';
  let stderr = '';
  const [writeOut, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    onStderr?.(stderr);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCli([process.execPath, LOS, ...args]);
    return { code, stdout, stderr };
  } finally {
    [process.stdout.write, process.stderr.write] = [writeOut, writeErr];
    apply(saved);
  }
}

/** `los` as a person runs it: the real launcher in a child process. */
function losProcess(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const merged = { ...process.env, ...env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete merged[key];
    const child = spawn(process.execPath, [LOS, ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `los login` as `username`: the URL it prints is opened and approved over plain HTTP while it waits. */
async function login(username: string, env: NodeJS.ProcessEnv = shell()): Promise<{ env: NodeJS.ProcessEnv; run: Run }> {
  let approval: Promise<unknown> | undefined;
  const run = await los(env, ['login'], (stderr) => {
    const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
    if (url && !approval) approval = approveDevice(url, username, PASSWORD);
  });
  await approval;
  return { env, run };
}

const credentialsOf = (env: NodeJS.ProcessEnv): { apis: Record<string, TokenSet> } =>
  JSON.parse(readFileSync(credentialsPath(env), 'utf8')) as { apis: Record<string, TokenSet> };

let tipFiles = 0;
function tipFile(tip: TipInput): string {
  tipFiles += 1;
  const path = join(scratch, `tip-${tipFiles}.json`);
  writeFileSync(path, JSON.stringify(tip, null, 2));
  return path;
}

const json = <T>(run: Run): T => JSON.parse(run.stdout) as T;
const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
const stateOf = (operationId: string) => engine.client.workflow.getHandle(operationId).query(stateQuery);
const until = (operationId: string, test: (s: OperationState) => boolean) => eventually(() => stateOf(operationId), test, 30_000);

/**
 * Signed in once per person for the file: anna coordinates in Umeå, bertil in Malmö; erik operates; david audits;
 * cecilia is the steering group; frida administers the key store.
 */
let anna: NodeJS.ProcessEnv;
let bertil: NodeJS.ProcessEnv;
let erik: NodeJS.ProcessEnv;
let david: NodeJS.ProcessEnv;
let cecilia: NodeJS.ProcessEnv;
let frida: NodeJS.ProcessEnv;

beforeAll(async () => {
  scratch = mkdtempSync(join(inject('scratchDir'), 'cli-'));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  audience = `${apiUrl}/v1`;
  closedApi = `http://127.0.0.1:${await freePort()}`;
  idp = await startIdentityProvider({ scratchDir: join(scratch, 'idp'), audience, apiUrls: [apiUrl] });
  // The engine with its API, as `npm run api` runs it, on this file's task queue.
  engine = await startTestEngine('cli', { api: { port, issuer: idp.issuer, clientSecret: 'demo-secret-los-api' }, keyring: FIRST_MASTER_KEY });
  await engine.startAgencies(DEMO_BEHAVIOURS);
  // One after the other: each run takes this process's stdout and environment for its duration.
  anna = (await login('anna')).env;
  bertil = (await login('bertil')).env;
  erik = (await login('erik')).env;
  david = (await login('david')).env;
  cecilia = (await login('cecilia')).env;
  frida = (await login('frida')).env;
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await idp?.stop();
});

describe('los login', () => {
  it('signs in with the device flow, printing the URL and the code, and keeps the tokens readable by the owner only', async () => {
    const { env, run } = await login('anna');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^To sign in, open ${idp.issuer}/\\S+ and enter the code [A-Z0-9-]+$`, 'm'));
    expect(run.stdout).toBe(`signed in as Anna Lindqvist to ${apiUrl}; the sign-in is kept in ${credentialsPath(env)}\n`);
    expect(statSync(credentialsPath(env)).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(credentialsPath(env))).mode & 0o777).toBe(0o700);
    const tokens = credentialsOf(env).apis[apiUrl]!;
    expect(tokens).toMatchObject({ issuer: idp.issuer, clientId: 'los-cli', audience, name: 'Anna Lindqvist', refreshToken: expect.any(String) });
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 60_000);
  });

  it('renews an access token with under a minute left with the refresh token, which rotates', async () => {
    const { env } = await login('anna');
    const before = credentialsOf(env).apis[apiUrl]!;
    writeFileSync(credentialsPath(env), JSON.stringify({ apis: { [apiUrl]: { ...before, expiresAt: Date.now() + 30_000 } } }), { mode: 0o600 });
    const run = await los(env, ['list', '--json']);
    expect(run.code, run.stdout).toBe(0);
    const after = credentialsOf(env).apis[apiUrl]!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    expect(statSync(credentialsPath(env)).mode & 0o777).toBe(0o600);
  });

  it('signs out, revoking the refresh token at the provider, after which los says to sign in', async () => {
    const { env } = await login('anna');
    const { refreshToken } = credentialsOf(env).apis[apiUrl]!;
    const out = await los(env, ['logout']);
    expect(out).toEqual({ code: 0, stdout: `signed out of ${apiUrl} (Anna Lindqvist)\n`, stderr: '' });
    const config = await discoverIssuer(idp.issuer, 'los-cli');
    await expect(oidc.refreshTokenGrant(config, refreshToken!, { resource: audience })).rejects.toMatchObject({ error: 'invalid_grant' });
    const after = await los(env, ['list']);
    expect(after).toEqual({ code: 1, stdout: '', stderr: 'error: not signed in: run `los login`\n' });
  });
});

describe('los, from tip to a scheduled joint action, through the API', () => {
  it('registers a tip once, takes the decisions, shows it as each role may and lists it', { timeout: 120_000 }, async () => {
    const file = tipFile(sampleTip());
    const first = await losProcess(anna, 'tip', 'register', file, '--retention', '30 days');
    expect(first.code, first.stderr).toBe(0);
    const operationId = /started operation (los-umea-[0-9a-f]{20})/.exec(first.stdout)?.[1];
    expect(operationId, first.stdout).toBeDefined();
    // The retention went with the tip: the workflow's start input carries it.
    const started = (await engine.client.workflow.getHandle(operationId!).fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const [input] = await new LosPayloadCodec(engine.keys).decode(started.input!.payloads! as Payload[]);
    expect((JSON.parse(Buffer.from(input!.data!).toString('utf8')) as { config: { retention: string } }).config.retention).toBe('30 days');

    const again = await los(anna, ['tip', 'register', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`tip already registered: operation ${operationId} exists; nothing started`);

    await until(operationId!, (s) => s.phase === 'assessment');
    // Another municipality's coordinator is refused, saying why; the operation is unchanged.
    const elsewhere = await los(bertil, ['assess', operationId!, 'proceed']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^error: refused: coordinators of Malmö may not /);
    expect((await stateOf(operationId!)).phase).toBe('assessment');

    const assessed = await los(anna, ['assess', operationId!, 'proceed']);
    expect(assessed.code, assessed.stderr).toBe(0);
    expect(assessed.stdout).toMatch(new RegExp(`^assessment recorded: ${operationId} is in phase (assessment|mandate_matching), waiting for `));

    await until(operationId!, (s) => s.stage === 'schedule_decision');
    // The workflow's validator has the last word, and its message comes through: Länsstyrelsen declined (DEMO_BEHAVIOURS).
    const refused = await los(anna, ['schedule', operationId!, '--at', inHours(48), '--place', 'Storgatan 12', '--lead', 'lansstyrelsen']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: schedule rejected: lead "lansstyrelsen" has not accepted a mandate/);
    const scheduled = await los(anna, ['schedule', operationId!, '--at', inHours(48), '--place', 'Storgatan 12, Umeå', '--lead', 'polisen']);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    expect(scheduled.stdout).toMatch(new RegExp(`^joint action scheduled: ${operationId} is in phase joint_action, waiting for `));

    // The coordinator of the municipality reads every field; an operator reads the record with personal fields sealed.
    const shown = await los(anna, ['show', operationId!]);
    // Every time a person reads is Stockholm time with its zone, the timeline's text included.
    expect(shown.stdout).toMatch(/joint action #1 scheduled for \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T, led by polisen/);
    expect(shown.stdout).not.toMatch(/\d\d:\d\d:\d\d\.\d{3}Z/);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^Phase +joint_action$/m);
    expect(shown.stdout.split('\n').find((r) => r.startsWith('polisen '))).toContain('LOS-samordnare');
    // The API names the signed-in person as the author of what they registered and decided.
    expect(shown.stdout).toMatch(/ decision +Anna Lindqvist \(coordinator\) +assessment: proceed/);
    // The business, for the coordinator of its municipality; a protected source is said to be one, never its reference.
    expect(shown.stdout).toMatch(/^Business +Restaurang Norrsken AB, org\. no\. 5567037485$/m);
    expect(shown.stdout).toMatch(/^Address +Storgatan 12, 903 26 Umeå$/m);
    expect(shown.stdout).toMatch(/^Description +Serves alcohol after licence hours/m);
    expect(shown.stdout).toMatch(/^Source +public, protected$/m);
    expect(shown.stdout).not.toContain('SECRET-SOURCE-REF');
    const sealed = await los(erik, ['show', operationId!]);
    expect(sealed.code, sealed.stderr).toBe(0);
    expect(sealed.stdout).toMatch(/^Phase +joint_action$/m);
    expect(sealed.stdout.split('\n').find((r) => r.startsWith('polisen '))).toContain('(sealed)');
    expect(sealed.stdout).not.toContain('LOS-samordnare');
    // Neither an operator nor the steering group sees the business; Malmö's coordinator sees nothing.
    const steering = await los(cecilia, ['show', operationId!]);
    expect(steering.code, steering.stderr).toBe(0);
    for (const run of [sealed, steering]) {
      expect(run.stdout).not.toMatch(/^(Business|Address|Description) /m);
      for (const secret of ['Norrsken', 'Storgatan 12, 903', '5567037485', 'licence hours']) expect(run.stdout).not.toContain(secret);
    }
    const malmo = await los(bertil, ['show', operationId!]);
    expect(malmo.code).toBe(1);
    expect(malmo.stdout).toBe('');
    expect(malmo.stderr).toMatch(/^error: refused: coordinators of Malmö may not /);
    // Both reads are on the access log, which the auditor reads and a coordinator may not.
    const audit = await los(david, ['audit', operationId!]);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/allowed +show +0b6f3c2e-5d1a-4a8e-9f27-1c4d8e6a2b01 \(coordinator\)/);
    expect((await los(anna, ['audit', operationId!])).code).toBe(1);

    const list = await eventually(
      () => los(anna, ['list', '--phase', 'joint_action', '--agency', 'polisen']),
      (run) => run.stdout.includes(operationId!),
    );
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^Query: .*LosPhase = 'joint_action'.*LosAgencies = 'polisen'/);
    expect(list.stdout).toMatch(new RegExp(`^${operationId} +running +joint_action +no `, 'm'));

    const cancelled = await los(anna, ['cancel', operationId!, '--reason', 'The owner closed the business.']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    await engine.client.workflow.getHandle(operationId!).result();
    const afterwards = await los(anna, ['schedule', operationId!, '--at', inHours(48), '--place', 'Storgatan 12', '--lead', 'polisen']);
    expect(afterwards.code).toBe(1);
    expect(afterwards.stderr).toContain(operationId);
    expect((await stateOf(operationId!)).phase).toBe('cancelled');
  });
});

describe('los --json through the API', () => {
  it('prints one JSON document with the registration, the receipt, the state and timeline, and the list with its query', { timeout: 90_000 }, async () => {
    const registration = await los(anna, ['tip', 'register', tipFile(sampleTip()), '--assessment-deadline', '3 days', '--json']);
    expect(registration.code, registration.stderr).toBe(0);
    const { operationId, outcome, started } = json<{ operationId: string; outcome: string; started: boolean }>(registration);
    expect({ outcome, started }).toEqual({ outcome: 'started', started: true });
    const state = await until(operationId, (s) => s.phase === 'assessment');
    // The deadline option reached the operation.
    expect(Date.parse(state.nextDeadline!.dueAt) - Date.now()).toBeGreaterThan(3 * 86_400_000 - 120_000);

    const shown = await los(anna, ['show', operationId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const view = json<{ state: OperationState; timeline: TimelineEntry[]; tip: unknown }>(shown);
    expect(view.state).toMatchObject({ operationId, phase: 'assessment', overdue: false, municipality: 'Umeå' });
    expect(view.tip).toMatchObject({ entity: { name: 'Restaurang Norrsken AB', orgNumber: '5567037485' }, source: { kind: 'public', protected: true } });
    expect(json<{ tip?: unknown }>(await los(cecilia, ['show', operationId, '--json']))).not.toHaveProperty('tip');
    expect(view.timeline.map((e) => e.text)).toContain('tip → assessment');

    const decided = await los(anna, ['assess', operationId, 'dismiss', '--reason', 'Already handled by the Police.', '--json']);
    expect(decided.code, decided.stderr).toBe(0);
    expect(json(decided)).toMatchObject({
      operationId,
      decision: { decision: 'dismiss', reason: 'Already handled by the Police.' },
      receipt: { phase: expect.stringMatching(/^(assessment|dismissed)$/) },
    });

    const overdue = await los(anna, ['list', '--overdue', '--json']);
    expect(overdue.code, overdue.stderr).toBe(0);
    expect(json<{ query: string }>(overdue).query).toContain(OPERATOR_VIEWS.overdue.query);
  });

  it('reports a failure as a JSON document too: an unknown operation', async () => {
    const run = await los(anna, ['show', 'los-nowhere-00000000000000000000', '--json']);
    expect(run.code).toBe(1);
    expect(json<{ error: { message: string; exitCode: number } }>(run).error).toEqual({
      message: expect.stringContaining('los-nowhere-00000000000000000000'),
      exitCode: 1,
    });
  });
});

describe('los refuses, and says why, with the exit code', () => {
  it('refuses bad input with exit 1 naming the field, before any request', async () => {
    const tip = sampleTip();
    const run = await los({ ...anna, LOS_API_URL: closedApi }, ['tip', 'register', tipFile({ ...tip, entity: { ...tip.entity, orgNumber: '5566778890' } })]);
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: tip rejected: entity.orgNumber "5566778890": Luhn check digit should be 9\n' });
  });

  it('exits 2 within seconds when the API cannot be reached', async () => {
    const started = Date.now();
    const run = await losProcess(shell({ LOS_API_URL: closedApi, LOS_TOKEN: 'a-machine-token' }), 'show', 'los-umea-00000000000000000000');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: cannot reach the LOS API at ${closedApi}: ECONNREFUSED\n`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits 1 saying to run `los login` when nobody is signed in, or the token is not the provider’s', async () => {
    const nobody = await los(shell(), ['show', 'los-umea-00000000000000000000']);
    expect(nobody).toEqual({ code: 1, stdout: '', stderr: 'error: not signed in: run `los login`\n' });
    const forged = await los(shell({ LOS_TOKEN: 'not-a-jwt' }), ['list', '--json']);
    expect(forged.code).toBe(1);
    expect(json<{ error: { message: string } }>(forged).error.message).toMatch(/^not signed in: run `los login` \(/);
  });

  it('takes a machine’s bearer token in LOS_TOKEN instead of a sign-in', async () => {
    const { access_token } = await clientCredentialsToken(idp.issuer, 'los-case-system', 'demo-secret-los-case-system', audience);
    const run = await los(shell({ LOS_TOKEN: access_token }), ['list', '--json']);
    expect(run.code, run.stdout).toBe(0);
    expect(json<{ query: string }>(run).query).toContain("LosMunicipality = 'Umeå'");
    const administrator = await los(erik, ['keys', 'rotate']);
    expect(administrator.code).toBe(1);
    expect(administrator.stderr).toMatch(/^error: refused: /);
  });
});

describe('los keys rotate', () => {
  it('re-wraps every data key with the new master key as the administrator; the old key retired, the coordinator still reads the business', async () => {
    const registered = await los(anna, ['tip', 'register', tipFile(sampleTip()), '--json']);
    expect(registered.code, registered.stderr).toBe(0);
    const { operationId } = json<{ operationId: string }>(registered);
    const before = await engine.keys.masterKeysInUse();
    expect(Object.keys(before)).toEqual([FIRST_MASTER_KEY[0].id]);

    // The engine is given a new master key, first, with the old one after it (as LOS_MASTER_KEY="new,old" does).
    const second = readMasterKeyring({ LOS_MASTER_KEY: `${generateMasterKey()},${FIRST_MASTER_KEY[0].key.toString('base64')}` });
    engine.keys.useKeyring(second);
    const rotated = await los(frida, ['keys', 'rotate', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const rotation = json<{ rewrapped: number; entries: number; currentMasterKeyId: string; inUse: Record<string, number> }>(rotated);
    expect(rotation).toEqual({
      rewrapped: before[FIRST_MASTER_KEY[0].id],
      entries: expect.any(Number),
      currentMasterKeyId: second[0].id,
      inUse: { [second[0].id]: rotation.entries },
    });
    expect(rotation.entries).toBeGreaterThanOrEqual(rotation.rewrapped);
    // Again, in words: nothing left to re-wrap.
    const again = await los(frida, ['keys', 'rotate']);
    expect(again).toEqual({
      code: 0,
      stdout: `re-wrapped 0 of ${rotation.entries} keys with master key ${second[0].id}; master keys in use: ${second[0].id} (${rotation.entries})\n`,
      stderr: '',
    });

    // The old master key retired: the operation's data key opens with the new one alone.
    engine.keys.useKeyring([second[0]] as MasterKeyring);
    const shown = await los(anna, ['show', operationId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(json<{ tip: { entity: { name: string } } }>(shown).tip.entity.name).toBe('Restaurang Norrsken AB');
  });
});
