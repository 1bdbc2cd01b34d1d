import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../../scripts/temporal-cli.js';

/**
 * A person's `npm run <script> -- <args>`, its output collected: the process they started is npm itself, and what
 * they signal is npm's pid, not the script's.
 */
export function npmRun(script: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn('npm', ['run', script, '--', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, exited, output: () => output };
}

/** Waits until the output holds `text`; false when the process ended first or the time ran out. */
export async function untilOutput(run: { child: ChildProcess; output(): string }, text: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes(text) && Date.now() < deadline && run.child.exitCode === null) await new Promise((r) => setTimeout(r, 250));
  return run.output().includes(text);
}

/** Every process below `pid` (children, their children, …), each with its command line, as `ps` sees them now. */
export function descendants(pid: number): { pid: number; args: string }[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  const rows = ps.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const found: { pid: number; args: string }[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop()!;
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push({ pid: row.pid, args: row.args });
      parents.push(row.pid);
    }
  }
  return found;
}

/** Those of the processes still running (a zombie has left /proc/<pid>/cmdline empty, and counts as gone). */
export function stillRunning(processes: { pid: number; args: string }[]): string[] {
  const running = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`).length > 0;
    } catch {
      return false;
    }
  };
  return processes.filter((p) => running(p.pid)).map((p) => `${p.pid} ${p.args}`);
}
