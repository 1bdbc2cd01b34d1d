import type { RouteContext } from '../server.js';
import { adminRoutes } from './admin.js';
import { decisionRoutes } from './decisions.js';
import { operationRoutes } from './operations.js';
import { readingRoutes } from './reading.js';
import { recordRoutes } from './records.js';
import { sessionRoutes } from './session.js';

/** Every route of the API, each declared with its schemas (and so in the OpenAPI document). */
export function registerRoutes(context: RouteContext): void {
  sessionRoutes(context);
  operationRoutes(context);
  decisionRoutes(context);
  readingRoutes(context);
  recordRoutes(context);
  adminRoutes(context);
  context.app.get('/v1/openapi.json', { schema: { hide: true } }, () => context.app.swagger());
  // For the orchestrator: the process serves. Whether Temporal and NATS answer shows in each request's status (503).
  context.app.get('/healthz', { schema: { hide: true } }, () => ({ ok: true }));
}
