import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A development CA and a server certificate it signed: what `nats-config dev-tls` and the cluster's set-up make. */
export interface DevTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes (once; kept afterwards) a CA and a certificate signed by it for `hosts` (names or IPv4 addresses), with the
 * openssl CLI. The certificate serves clients and, between the nodes of a cluster, authenticates each route to the
 * other (so it is good for both server and client authentication). Not for production, where the organisation's
 * own CA signs.
 */
export function makeDevTls(dir: string, hosts: readonly string[]): DevTls & { made: boolean } {
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') };
  if (existsSync(files.certFile)) return { ...files, made: false };
  if (hosts.length === 0) throw new Error('a development certificate needs at least one host name or address');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (run.error) throw new Error(`openssl is needed for development TLS and was not found: ${run.error.message}`);
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr.trim()}`);
  };
  const names = hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '825', '-subj', '/CN=LOS development CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${hosts[0]}`, '-keyout', 'server-key.pem', '-out', 'server.csr');
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${names}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-days',
    '825',
    '-extfile',
    'server.ext',
    '-out',
    'server.pem',
  );
  for (const key of ['ca-key.pem', 'server-key.pem']) chmodSync(join(dir, key), 0o600);
  return { ...files, made: true };
}
