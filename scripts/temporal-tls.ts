import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The certificates of the cluster's Temporal frontend, made once per data directory with the openssl command line:
 * a private CA (the file clients trust, LOS_TEMPORAL_TLS_CA_FILE) and the frontend's certificate for its loopback
 * address, signed by it. A deployment uses its own PKI instead; only the file names matter to the config.
 */
export interface TemporalCertificates {
  /** The CA's certificate: what clients trust. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The name in the frontend's certificate that clients check: `localhost` (TLS names no IP address), besides the address. */
  serverName: string;
}

function openssl(args: string[], what: string): void {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.error) throw new Error(`the openssl command line is needed to make ${what} and was not found: install OpenSSL (apt-get install openssl)`);
  if (run.status !== 0) throw new Error(`openssl could not make ${what}: ${(run.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}

/** The CA and the frontend's certificate in `dir`: kept from an earlier start, or made now (keys 0600). */
export function ensureTemporalCertificates(dir: string, address = '127.0.0.1'): TemporalCertificates {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { caKey: join(dir, 'ca.key'), caFile: join(dir, 'ca.pem'), keyFile: join(dir, 'frontend.key'), certFile: join(dir, 'frontend.pem') };
  const certificates = { caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile, serverName: 'localhost' };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return certificates;

  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ecKey, '-keyout', files.caKey, '-out', files.caFile, '-days', '825', '-subj', '/CN=LOS cluster CA'], 'the CA');
  const csr = join(dir, 'frontend.csr');
  openssl(['req', '-new', ...ecKey, '-keyout', files.keyFile, '-out', csr, '-subj', `/CN=${address}`], "the frontend's key");
  const san = /^[\d.]+$/.test(address) || address.includes(':') ? `IP:${address}` : `DNS:${address}`;
  const extensions = join(dir, 'frontend.ext');
  writeFileSync(extensions, `subjectAltName=${san},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\nbasicConstraints=CA:FALSE\n`);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', files.caFile, '-CAkey', files.caKey, '-CAcreateserial', '-out', files.certFile, '-days', '397', '-extfile', extensions],
    "the frontend's certificate",
  );
  for (const key of [files.caKey, files.keyFile]) chmodSync(key, 0o600);
  return certificates;
}
