import type { WorkflowExecutionInfo } from '@temporalio/client';
import { agencyName, operationsQuery } from '../../domain/index.js';
import { disclosuresQuery, searchAttributes } from '../../workflows/definitions.js';
import { ProblemError } from '../problems.js';
import { AccessLogQuery, AccessLogSearch, DisclosureRegisterView, OperationParams, SameBusiness } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES, askedOf, requireOwnMunicipality } from './common.js';
import { listed } from './reading.js';

/** How many operations about one business the same-business view reads from visibility at most. */
export const SAME_BUSINESS_MAX = 200;

/**
 * The records auditors and coordinators keep: the disclosure register of an operation, the access log across
 * operations (with the security log), and the other operations about the same business.
 */
export function recordRoutes({ app, gate, services, withDeadline }: RouteContext): void {
  app.get(
    '/v1/operations/:id/disclosures',
    {
      schema: {
        summary: 'The disclosure register of an operation',
        description:
          'Every event that took personal data to an agency: which fields (names, never values), when, in which event (CloudEvent id and type) and on which legal ground ' +
          '(as the operation’s catalogue names it; “ingen rättslig grund angiven” when it names none). For the coordinator of its municipality and auditors; every read is on the access log.',
        tags: ['audit'],
        params: OperationParams,
        response: { 200: DisclosureRegisterView, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['coordinator', 'auditor'], action: 'disclosures' }),
    },
    async (request) => {
      const person = request.person!;
      const { id } = request.params;
      const { audit, catalogue } = services();
      if (person.role === 'coordinator') await requireOwnMunicipality(services(), person, id);
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
        address: request.ip,
        asked: askedOf(request),
      });
      return {
        operationId: id,
        catalogueNamesGrounds: register.catalogueNamesGrounds,
        disclosures: register.disclosures.map((d) => ({ ...d, fields: [...d.fields], agencyName: agencyName(d.agency, catalogue) })),
      };
    },
  );

  app.get(
    '/v1/access-log',
    {
      schema: {
        summary: 'Search the access log',
        description:
          'Every read of personal data and every refusal, across operations, oldest first; `security=true` gives the security log (refusals that named no operation: no token, a bad one, ' +
          'a role that may not). Filters: operation, who, from/to, allowed. A page holds at most `limit` records and reads at most 20,000; `next` continues it (after=<next>). For auditors.',
        tags: ['audit'],
        querystring: AccessLogQuery,
        response: { 200: AccessLogSearch, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['auditor'], action: 'audit' }),
    },
    async (request) => {
      const q = request.query;
      return services().audit.search({
        ...(q.operation !== undefined ? { operationId: q.operation } : {}),
        ...(q.security ? { unattributed: true } : {}),
        ...(q.who !== undefined ? { who: q.who } : {}),
        ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
        ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
        ...(q.allowed !== undefined ? { allowed: q.allowed } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
        limit: q.limit,
      });
    },
  );

  app.get(
    '/v1/operations/:id/same-business',
    {
      schema: {
        summary: 'Other operations about the same business',
        description:
          'By the keyed pseudonym of the business (search attribute LosEntityRef), open or ended. The coordinator of the operation’s municipality sees their municipality’s in full ' +
          'and only how many others there are and in which phases; the steering group sees ids and phases. No personal field. On the access log.',
        tags: ['operations'],
        params: OperationParams,
        response: { 200: SameBusiness, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['coordinator', 'steering_group'], action: 'same_business' }),
    },
    async (request) => {
      const person = request.person!;
      const { id } = request.params;
      if (person.role === 'coordinator') await requireOwnMunicipality(services(), person, id);
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
      await services().audit.record({
        at: new Date().toISOString(),
        who: person.sub,
        role: person.role,
        operationId: id,
        action: 'same_business',
        payloads: [],
        allowed: true,
        detail: `same business: ${found.length} other operation(s)`,
        address: request.ip,
        asked: askedOf(request),
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
    },
  );
}
