import { disclosureRegisterAs, sameBusinessAs, searchAccessLog } from '../records.js';
import { AccessLogQuery, AccessLogSearch, DisclosureRegisterView, OperationParams, SameBusiness } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES, askedOf } from './common.js';

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
    async (request) => disclosureRegisterAs(services(), withDeadline, request.person!, request.params.id, { address: request.ip, asked: askedOf(request) }),
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
    async (request) => searchAccessLog(services(), request.query),
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
    async (request) => sameBusinessAs(services(), withDeadline, request.person!, request.params.id, { address: request.ip, asked: askedOf(request) }),
  );
}
