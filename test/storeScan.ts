import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Scans a nats-server's files for values, as an attacker with the disk would: every file, read whole. */

/** Every file under a directory, read whole. */
export function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

/** Which of the needles (as text, raw bytes, base64 and base64url) any file under `dir` holds, with where. */
export function foundOnDisk(dir: string, needles: Record<string, string | Buffer>): string[] {
  const forms: [string, Buffer][] = [];
  for (const [label, needle] of Object.entries(needles)) {
    const raw = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
    forms.push(
      [label, raw],
      [`${label} (base64)`, Buffer.from(raw.toString('base64').replace(/=+$/, ''))],
      [`${label} (base64url)`, Buffer.from(raw.toString('base64url'))],
    );
  }
  const hits: string[] = [];
  for (const { path, bytes } of filesUnder(dir))
    for (const [label, form] of forms) if (bytes.includes(form)) hits.push(`${label} in ${path.slice(dir.length)}`);
  return hits;
}
