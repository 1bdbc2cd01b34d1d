import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Finds the Temporal CLI (which contains the dev server), in this order: $TEMPORAL_CLI, `temporal` on PATH,
 * .tools/bin/temporal. If none is there it builds one with Go: the SDK's own download needs the internet.
 */
export const PROJECT_ROOT = resolve(new URL('..', import.meta.url).pathname);
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
// v1.5.1 is the newest tag whose go.mod has no `replace` directive, so `go install` can build it.
const CLI_VERSIONS = ['v1.5.1', 'v1.4.1'];

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`TEMPORAL_CLI is set to "${fromEnv}", which is not an executable file`);
    return fromEnv;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  const local = join(TOOLS_BIN, 'temporal');
  return executable(local) ? local : undefined;
}

export function ensureTemporalCli(log: (line: string) => void = (line) => console.error(line)): string {
  const found = findTemporalCli();
  if (found) return found;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      'The Temporal CLI was not found ($TEMPORAL_CLI, `temporal` on PATH, .tools/bin/temporal) and Go is not ' +
        'installed to build it. Install Go ≥ 1.25 (https://go.dev/dl/) or the Temporal CLI ' +
        '(https://docs.temporal.io/cli#install), or set TEMPORAL_CLI to its path.',
    );
  }
  mkdirSync(TOOLS_BIN, { recursive: true });
  const failures: string[] = [];
  for (const version of CLI_VERSIONS) {
    log(`Building the Temporal CLI ${version} into .tools/bin with ${go.stdout.trim()} (a few minutes, once)…`);
    const build = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
      env: { ...process.env, GOBIN: TOOLS_BIN },
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    });
    if (build.status === 0 && executable(join(TOOLS_BIN, 'temporal'))) return join(TOOLS_BIN, 'temporal');
    failures.push(`${version}: ${(build.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
  }
  throw new Error(`Building the Temporal CLI failed:\n${failures.join('\n')}`);
}
