import type { Command } from 'commander';
import { apiClient, command, type CommonOptions, type Perform } from './command.js';

/** `los keys`: the key store's upkeep, for administrators. */
export function keysCommands(program: Command, perform: Perform): void {
  const keysCommand = program.command('keys').description('The key store: master-key rotation.');
  command(
    keysCommand,
    'rotate',
    'Re-wrap every data key with the current master key (after the engine was given a new one: new key first, then the old ones).',
  ).action((options: CommonOptions) =>
    perform(options, async () => {
      const { rewrapped, entries, currentMasterKeyId, inUse } = await apiClient(options).rotateKeys();
      return {
        text: `re-wrapped ${rewrapped} of ${entries} keys with master key ${currentMasterKeyId}; master keys in use: ${
          Object.entries(inUse)
            .map(([id, n]) => `${id} (${n})`)
            .join(', ') || 'none'
        }`,
        json: { rewrapped, entries, currentMasterKeyId, inUse },
      };
    }),
  );
}
