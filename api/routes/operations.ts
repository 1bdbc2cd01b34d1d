import type { Registration as EngineRegistration } from '../engine.js';
import { endedAsRead, registerAs } from '../operation-access.js';
import { PROBLEM_RESPONSES } from './common.js';
import { Registration, RegisterTipBody } from '../schemas.js';
import type { RouteContext } from '../server.js';

/** POST /v1/operations: a coordinator registers a tip (a new operation, or a correction of the running one). */
export function operationRoutes({ app, gate, csrf, services, withDeadline }: RouteContext): void {
  app.post(
    '/v1/operations',
    {
      schema: {
        summary: 'Register a tip',
        description:
          'Starts an operation for the tip (201). The same tip again finds its operation (200): `unchanged`, `corrected` when name, address, urgency or protection changed, ' +
          'or `ended` with how and when it ended. A coordinator registers tips of their own municipality only.',
        tags: ['operations'],
        body: RegisterTipBody,
        response: { 200: Registration, 201: Registration, ...PROBLEM_RESPONSES },
      },
      onRequest: [gate({ roles: ['coordinator'], action: 'register' }), csrf],
    },
    async (request, reply) => {
      const person = request.person!;
      const registration = await registerAs(services(), withDeadline, person, request.body);
      reply.code(registration.outcome === 'started' ? 201 : 200);
      return { ...view(registration), ...(registration.ended ? { ended: await endedAsRead(services(), person, registration) } : {}) };
    },
  );
}

function view(registration: EngineRegistration) {
  return {
    operationId: registration.operationId,
    outcome: registration.outcome,
    entityRef: registration.entityRef,
    sameBusiness: registration.sameBusiness,
    ...(registration.correction ? { correction: { changed: registration.correction.changed, told: registration.correction.told } } : {}),
  };
}
