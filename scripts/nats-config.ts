/**
 * `tsx scripts/nats-config.ts <out.conf>`: writes a complete nats-server config with one user per agency in
 * the mandate catalogue and one engine user, so each agency system can read and answer only as itself.
 * Passwords come from `--passwords <file.json>` or from LOS_NATS_ENGINE_PASSWORD and
 * LOS_NATS_PASSWORD_<AGENCY>; none is ever invented here.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadCatalogueFile } from '../coordinator/index.js';
import { DEFAULT_ENGINE_USER, loadNatsPasswords, natsAuthConfig, natsServerConfig } from '../workers/natsAuth.js';
import { PROJECT_ROOT } from './temporal-cli.js';

const program = new Command()
  .name('nats-config')
  .description('Write a nats-server config whose users enforce need to know between LOS agencies.')
  .argument('<out>', 'where to write the config file (mode 0600: it holds passwords)')
  .option('--catalogue <file>', 'mandate catalogue whose agencies get a user (default: the national catalogue)')
  .option('--passwords <file>', 'JSON file {"engine": "…", "agencies": {"<agency id>": "…"}} instead of the environment')
  .option('--listen <host:port>', 'address clients connect to', '127.0.0.1:4222')
  .option('--store-dir <dir>', 'JetStream store directory', join(PROJECT_ROOT, '.data', 'nats'))
  .option('--engine-user <name>', 'NATS user of the worker and the bridge (their NATS_USER)', DEFAULT_ENGINE_USER)
  .option('--auth-only', 'write only the authorization block, for `nats-server -js -sd <dir> -c <out>` as scripts/dev-stack.ts starts it')
  .action((out: string, options: { catalogue?: string; passwords?: string; listen: string; storeDir: string; engineUser: string; authOnly?: boolean }) => {
    const agencies = loadCatalogueFile(options.catalogue).agencies.map((a) => a.id);
    const passwords = loadNatsPasswords({ agencies, ...(options.passwords ? { file: options.passwords } : {}) });
    const auth = { agencies, engine: { user: options.engineUser, password: passwords.engine }, agencyPasswords: passwords.agencies };
    // nats-server refuses a store_dir given both in the file and as -sd, so the dev stack takes the block alone.
    const config = options.authOnly ? natsAuthConfig(auth) : natsServerConfig({ ...auth, listen: options.listen, storeDir: resolve(options.storeDir) });
    const path = resolve(out);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, config, { mode: 0o600 });
    // `mode` applies only when the file is created; an older, wider-open file must be narrowed too.
    chmodSync(path, 0o600);
    console.error(`nats-server config for the engine user "${options.engineUser}" and ${agencies.length} agencies written to ${path}`);
  });

try {
  program.parse();
} catch (err) {
  console.error(`nats-config failed: ${(err as Error).message}`);
  process.exit(1);
}
