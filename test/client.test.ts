import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  InvalidInputError,
  LosClient,
  NotAllowedNowError,
  NotFoundError,
  NotSignedInError,
  UnreachableError,
  parseInput,
  problemError,
  type Problem,
} from '../coordinator/client.js';
import { classify } from '../coordinator/cli/failures.js';
import { runCli } from '../coordinator/cli.js';
import { bearerToken, credentialsPath, readTokenSet, removeTokenSet, saveTokenSet, type TokenSet } from '../coordinator/credentials.js';
import { Tip } from '../domain/index.js';
import { sampleTip } from './engine.js';

/**
 * What `los` and its typed client do without a server: the credentials file, problem details turned into typed
 * errors and exit codes, and every input refused (naming the field) before a request is made. An API on a closed
 * port refuses every connection, so nothing here reaches a server by mistake. test/cli.test.ts runs them against the
 * real API and identity provider.
 */

/** A port nothing listens on (fetch refuses port 1 outright, as a "bad port"). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const NOWHERE = `http://127.0.0.1:${await closedPort()}`;
const scratch = () => mkdtempSync(join(tmpdir(), 'los-client-'));
const mode = (path: string) => statSync(path).mode & 0o777;

const tokens = (overrides: Partial<TokenSet> = {}): TokenSet => ({
  issuer: `${NOWHERE}/idp`,
  clientId: 'los-cli',
  audience: 'http://127.0.0.1:4300/v1',
  accessToken: 'access-1',
  expiresAt: Date.now() + 600_000,
  refreshToken: 'refresh-1',
  name: 'Anna Andersson',
  ...overrides,
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One `los` command line in this process, with this environment and its output captured. */
async function los(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  let stdout = '';
  let stderr = '';
  const [writeOut, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    return { code: await runCli([process.execPath, 'los', ...args]), stdout, stderr };
  } finally {
    [process.stdout.write, process.stderr.write] = [writeOut, writeErr];
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** A shell with nobody signed in and an API that refuses every connection. */
const signedOut = (): NodeJS.ProcessEnv => ({ XDG_CONFIG_HOME: scratch(), LOS_TOKEN: undefined, LOS_API_URL: NOWHERE });

function tipFile(tip: unknown): string {
  const path = join(scratch(), 'tip.json');
  writeFileSync(path, JSON.stringify(tip));
  return path;
}

describe('the credentials file', () => {
  it('lies under $XDG_CONFIG_HOME/los, or ~/.config/los without it', () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/srv/conf' })).toBe('/srv/conf/los/credentials.json');
    expect(credentialsPath({ HOME: process.env.HOME })).toMatch(/\/\.config\/los\/credentials\.json$/);
    // A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
    expect(credentialsPath({ XDG_CONFIG_HOME: 'conf' })).toMatch(/\/\.config\/los\/credentials\.json$/);
  });

  it('is written readable by its owner only, in a directory only its owner can enter, even one that existed', async () => {
    const home = scratch();
    mkdirSync(join(home, 'los'), { mode: 0o755 });
    const path = credentialsPath({ XDG_CONFIG_HOME: home });
    await saveTokenSet(path, 'http://127.0.0.1:4300/', tokens());
    expect(mode(path)).toBe(0o600);
    expect(mode(join(home, 'los'))).toBe(0o700);
  });

  it('keeps one token set per API, and drops the file with the last one', async () => {
    const path = credentialsPath({ XDG_CONFIG_HOME: scratch() });
    await saveTokenSet(path, 'http://127.0.0.1:4300/', tokens());
    await saveTokenSet(path, 'https://los.example.se', tokens({ accessToken: 'other' }));
    expect((await readTokenSet(path, 'http://127.0.0.1:4300'))?.accessToken).toBe('access-1');
    expect((await readTokenSet(path, 'https://los.example.se/'))?.accessToken).toBe('other');
    expect((await removeTokenSet(path, 'http://127.0.0.1:4300'))?.name).toBe('Anna Andersson');
    expect(await readTokenSet(path, 'http://127.0.0.1:4300')).toBeUndefined();
    expect(mode(path)).toBe(0o600);
    await removeTokenSet(path, 'https://los.example.se');
    expect(() => statSync(path)).toThrow(/ENOENT/);
  });
});

describe('the bearer token', () => {
  it('is LOS_TOKEN when given, without reading the file', async () => {
    const credentialsFile = credentialsPath({ XDG_CONFIG_HOME: scratch() });
    expect(await bearerToken({ apiUrl: NOWHERE, credentialsFile, token: 'machine-token' })).toBe('machine-token');
  });

  it('is the stored access token while it has a minute or more left', async () => {
    const credentialsFile = credentialsPath({ XDG_CONFIG_HOME: scratch() });
    await saveTokenSet(credentialsFile, NOWHERE, tokens({ expiresAt: 1_000_000 + 61_000 }));
    expect(await bearerToken({ apiUrl: NOWHERE, credentialsFile, now: () => 1_000_000 })).toBe('access-1');
  });

  it('says to run `los login` when nobody is signed in to this API, or the sign-in expired with nothing to renew it', async () => {
    const credentialsFile = credentialsPath({ XDG_CONFIG_HOME: scratch() });
    await expect(bearerToken({ apiUrl: NOWHERE, credentialsFile })).rejects.toThrow(new NotSignedInError('not signed in: run `los login`'));
    await saveTokenSet(credentialsFile, NOWHERE, { ...tokens({ expiresAt: 1_000_000 + 30_000 }), refreshToken: undefined } as TokenSet);
    await expect(bearerToken({ apiUrl: NOWHERE, credentialsFile, now: () => 1_000_000 })).rejects.toThrow(
      new NotSignedInError('not signed in: run `los login` (the sign-in has expired)'),
    );
  });

  it('is renewed with the refresh token when under a minute is left, and says so when the provider cannot be reached', async () => {
    const credentialsFile = credentialsPath({ XDG_CONFIG_HOME: scratch() });
    await saveTokenSet(credentialsFile, NOWHERE, tokens({ expiresAt: 1_000_000 + 59_000 }));
    const renewal = bearerToken({ apiUrl: NOWHERE, credentialsFile, now: () => 1_000_000 });
    await expect(renewal).rejects.toBeInstanceOf(UnreachableError);
    await expect(renewal).rejects.toThrow(`cannot reach the identity provider at ${NOWHERE}/idp: ECONNREFUSED`);
    // Nothing lost: the stored set stays for the next try.
    expect((await readTokenSet(credentialsFile, NOWHERE))?.refreshToken).toBe('refresh-1');
  });
});

describe('problem details', () => {
  const problem = (status: number, detail: string, errors?: Problem['errors']): Problem => ({
    type: `urn:los:problem:x`,
    title: 'x',
    status,
    detail,
    instance: '/v1/operations',
    ...(errors ? { errors } : {}),
  });

  it('become typed errors with the API’s detail, and the fields it names', () => {
    const invalid = problemError(
      problem(400, 'tip rejected: entity.orgNumber "5566778890": Luhn check digit should be 9', [
        { field: 'entity.orgNumber', message: 'Luhn check digit should be 9' },
      ]),
    );
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect(invalid.message).toBe('tip rejected: entity.orgNumber "5566778890": Luhn check digit should be 9');
    expect(invalid.fields).toEqual(['entity.orgNumber']);
    expect(problemError(problem(413, 'body over 64 KiB'))).toBeInstanceOf(InvalidInputError);
    expect(problemError(problem(404, 'no operation "los-x"'))).toBeInstanceOf(NotFoundError);
    expect(problemError(problem(409, 'schedule rejected: the operation is in phase assessment'))).toBeInstanceOf(NotAllowedNowError);
    expect(problemError(problem(503, 'Temporal unreachable'))).toBeInstanceOf(UnreachableError);
    expect(problemError(problem(504, 'no worker answered'))).toBeInstanceOf(UnreachableError);
  });

  it('say "not signed in: run `los login`" for a 401 and name why for a 403, with exit code 1', () => {
    const unauthenticated = problemError(problem(401, 'the token has expired'));
    expect(unauthenticated).toBeInstanceOf(NotSignedInError);
    expect(classify(unauthenticated)).toEqual({ message: 'not signed in: run `los login` (the token has expired)', exitCode: 1 });
    const forbidden = problemError(problem(403, 'coordinators of Malmö may not decide for operations in Umeå'));
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect(classify(forbidden)).toEqual({ message: 'refused: coordinators of Malmö may not decide for operations in Umeå', exitCode: 1 });
  });

  it('exit 2 when the engine is unreachable or the API fails on its side, 1 when the request was refused', () => {
    expect(classify(problemError(problem(503, 'x'))).exitCode).toBe(2);
    expect(classify(problemError(problem(500, 'x'))).exitCode).toBe(2);
    expect(classify(problemError(problem(404, 'x'))).exitCode).toBe(1);
    expect(classify(problemError(problem(400, 'x', [{ field: 'reason', message: 'too short' }])))).toEqual({ message: 'x', exitCode: 1, fields: ['reason'] });
  });
});

describe('inputs are refused before any request', () => {
  it('names every field the schema refuses', () => {
    const tip = sampleTip();
    const bad = { ...tip, urgency: 'soon', entity: { ...tip.entity, orgNumber: '5566778890' } };
    const error = (() => {
      try {
        parseInput(Tip, bad, 'tip');
      } catch (err) {
        return err as InvalidInputError;
      }
      throw new Error('accepted');
    })();
    expect(error.fields.sort()).toEqual(['entity.orgNumber', 'urgency']);
    expect(error.message).toMatch(/^tip rejected: .*entity\.orgNumber "5566778890": Luhn check digit should be 9/);
  });

  it('the typed client refuses a bad decision without asking for a token or the API', async () => {
    let asked = false;
    const client = new LosClient({
      apiUrl: NOWHERE,
      token: async () => {
        asked = true;
        return 't';
      },
    });
    await expect(client.decide('los-x', 'assessment', { decision: 'dismiss', reason: 'no' })).rejects.toThrow(
      new InvalidInputError('assessment rejected: reason "no": must give a reason of at least 3 characters'),
    );
    expect(asked).toBe(false);
  });

  it('los exits 1 naming the field, and prints nothing on stdout', async () => {
    const tip = sampleTip();
    const run = await los(signedOut(), 'tip', 'register', tipFile({ ...tip, entity: { ...tip.entity, orgNumber: '5566778890' } }));
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: tip rejected: entity.orgNumber "5566778890": Luhn check digit should be 9\n' });
    const decision = await los(signedOut(), 'assess', 'los-vindeln-00000000000000000000', 'dismiss', '--reason', 'no', '--json');
    expect(decision.code).toBe(1);
    expect(JSON.parse(decision.stdout)).toEqual({
      error: { message: 'assessment rejected: reason "no": must give a reason of at least 3 characters', exitCode: 1, fields: ['reason'] },
    });
  });

  it('los tip register takes the retention, checked as a duration before any request', async () => {
    const run = await los(signedOut(), 'tip', 'register', tipFile(sampleTip()), '--retention', 'forever', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error.message).toMatch(/^tip register rejected: --retention "forever": /);
  });

  it('los refuses the Temporal and NATS flags it no longer has', async () => {
    const run = await los(signedOut(), 'show', 'los-x', '--address', '127.0.0.1:7233', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ error: { message: "unknown option '--address'", exitCode: 1 } });
  });
});

describe('los without a sign-in or an API', () => {
  it('exits 1 saying to run `los login` when nobody is signed in, before any request', async () => {
    const run = await los(signedOut(), 'show', 'los-vindeln-00000000000000000000');
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: not signed in: run `los login`\n' });
  });

  it('exits 2 within seconds when the API cannot be reached, with a machine token or a sign-in', async () => {
    const started = Date.now();
    const withToken = await los({ ...signedOut(), LOS_TOKEN: 'machine-token' }, 'show', 'los-vindeln-00000000000000000000', '--json');
    expect(withToken.code).toBe(2);
    expect(JSON.parse(withToken.stdout)).toEqual({ error: { message: `cannot reach the LOS API at ${NOWHERE}: ECONNREFUSED`, exitCode: 2 } });
    const env = signedOut();
    await saveTokenSet(credentialsPath(env), NOWHERE, tokens());
    const signedIn = await los(env, 'list');
    expect(signedIn.code).toBe(2);
    expect(signedIn.stderr).toBe(`error: cannot reach the LOS API at ${NOWHERE}: ECONNREFUSED\n`);
    const login = await los(signedOut(), 'login');
    expect(login.code).toBe(2);
    expect(login.stderr).toBe(`error: cannot reach the LOS API at ${NOWHERE}: ECONNREFUSED\n`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('exits 2 at once, naming the setting, when the API URL is no http(s) URL: a setup error, nothing sent', async () => {
    for (const apiUrl of ['foo', 'ftp://127.0.0.1:4300']) {
      for (const args of [
        ['list', '--json'],
        ['login', '--json'],
      ]) {
        const run = await los({ ...signedOut(), LOS_TOKEN: 'machine-token', LOS_API_URL: apiUrl }, ...args);
        expect(run.code, `${apiUrl} ${args[0]}`).toBe(2);
        expect(JSON.parse(run.stdout).error.message).toMatch(
          new RegExp(`^LOS_API_URL \\(or --api-url\\) "${apiUrl.replace(/[/.]/g, '\\$&')}" is not an? (URL|http\\(s\\) URL)`),
        );
      }
    }
  });

  it('signs out of an API it was signed in to, and says so when it was not', async () => {
    const env = signedOut();
    await saveTokenSet(credentialsPath(env), NOWHERE, { ...tokens(), refreshToken: undefined } as TokenSet);
    const out = await los(env, 'logout');
    expect(out).toEqual({ code: 0, stdout: `signed out of ${NOWHERE} (Anna Andersson)\n`, stderr: '' });
    expect(await readTokenSet(credentialsPath(env), NOWHERE)).toBeUndefined();
    const again = await los(env, 'logout', '--json');
    expect(JSON.parse(again.stdout)).toEqual({ apiUrl: NOWHERE, signedOut: false });
  });
});
