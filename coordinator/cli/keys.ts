import type { Command } from 'commander';
import { command, type CommonOptions, type Perform } from './command.js';
import { withVault } from './servers.js';

/** `los keys`: the key store's upkeep. */
export function keysCommands(program: Command, perform: Perform): void {
  const keysCommand = program.command('keys').description('The key store: master-key rotation.');
  command(keysCommand, 'rotate', 'Re-wrap every data key with the current master key (LOS_MASTER_KEY: new key first, then the old ones).').action(
    (options: CommonOptions) =>
      perform(options, () =>
        withVault(options, async ({ keys }) => {
          const { rewrapped, entries } = await keys.rotate();
          const inUse = await keys.masterKeysInUse();
          return {
            text: `re-wrapped ${rewrapped} of ${entries} keys with master key ${keys.currentMasterKeyId}; master keys in use: ${
              Object.entries(inUse)
                .map(([id, n]) => `${id} (${n})`)
                .join(', ') || 'none'
            }`,
            json: { rewrapped, entries, currentMasterKeyId: keys.currentMasterKeyId, inUse },
          };
        }),
      ),
  );
}
