import type { WorkflowExecutionInfo } from '@temporalio/client';
import { searchAttributes } from '../../workflows/definitions.js';
import { readOperation } from '../operation-access.js';
import { ProblemError } from '../problems.js';
import { operationsQuery } from '../../domain/index.js';
import { AccessLog, ListQuery, OperationList, OperationParams, OperationView } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES, askedOf, requireOwnMunicipality } from './common.js';

/** Reading: one operation as the reader may see it, many through visibility, and the access log. */
export function readingRoutes({ app, gate, services, withDeadline }: RouteContext): void {
  app.get(
    '/v1/operations/:id',
    {
      schema: {
        summary: 'Show an operation',
        description:
          'State and timeline. A coordinator of its municipality reads its personal fields and the tip (the business, the description; a protected source’s reference never); the steering group and operators see them sealed, and no tip. Every read is on the access log.',
        tags: ['operations'],
        params: OperationParams,
        response: { 200: OperationView, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['coordinator', 'steering_group', 'operator'], action: 'show' }),
    },
    async (request) => {
      const { state, timeline, tip } = await readOperation(services(), withDeadline, request.person!, request.params.id, {
        address: request.ip,
        asked: askedOf(request),
      });
      return { state: { ...state }, timeline: timeline.map((entry) => ({ ...entry })), ...(tip ? { tip } : {}) };
    },
  );

  app.get(
    '/v1/operations',
    {
      schema: {
        summary: 'List operations',
        description: 'Through Temporal visibility. A coordinator’s list is always narrowed to their own municipality.',
        tags: ['operations'],
        querystring: ListQuery,
        response: { 200: OperationList, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['coordinator', 'steering_group', 'operator'], action: 'list' }),
    },
    async (request) => {
      const person = request.person!;
      const filter = request.query;
      const asked = filter.municipality?.normalize('NFC').trim();
      if (person.role === 'coordinator' && asked !== undefined && asked !== person.municipality)
        throw new ProblemError('forbidden', `coordinators of ${person.municipality} list operations of their own municipality only, not of ${asked}`);
      const municipality = person.role === 'coordinator' ? person.municipality : asked;
      let entityRef: string | undefined;
      if (filter.sameBusiness !== undefined) {
        if (person.role === 'coordinator') await requireOwnMunicipality(services(), person, filter.sameBusiness);
        const description = await withDeadline((client) => client.workflow.getHandle(filter.sameBusiness!).describe());
        entityRef = description.typedSearchAttributes.get(searchAttributes.entityRef);
        if (entityRef === undefined)
          throw new ProblemError('invalid-input', `query rejected: sameBusiness: operation "${filter.sameBusiness}" has no entity reference`);
      }
      const query = operationsQuery({
        ...(filter.phase ? { phase: filter.phase } : {}),
        ...(filter.overdue ? { overdue: true } : {}),
        ...(municipality !== undefined ? { municipality } : {}),
        ...(filter.agency ? { agency: filter.agency } : {}),
        ...(entityRef !== undefined ? { entityRef } : {}),
      });
      const operations = await withDeadline(async (client) => {
        const found = [];
        for await (const info of client.workflow.list({ query, pageSize: filter.limit })) {
          found.push(listed(info));
          if (found.length >= filter.limit) break;
        }
        return found;
      });
      return { query, operations };
    },
  );

  app.get(
    '/v1/operations/:id/access-log',
    {
      schema: {
        summary: 'The access log of an operation',
        description: 'Who read its personal data or was refused, in which role, when. For auditors.',
        tags: ['audit'],
        params: OperationParams,
        response: { 200: AccessLog, ...PROBLEM_RESPONSES },
      },
      onRequest: gate({ roles: ['auditor'], action: 'audit' }),
    },
    async (request) => {
      const { id } = request.params;
      return { operationId: id, records: await services().audit.forOperation(id) };
    },
  );
}

/** An operation as a list shows it: visibility's search attributes, no personal field. */
export function listed(info: WorkflowExecutionInfo) {
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
    agencies: [...(attributes.get(searchAttributes.agencies) ?? [])],
    startedAt: info.startTime.toISOString(),
  };
}
