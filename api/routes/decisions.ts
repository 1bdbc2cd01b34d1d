import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DECISIONS, DECISION_KINDS, type DecisionKind } from '../../domain/index.js';
import { FailureType } from '../../workflows/failures.js';
import { sendDecision } from '../engine.js';
import { DecisionReceipt, OperationParams, decisionPathName, named } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES, requireOwnMunicipality } from './common.js';

/** In its first moments an operation may not yet hold the key that checks a decision: tried again briefly. */
const NOT_READY_RETRIES = 10;
const NOT_READY_PAUSE_MS = 200;

const notReady = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.NotReady;

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
        preHandler: [gate({ roles: ['coordinator'], action: 'decide' }), csrf],
      },
      async (request) => {
        const { id } = request.params;
        const { keys } = services();
        await requireOwnMunicipality(services(), request.person!, id);
        for (let attempt = 0; ; attempt++) {
          try {
            return await withDeadline((client) => sendDecision(client.workflow.getHandle(id), keys, kind as DecisionKind, request.body as never));
          } catch (err) {
            if (!notReady(err) || attempt >= NOT_READY_RETRIES) throw err;
            await sleep(NOT_READY_PAUSE_MS);
          }
        }
      },
    );
  }
}
