import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { AGENCY_IDS, PHASES, type AgencyId, type Phase } from '../../domain/index.js';
import { readAs, tokenVerifier } from '../../vault/index.js';
import { searchAttributes, stateQuery, timelineQuery } from '../../workflows/definitions.js';
import { InvalidInputError } from '../operations.js';
import { operationsQuery, temporalCliCommand } from '../queries.js';
import { operationReport, operationsTable, type ListedOperation } from '../render.js';
import { command, positiveInteger, type CommonOptions, type Perform } from './command.js';
import { issuerJwk, withClient, withVault } from './servers.js';

/** Reading operations: `los show` one, `los audit` who read it, `los list` many through visibility. */

/** The entity reference an operation was registered with; older operations have none. */
async function entityRefOf(client: Client, operationId: string): Promise<string> {
  const description = await client.workflow.getHandle(operationId).describe();
  const entityRef = description.typedSearchAttributes.get(searchAttributes.entityRef);
  if (entityRef === undefined)
    throw new InvalidInputError(
      `operation "${operationId}" has no entity reference (${searchAttributes.entityRef.name}): it was registered before references existed`,
    );
  return entityRef;
}

function listed(info: WorkflowExecutionInfo): ListedOperation {
  const attributes = info.typedSearchAttributes;
  const nextDeadline = attributes.get(searchAttributes.nextDeadline);
  const phase = attributes.get(searchAttributes.phase);
  const overdue = attributes.get(searchAttributes.overdue);
  const municipality = attributes.get(searchAttributes.municipality);
  return {
    operationId: info.workflowId,
    status: info.status.name,
    ...(phase !== undefined ? { phase } : {}),
    ...(overdue !== undefined ? { overdue } : {}),
    ...(nextDeadline !== undefined ? { nextDeadline: nextDeadline.toISOString() } : {}),
    ...(municipality !== undefined ? { municipality } : {}),
    agencies: attributes.get(searchAttributes.agencies) ?? [],
    startedAt: info.startTime.toISOString(),
  };
}

export function showCommand(program: Command, perform: Perform): void {
  command(program, 'show <operation>', 'Phase, what it waits for, the next deadline, the agencies’ answers and the timeline.')
    .addOption(new Option('--token <jwt>', 'your access token; without one, personal fields show as (sealed)').env('LOS_TOKEN'))
    .action((operationId: string, options: CommonOptions & { token?: string }) =>
      perform(options, () =>
        withVault(options, (vault) =>
          withClient(
            options,
            async (client) => {
              const handle = client.workflow.getHandle(operationId);
              // One after the other: a query left in flight would retry on the connection after it is closed.
              let state = await handle.query(stateQuery);
              let timeline = await handle.query(timelineQuery);
              if (options.token) {
                // The same rights as the codec server, and the read is on the access log.
                const reader = await (await tokenVerifier(issuerJwk())).verify(options.token);
                [state, timeline] = (await readAs(vault.keys, vault.audit, {
                  reader,
                  action: 'show',
                  operationId,
                  values: [state, timeline],
                  payloads: [],
                })) as [typeof state, typeof timeline];
              }
              return { text: operationReport(state, timeline, Date.now()), json: { state, timeline } };
            },
            vault,
          ),
        ),
      ),
    );
}

export function auditCommand(program: Command, perform: Perform): void {
  command(program, 'audit <operation>', 'The access log of one operation: who read its personal data, in which role, when, allowed or refused.').action(
    (operationId: string, options: CommonOptions) =>
      perform(options, () =>
        withVault(options, async ({ audit }) => {
          const records = await audit.forOperation(operationId);
          const lines = records.map(
            (r) => `${r.at}  ${r.allowed ? 'allowed' : 'REFUSED'}  ${r.action}  ${r.who} (${r.role})  ${r.payloads.length} payload(s)  ${r.detail}`,
          );
          return { text: lines.length > 0 ? lines.join('\n') : `no recorded access to ${operationId}`, json: { operationId, records } };
        }),
      ),
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
      perform(options, () =>
        withClient(options, async (client) => {
          const entityRef = options.sameBusiness === undefined ? undefined : await entityRefOf(client, options.sameBusiness);
          const query = operationsQuery({
            ...(options.phase ? { phase: options.phase } : {}),
            ...(options.overdue ? { overdue: true } : {}),
            // Stored NFC-normalised, so "Umeå" typed with a combining ring finds it too.
            ...(options.municipality !== undefined ? { municipality: options.municipality.normalize('NFC').trim() } : {}),
            ...(options.agency ? { agency: options.agency } : {}),
            ...(entityRef !== undefined ? { entityRef } : {}),
          });
          const operations: ListedOperation[] = [];
          for await (const info of client.workflow.list({ query, pageSize: options.limit })) {
            operations.push(listed(info));
            if (operations.length >= options.limit) break;
          }
          const more = operations.length >= options.limit ? ` (the first ${options.limit}; --limit for more)` : '';
          return {
            text: [
              `Query: ${query}`,
              `  paste it into the Temporal UI's workflow search, or run:`,
              `  ${temporalCliCommand(query, options.namespace)}`,
              '',
              operationsTable(operations, Date.now()),
              '',
              `${operations.length} operation${operations.length === 1 ? '' : 's'}${more}`,
            ].join('\n'),
            json: { query, operations },
          };
        }),
      ),
    );
}
