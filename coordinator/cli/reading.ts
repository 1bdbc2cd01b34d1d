import { Option, type Command } from 'commander';
import { AGENCY_IDS, PHASES, temporalCliCommand, type AgencyId, type Phase } from '../../domain/index.js';
import { operationReport, operationsTable } from '../render.js';
import { apiClient, command, positiveInteger, type CommonOptions, type Perform } from './command.js';

/** Reading operations: `los show` one, `los audit` who read it, `los list` many through visibility. */

export function showCommand(program: Command, perform: Perform): void {
  command(program, 'show <operation>', 'Phase, what it waits for, the next deadline, the agencies’ answers and the timeline.').action(
    (operationId: string, options: CommonOptions) =>
      perform(options, async () => {
        // Every field the signed-in person is entitled to; the API decides, and the read is on the access log.
        const { state, timeline, tip } = await apiClient(options).show(operationId);
        return { text: operationReport(state, timeline, Date.now(), tip), json: { state, timeline, ...(tip ? { tip } : {}) } };
      }),
  );
}

export function auditCommand(program: Command, perform: Perform): void {
  command(
    program,
    'audit [operation]',
    'The access log: who read personal data or was refused, in which role, when, from where. One operation, or all with the filters; --security for refusals that named no operation.',
  )
    .option('--who <subject>', 'only this person (the token subject), or "unauthenticated"')
    .option('--from <time>', 'from this instant (ISO 8601 with its offset)')
    .option('--to <time>', 'up to this instant (ISO 8601 with its offset)')
    .addOption(new Option('--allowed', 'only allowed reads').conflicts('refused'))
    .option('--refused', 'only refusals')
    .option('--security', 'only the security log: refusals that named no operation')
    .option('--limit <n>', 'at most this many records', positiveInteger, 200)
    .option('--after <seq>', 'continue after this record (the "next" a page printed)', positiveInteger)
    .action(
      (
        operationId: string | undefined,
        options: CommonOptions & {
          who?: string;
          from?: string;
          to?: string;
          allowed?: boolean;
          refused?: boolean;
          security?: boolean;
          limit: number;
          after?: number;
        },
      ) =>
        perform(options, async () => {
          const page = await apiClient(options).searchAccessLog({
            ...(operationId !== undefined ? { operation: operationId } : {}),
            ...(options.security ? { security: true } : {}),
            ...(options.who !== undefined ? { who: options.who } : {}),
            ...(options.from !== undefined ? { from: options.from } : {}),
            ...(options.to !== undefined ? { to: options.to } : {}),
            ...(options.allowed ? { allowed: true } : options.refused ? { allowed: false } : {}),
            ...(options.after !== undefined ? { after: options.after } : {}),
            limit: options.limit,
          });
          const lines = page.records.map(
            (r) =>
              `${r.at}  ${r.allowed ? 'allowed' : 'REFUSED'}  ${r.action}  ${r.who} (${r.role})${r.operationId ? `  ${r.operationId}` : ''}` +
              `${r.address ? `  from ${r.address}` : ''}${r.asked ? `  ${r.asked}` : ''}  ${r.payloads.length} payload(s)  ${r.detail}`,
          );
          const none = operationId !== undefined ? `no recorded access to ${operationId}` : 'no record matches';
          const more = page.next !== undefined ? `\nmore: --after ${page.next}` : '';
          return {
            text: `${lines.length > 0 ? lines.join('\n') : none}${more}`,
            json: { ...(operationId !== undefined ? { operationId } : {}), ...page },
          };
        }),
    );
}

export function listCommand(program: Command, perform: Perform): void {
  command(program, 'list', 'List operations through Temporal visibility; prints the query for the UI or the temporal CLI.')
    .addOption(new Option('--phase <phase>', 'only operations in this phase').choices(PHASES))
    .option('--overdue', 'only operations with a missed deadline')
    .option('--municipality <name>', 'only operations in this municipality')
    .addOption(new Option('--agency <agency>', 'only operations involving this agency').choices(AGENCY_IDS))
    .option('--same-business <operation>', 'only operations about the same business as this one (same entity reference)')
    .option('--limit <n>', 'at most this many operations', positiveInteger, 50)
    .action((options: CommonOptions & { phase?: Phase; overdue?: boolean; municipality?: string; agency?: AgencyId; sameBusiness?: string; limit: number }) =>
      perform(options, async () => {
        const { query, operations } = await apiClient(options).list({
          ...(options.phase ? { phase: options.phase } : {}),
          ...(options.overdue ? { overdue: true } : {}),
          // Stored NFC-normalised, so "Umeå" typed with a combining ring finds it too.
          ...(options.municipality !== undefined ? { municipality: options.municipality.normalize('NFC').trim() } : {}),
          ...(options.agency ? { agency: options.agency } : {}),
          ...(options.sameBusiness !== undefined ? { sameBusiness: options.sameBusiness } : {}),
          limit: options.limit,
        });
        const more = operations.length >= options.limit ? ` (the first ${options.limit}; --limit for more)` : '';
        return {
          text: [
            `Query: ${query}`,
            `  paste it into the Temporal UI's workflow search, or run:`,
            `  ${temporalCliCommand(query)}`,
            '',
            operationsTable(operations, Date.now()),
            '',
            `${operations.length} operation${operations.length === 1 ? '' : 's'}${more}`,
          ].join('\n'),
          json: { query, operations },
        };
      }),
    );
}
