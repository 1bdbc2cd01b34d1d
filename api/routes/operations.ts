import type { Sealed } from '../../domain/index.js';
import { readAs } from '../../vault/index.js';
import { registerTip, type Registration as EngineRegistration } from '../engine.js';
import { ProblemError } from '../problems.js';
import { PROBLEM_RESPONSES, author } from './common.js';
import { Registration, RegisterTipBody } from '../schemas.js';
import type { RouteContext } from '../server.js';
import type { Person } from '../auth.js';

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
      const { config, ...tip } = request.body;
      if (tip.entity.municipality.normalize('NFC') !== person.municipality)
        throw new ProblemError('forbidden', `coordinators of ${person.municipality} may not register tips about a business in ${tip.entity.municipality}`);
      const { keys, signer, entityKey, catalogue, taskQueue } = services();
      const registration = await withDeadline((client) =>
        registerTip(client, tip, {
          keys,
          signer,
          author: author(person),
          entityKey,
          catalogue,
          ...(config ? { config } : {}),
          ...(taskQueue ? { taskQueue } : {}),
        }),
      );
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

/** Why an operation ended is personal data: read as the person may, and on the access log. */
async function endedAsRead(services: ReturnType<RouteContext['services']>, person: Person, registration: EngineRegistration) {
  const ended = registration.ended!;
  const base = { how: ended.how, ...(ended.at ? { at: ended.at } : {}) };
  if (ended.reason === undefined) return base;
  if (typeof ended.reason === 'string') return { ...base, reason: ended.reason };
  const [reason] = await readAs<string | Sealed>(services.keys, services.audit, {
    reader: { sub: person.sub, role: 'coordinator', ...(person.municipality ? { municipality: person.municipality } : {}) },
    action: 'register',
    operationId: registration.operationId,
    values: [ended.reason],
    payloads: [],
  }).catch(() => ['(sealed)']);
  return { ...base, reason: typeof reason === 'string' ? reason : '(sealed)' };
}
