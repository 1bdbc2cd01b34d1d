import { DECISIONS, DECISION_KINDS } from '../../domain/index.js';
import { decideAs } from '../operation-access.js';
import { DecisionReceipt, OperationParams, decisionPathName, named } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES } from './common.js';

/** POST /v1/operations/{id}/decisions/{kind}: one route per row of the decision table, with the row's schema. */
export function decisionRoutes({ app, gate, csrf, services, withDeadline }: RouteContext): void {
  for (const kind of DECISION_KINDS) {
    const path = decisionPathName(kind);
    app.post(
      `/v1/operations/:id/decisions/${path}`,
      {
        schema: {
          summary: `Decision: ${kind}`,
          description: `The coordinator's ${kind} decision on an operation of their own municipality. The operation's validator has the last word: 409 when the stage does not take it now.`,
          tags: ['decisions'],
          operationId: `decide_${path.replace(/-/g, '_')}`,
          params: OperationParams,
          body: named(DECISIONS[kind].schema, kind),
          response: { 200: DecisionReceipt, ...PROBLEM_RESPONSES },
        },
        onRequest: [gate({ roles: ['coordinator'], action: 'decide' }), csrf],
      },
      async (request) => decideAs(services(), withDeadline, request.person!, request.params.id, kind, request.body),
    );
  }
}
