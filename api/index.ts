/**
 * The HTTP API: the engine's one door for people. Fastify routes declared with the domain's zod schemas (and the
 * OpenAPI document generated from them), sign-in by bearer token or browser session, and the engine-internal
 * path that seals tips and decisions and starts and steers operations (engine.ts), which nothing else calls.
 */
export { buildApi, startApiServer, BODY_LIMIT_BYTES } from './server.js';
export type { Api, ApiOptions, ApiServer, ApiServices } from './server.js';
export {
  CSRF_COOKIE,
  SESSION_COOKIE,
  DEFAULT_CLAIMS,
  Person,
  PersonRole,
  ROLES,
  RelyingParty,
  SESSION_BUCKET,
  SessionStore,
  bearerVerifier,
  cookieUnsigner,
  identify,
  personFromClaims,
} from './auth.js';
export type { BearerVerifier, ClaimNames, Credentials, Identity, IdentitySettings, Session } from './auth.js';
export { PROBLEMS, PROBLEM_CONTENT_TYPE, Problem, ProblemError, problemType } from './problems.js';
export { DECISION_PATHS, decisionPathName } from './schemas.js';
export { InvalidInputError, decisionUpdateId, howItEnded, openOperationsAbout, operationIdFor, parseDecision, registerTip, sendDecision } from './engine.js';
export type { EndedOperation, ParallelOperation, RegisterOptions, Registration } from './engine.js';
export { openApiDocument } from './contract.js';
export { parseServerTiming } from './timing.js';
export { apiSettings, identitySettings } from './settings.js';
export type { ApiSettings, IdentityProcessSettings } from './settings.js';
