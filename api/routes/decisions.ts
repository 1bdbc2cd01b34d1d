import { DECISIONS, DECISION_KINDS } from '../../domain/index.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { howItEnded, sendDecision } from '../engine.js';
import { ProblemError } from '../problems.js';
import { DecisionReceipt, OperationParams, decisionPathName, named } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES, author, requireOwnMunicipality } from './common.js';

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
      async (request) => {
        const { id } = request.params;
        const person = request.person!;
        const { keys, signer } = services();
        await requireOwnMunicipality(services(), person, id);
        // The person from the verified token is the author; the API's signature vouches for it to the operation.
        return withDeadline(async (client) => {
          const handle = client.workflow.getHandle(id);
          try {
            return await sendDecision(handle, { keys, signer }, author(person), kind, request.body as never);
          } catch (err) {
            // Temporal answers an update to a closed workflow as "not found": say that it has ended, and how.
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            const description = await handle.describe().catch(() => undefined);
            if (description === undefined || description.status.name === 'RUNNING') throw err;
            const { how } = await howItEnded(handle, description);
            throw new ProblemError('not-allowed-now', `${kind} rejected: operation ${id} has ended (${how}); it takes no more decisions`);
          }
        });
      },
    );
  }
}
