import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT, executable } from './temporal-cli.js';

/**
 * Finds nats-server, in this order: .tools/bin/nats-server, $NATS_SERVER, `nats-server` on PATH. A binary
 * older than MIN_NATS_SERVER is passed over (Debian's 2.9.10 is from 2022 and out of support); when none
 * fits, v2.15.2 is built from its Go module into .tools/bin, the way the Temporal CLI is.
 */
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
/** The newest nats-server the Go module proxy serves that builds with Go 1.26: `go install …/v2@v2.15.2`. */
export const NATS_SERVER_VERSION = 'v2.15.2';
/** Accounts with JetStream limits, `max_payload` per account and terminate-with-reason need at least this. */
export const MIN_NATS_SERVER: readonly [number, number] = [2, 11];

/** The version a nats-server binary reports, e.g. [2, 15, 2]; undefined when it cannot be run. */
export function natsServerVersion(path: string): [number, number, number] | undefined {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const match = /v(\d+)\.(\d+)\.(\d+)/.exec(run.stdout ?? '');
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function recentEnough(version: [number, number, number] | undefined): boolean {
  if (!version) return false;
  const [major, minor] = MIN_NATS_SERVER;
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

/** The first fitting nats-server, and what was passed over on the way (for the error message). */
export function findNatsServer(): { path?: string; passedOver: string[] } {
  const candidates = [
    join(TOOLS_BIN, 'nats-server'),
    process.env.NATS_SERVER,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => dir && join(dir, 'nats-server')),
  ];
  const passedOver: string[] = [];
  for (const candidate of candidates) {
    if (!candidate || !executable(candidate)) continue;
    const version = natsServerVersion(candidate);
    if (recentEnough(version)) return { path: candidate, passedOver };
    passedOver.push(`${candidate} (${version ? `v${version.join('.')}` : 'version unknown'})`);
  }
  return { passedOver };
}

export function ensureNatsServer(log: (line: string) => void = (line) => console.error(line)): string {
  const found = findNatsServer();
  if (found.path) return found.path;
  const minimum = `v${MIN_NATS_SERVER.join('.')}`;
  const tooOld = found.passedOver.length ? ` Passed over as older than ${minimum}: ${found.passedOver.join(', ')}.` : '';
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      `nats-server ≥ ${minimum} was not found (.tools/bin/nats-server, $NATS_SERVER, \`nats-server\` on PATH) and Go is not ` +
        `installed to build it.${tooOld} Install Go (https://go.dev/dl/) and run \`GOBIN=$PWD/.tools/bin go install ` +
        `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}\`, or set NATS_SERVER to a nats-server ≥ ${minimum}.`,
    );
  }
  mkdirSync(TOOLS_BIN, { recursive: true });
  log(`Building nats-server ${NATS_SERVER_VERSION} into .tools/bin with ${go.stdout.trim()} (a minute or two, once)…${tooOld}`);
  const build = spawnSync('go', ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
    env: { ...process.env, GOBIN: TOOLS_BIN },
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  const built = join(TOOLS_BIN, 'nats-server');
  if (build.status === 0 && executable(built)) return built;
  throw new Error(`Building nats-server ${NATS_SERVER_VERSION} failed: ${(build.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
}

let resolved: string | undefined;
/** ensureNatsServer, asked once per process. */
export function natsServerBinary(): string {
  resolved ??= ensureNatsServer();
  return resolved;
}
