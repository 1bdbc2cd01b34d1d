import type { Author } from '../../domain/index.js';
import type { Person } from '../auth.js';
import { Problem, ProblemError } from '../problems.js';
import type { FastifyRequest } from 'fastify';
import type { ApiServices } from '../server.js';
import { timedStep } from '../timing.js';

/** The problem responses every protected route may give, for the OpenAPI document. */
export const PROBLEM_RESPONSES = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  413: Problem,
  503: Problem,
  504: Problem,
} as const;

/**
 * A coordinator acts only on operations of their own municipality: the operation's is the one its data key was
 * made for (the key store knows it before Temporal is asked anything).
 */
export async function requireOwnMunicipality(services: ApiServices, person: Person, operationId: string): Promise<void> {
  const info = await timedStep('keys', () => services.keys.dataKeyInfo(operationId));
  if (!info) throw new ProblemError('not-found', `no operation "${operationId}"`);
  if (person.role === 'coordinator' && info.municipality !== person.municipality)
    throw new ProblemError('forbidden', `coordinators of ${person.municipality} may not act on operation ${operationId}, which is not in their municipality`);
}

/** The decision's author: the person as the verified token names them. */
export function author(person: Person): Author {
  return { sub: person.sub, name: person.name, role: person.role, ...(person.municipality ? { municipality: person.municipality } : {}) };
}
/** What a request asked, for the log: its method and route, never its query or body (they may hold anything). */
export function askedOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`.slice(0, 300);
}
