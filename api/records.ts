import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { z } from 'zod';
import { agencyName, operationsQuery } from '../domain/index.js';
import type { AccessLogPage } from '../vault/index.js';
import { disclosuresQuery, searchAttributes } from '../workflows/definitions.js';
import type { Person } from './auth.js';
import type { WithDeadline } from './operation-access.js';
import { ProblemError } from './problems.js';
import { requireOwnMunicipality } from './routes/common.js';
import { listed } from './routes/reading.js';
import type { AccessLogQuery, DisclosureRegisterView, SameBusiness } from './schemas.js';
import type { ApiServices } from './server.js';

/**
 * The records auditors and coordinators keep, whichever door they are asked by: the JSON routes
 * (api/routes/records.ts) and the console's pages call these, so a read through either is checked and logged alike.
 */

/** How many operations about one business the same-business view reads from visibility at most. */
export const SAME_BUSINESS_MAX = 200;

/** Where a request came from, for the access log: the caller's address and what was asked (method and route). */
export interface Origin {
  address: string;
  asked: string;
}

/** An operation's disclosure register: for the coordinator of its municipality and auditors (the gate's); on the access log. */
export async function disclosureRegisterAs(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  id: string,
  origin: Origin,
): Promise<z.infer<typeof DisclosureRegisterView>> {
  const { audit, catalogue } = services;
  if (person.role === 'coordinator') await requireOwnMunicipality(services, person, id);
  else if (person.role !== 'auditor') throw new ProblemError('forbidden', `the ${person.role} role may not read disclosure registers`);
  const register = await withDeadline((client) => client.workflow.getHandle(id).query(disclosuresQuery));
  await audit.record({
    at: new Date().toISOString(),
    who: person.sub,
    role: person.role,
    operationId: id,
    action: 'disclosures',
    payloads: [],
    allowed: true,
    detail: 'disclosure register: field names and agencies, no values',
    ...origin,
  });
  return {
    operationId: id,
    catalogueNamesGrounds: register.catalogueNamesGrounds,
    disclosures: register.disclosures.map((d) => ({ ...d, fields: [...d.fields], agencyName: agencyName(d.agency, catalogue) })),
  };
}

/**
 * The other operations about the same business (the keyed pseudonym in LosEntityRef): the coordinator of its
 * municipality sees their municipality's in full and the others as counts per phase; the steering group ids and
 * phases. On the access log.
 */
export async function sameBusinessAs(
  services: ApiServices,
  withDeadline: WithDeadline,
  person: Person,
  id: string,
  origin: Origin,
): Promise<z.infer<typeof SameBusiness>> {
  if (person.role === 'coordinator') await requireOwnMunicipality(services, person, id);
  else if (person.role !== 'steering_group') throw new ProblemError('forbidden', `the ${person.role} role may not look up operations about the same business`);
  const description = await withDeadline((client) => client.workflow.getHandle(id).describe());
  const entityRef = description.typedSearchAttributes.get(searchAttributes.entityRef);
  if (entityRef === undefined)
    throw new ProblemError('not-found', `operation "${id}" has no entity reference, so no operation is known to be about the same business`);
  const found = await withDeadline(async (client) => {
    const infos: WorkflowExecutionInfo[] = [];
    for await (const info of client.workflow.list({ query: operationsQuery({ entityRef }), pageSize: 100 })) {
      if (info.workflowId !== id) infos.push(info);
      if (infos.length >= SAME_BUSINESS_MAX) break;
    }
    return infos;
  });
  await services.audit.record({
    at: new Date().toISOString(),
    who: person.sub,
    role: person.role,
    operationId: id,
    action: 'same_business',
    payloads: [],
    allowed: true,
    detail: `same business: ${found.length} other operation(s)`,
    ...origin,
  });
  if (person.role === 'steering_group') {
    return {
      operationId: id,
      operations: found.map((info) => {
        const phase = info.typedSearchAttributes.get(searchAttributes.phase);
        return { operationId: info.workflowId, status: info.status.name, ...(phase !== undefined ? { phase } : {}) };
      }),
    };
  }
  const own = found.filter((info) => info.typedSearchAttributes.get(searchAttributes.municipality) === person.municipality);
  const byPhase: Record<string, number> = {};
  for (const info of found) {
    if (own.includes(info)) continue;
    const phase = info.typedSearchAttributes.get(searchAttributes.phase) ?? 'unknown';
    byPhase[phase] = (byPhase[phase] ?? 0) + 1;
  }
  return { operationId: id, operations: own.map(listed), others: { count: found.length - own.length, byPhase } };
}

/** One page of the access log (or the security log) as an auditor asked for it; the query is AccessLogQuery's, parsed. */
export function searchAccessLog(services: ApiServices, q: z.output<typeof AccessLogQuery>): Promise<AccessLogPage> {
  return services.audit.search({
    ...(q.operation !== undefined ? { operationId: q.operation } : {}),
    ...(q.security ? { unattributed: true } : {}),
    ...(q.who !== undefined ? { who: q.who } : {}),
    ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
    ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
    ...(q.allowed !== undefined ? { allowed: q.allowed } : {}),
    ...(q.after !== undefined ? { after: q.after } : {}),
    limit: q.limit,
  });
}
