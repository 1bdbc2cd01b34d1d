import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { approveDevice } from './oidc.js';

/** `los` as a person runs it: the real launcher (coordinator/los.mjs) in a child process. */

const LOS = fileURLToPath(new URL('../coordinator/los.mjs', import.meta.url));

export interface LosRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One `los` command with this environment (LOS_TOKEN unset unless given); `onStderr` sees its stderr as it comes. */
export function runLos(env: NodeJS.ProcessEnv, args: string[], onStderr?: (text: string) => void): Promise<LosRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOS, ...args], { env: { ...process.env, LOS_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `los login` as `username`: the device flow, the URL it prints opened and approved over plain HTTP while it waits. */
export async function losLogin(env: NodeJS.ProcessEnv, username: string, password: string): Promise<LosRun> {
  let approval: Promise<unknown> | undefined;
  const login = await runLos(env, ['login'], (stderr) => {
    const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
    if (url && !approval) approval = approveDevice(url, username, password);
  });
  await approval;
  return login;
}
