/** The coordinator's side: the typed client of the LOS API and the `los` command line built on it. */
export {
  DEFAULT_API_URL,
  ForbiddenError,
  InvalidInputError,
  LosApiError,
  LosClient,
  NotAllowedNowError,
  NotFoundError,
  NotSignedInError,
  UnreachableError,
  decisionPath,
  parseDecision,
  parseInput,
  problemError,
} from './client.js';
export type {
  AccessLogFilter,
  AccessRecord,
  AuthConfig,
  FieldError,
  KeyRotation,
  ListFilter,
  LosClientOptions,
  OperationView,
  Problem,
  Registration,
} from './client.js';
export { bearerToken, credentialsPath } from './credentials.js';
export { runCli } from './cli.js';
