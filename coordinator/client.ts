import type { z } from 'zod';
import {
  DECISIONS,
  OperationConfig,
  Tip,
  describeIssues,
  type AgencyId,
  type DecisionInput,
  type DecisionKind,
  type DecisionReceipt,
  type OperationConfigInput,
  type OperationState,
  type Phase,
  type Plain,
  type Sealed,
  type TimelineEntry,
  type TipAsShown,
} from '../domain/index.js';
import type { ListedOperation } from './render.js';

/** What `GET /v1/access-log` filters by (instants as ISO 8601 with their offset). */
export interface AccessLogFilter {
  operation?: string;
  security?: boolean;
  who?: string;
  from?: string;
  to?: string;
  allowed?: boolean;
  limit?: number;
  after?: number;
}

/**
 * The typed client of the LOS API: the one door people (and their programs) have to the engine. Every input
 * is parsed with the domain's schema before it is sent, so a mistake is named field by field without a
 * request; every refusal comes back as RFC 9457 problem details and is thrown as one of the typed errors
 * below, its message the API's own (which names the field). The API checks everything again.
 */

export const DEFAULT_API_URL = 'http://127.0.0.1:4300';
/** The API waits up to 15 s for a worker to answer; a little more here, so its 504 arrives before our timeout. */
export const CALL_TIMEOUT_MS = 20_000;

/** One field a refusal names, as in the problem's `errors`. */
export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, as the API answers every refusal. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
}

/** Anything the API refused or could not do; `problem` is its answer when it gave one. */
export class LosApiError extends Error {
  override name = 'LosApiError';
  constructor(
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
  }
  /** The fields the refusal names (empty when it names none). */
  get fields(): string[] {
    return (this.problem?.errors ?? []).map((e) => e.field);
  }
}

/** The input breaks its schema (found here before sending, or by the API: 400, 413). */
export class InvalidInputError extends LosApiError {
  override name = 'InvalidInputError';
  readonly #fields: string[];
  constructor(message: string, problemOrFields?: Problem | string[]) {
    super(message, Array.isArray(problemOrFields) ? undefined : problemOrFields);
    this.#fields = Array.isArray(problemOrFields) ? problemOrFields : (problemOrFields?.errors ?? []).map((e) => e.field);
  }
  override get fields(): string[] {
    return this.#fields;
  }
}
/** 401: no token, or one the API does not take (expired, wrong audience, not signed by the issuer). */
export class NotSignedInError extends LosApiError {
  override name = 'NotSignedInError';
}
/** 403: signed in, but the role or the municipality does not allow it (the message says which). */
export class ForbiddenError extends LosApiError {
  override name = 'ForbiddenError';
}
/** 404: no such operation. */
export class NotFoundError extends LosApiError {
  override name = 'NotFoundError';
}
/** 409: the operation does not take this now (its phase, an ended operation, the workflow's validator). */
export class NotAllowedNowError extends LosApiError {
  override name = 'NotAllowedNowError';
}
/** The API, or the engine behind it (503 Temporal/NATS, 504 no worker answered), could not be reached in time. */
export class UnreachableError extends LosApiError {
  override name = 'UnreachableError';
}

/** The typed error for a problem the API answered with. */
export function problemError(problem: Problem): LosApiError {
  const said = problem.detail ?? problem.title;
  switch (problem.status) {
    case 400:
    case 413:
      return new InvalidInputError(said, problem);
    case 401:
      return new NotSignedInError(`not signed in: run \`los login\` (${said})`, problem);
    case 403:
      return new ForbiddenError(`refused: ${said}`, problem);
    case 404:
      return new NotFoundError(said, problem);
    case 409:
      return new NotAllowedNowError(said, problem);
    case 502:
    case 503:
    case 504:
      return new UnreachableError(said, problem);
    default:
      return new LosApiError(said, problem);
  }
}

/** A body that claims to be a problem but may not be one (a proxy's error page, say): its status stands in. */
function asProblem(status: number, body: unknown, statusText: string): Problem {
  const given = typeof body === 'object' && body !== null ? (body as Partial<Problem>) : {};
  const errors = Array.isArray(given.errors)
    ? given.errors.filter((e): e is FieldError => typeof e?.field === 'string' && typeof e?.message === 'string')
    : undefined;
  return {
    type: typeof given.type === 'string' ? given.type : 'about:blank',
    title: typeof given.title === 'string' ? given.title : statusText || `HTTP ${status}`,
    status,
    ...(typeof given.detail === 'string' ? { detail: given.detail } : {}),
    ...(typeof given.instance === 'string' ? { instance: given.instance } : {}),
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Parsed with the domain's schema; a mistake names every field ("tip rejected: entity.orgNumber …"). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string, fieldName?: (path: string) => string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => (fieldName ?? ((p: string) => p))(issue.path.map(String).join('.') || '(root)'));
  throw new InvalidInputError(`${what} rejected: ${describeIssues(result.error, input, fieldName)}`, fields);
}

/** A decision as its row's schema parses it; a mistake names the field ("assessment rejected: reason …"). */
export function parseDecision<K extends DecisionKind>(kind: K, input: unknown): DecisionInput<K> {
  return parseInput(DECISIONS[kind].schema, input, kind) as DecisionInput<K>;
}

/** The decision's path on the API: its update's name in kebab case (`decideQuorum` → `decide-quorum`). */
export function decisionPath(kind: DecisionKind): string {
  return DECISIONS[kind].update.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** What `los login` needs to know of the API: `GET /v1/auth/config`. */
export interface AuthConfig {
  issuer: string;
  cliClientId: string;
  audience: string;
  /** The Temporal server's JWT audience, when it checks the provider's tokens: `los login` asks for it too. */
  temporalAudience?: string;
}

/** Another open operation about the same business (same pseudonymous entity reference). */
export interface ParallelOperation {
  operationId: string;
  phase?: string;
  municipality?: string;
}

/** How an operation ended; the reason as the caller may read it (sealed unless entitled). */
export interface EndedOperation {
  how: string;
  at?: string;
  reason?: string | Sealed;
}

export interface Registration {
  operationId: string;
  /**
   * `started`: a new operation. The same tip again finds the existing one: `unchanged` when nothing differs,
   * `corrected` when the correctable fields differed and were applied, `ended` when the operation has ended
   * and takes no correction; none of these starts a second operation.
   */
  outcome: 'started' | 'unchanged' | 'corrected' | 'ended';
  sameBusiness: ParallelOperation[];
  /** The pseudonymous entity reference, when the API says it. */
  entityRef?: string;
  correction?: DecisionReceipt & { changed: string[]; told: string[] };
  ended?: EndedOperation;
}

export interface RegisterOptions {
  config?: OperationConfigInput;
}

export interface ListFilter {
  phase?: Phase;
  overdue?: boolean;
  municipality?: string;
  agency?: AgencyId;
  /** Operations about the same business as this one. */
  sameBusiness?: string;
  limit?: number;
}

export interface OperationView {
  state: OperationState;
  timeline: TimelineEntry[];
  /** The tip, the business first: only a coordinator of the operation's municipality gets it. */
  tip?: Plain<TipAsShown>;
}

export interface AccessRecord {
  at: string;
  who: string;
  role: string;
  operationId?: string;
  action: string;
  payloads: { index: number; sha256: string }[];
  allowed: boolean;
  detail: string;
  /** The caller's network address. */
  address?: string;
  /** What was asked: method and route, or the codec endpoint. */
  asked?: string;
}

export interface KeyRotation {
  rewrapped: number;
  entries: number;
  currentMasterKeyId: string;
  inUse: Record<string, number>;
}

export interface LosClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:4300 (LOS_API_URL). */
  apiUrl: string;
  /** The bearer token for each request; throws NotSignedInError when there is none. */
  token: () => Promise<string>;
  /** How long one request may take (default CALL_TIMEOUT_MS). */
  timeoutMs?: number;
}

export class LosClient {
  readonly apiUrl: string;
  readonly #token: () => Promise<string>;
  readonly #timeoutMs: number;

  constructor(options: LosClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
  }

  /** What `los login` needs: the issuer, the CLI's client id, the audience. Public: no token. */
  authConfig(): Promise<AuthConfig> {
    return this.#request('GET', '/v1/auth/config', { anonymous: true });
  }

  /** Registers a tip: a new operation, or the same tip again recognised (unchanged, corrected or ended). */
  async registerTip(tip: unknown, options: RegisterOptions = {}): Promise<Registration> {
    parseInput(Tip, tip, 'tip');
    const config = options.config ?? {};
    parseInput(OperationConfig, config, 'operation config');
    // Sent as typed, not as parsed: the API parses it again with the same schemas. The deadlines travel beside the tip.
    const body = Object.keys(config).length > 0 ? { ...(tip as object), config } : tip;
    return this.#request('POST', '/v1/operations', { body });
  }

  /** Sends a decision, parsed with its row's schema first; the workflow's validator has the last word. */
  async decide<K extends DecisionKind>(operationId: string, kind: K, input: DecisionInput<K> | unknown): Promise<DecisionReceipt> {
    const decision = parseDecision(kind, input);
    return this.#request('POST', `/v1/operations/${encodeURIComponent(operationId)}/decisions/${decisionPath(kind)}`, { body: decision });
  }

  /** The operation's state and timeline, every field the caller is entitled to (the API decides; on the access log). */
  show(operationId: string): Promise<OperationView> {
    return this.#request('GET', `/v1/operations/${encodeURIComponent(operationId)}`);
  }

  /** Operations through visibility; the API narrows a coordinator's list to their municipality. */
  list(filter: ListFilter = {}): Promise<{ query: string; operations: ListedOperation[] }> {
    const query: Record<string, string> = {};
    if (filter.phase) query.phase = filter.phase;
    if (filter.overdue) query.overdue = 'true';
    if (filter.municipality !== undefined) query.municipality = filter.municipality;
    if (filter.agency) query.agency = filter.agency;
    if (filter.sameBusiness !== undefined) query.sameBusiness = filter.sameBusiness;
    if (filter.limit !== undefined) query.limit = String(filter.limit);
    return this.#request('GET', '/v1/operations', { query });
  }

  /** Who read the operation's personal data, in which role, when, allowed or refused (auditors). */
  accessLog(operationId: string): Promise<{ operationId: string; records: AccessRecord[] }> {
    return this.#request('GET', `/v1/operations/${encodeURIComponent(operationId)}/access-log`);
  }

  /**
   * The access log across operations, oldest first (auditors): by operation, person, time and outcome; `security`
   * gives the records that name no operation. A page holds at most `limit`; `next` is the `after` of the next page.
   */
  searchAccessLog(filter: AccessLogFilter = {}): Promise<{ records: (AccessRecord & { seq: number })[]; scanned: number; next?: number }> {
    const query: Record<string, string> = {};
    if (filter.operation !== undefined) query.operation = filter.operation;
    if (filter.security) query.security = 'true';
    if (filter.who !== undefined) query.who = filter.who;
    if (filter.from !== undefined) query.from = filter.from;
    if (filter.to !== undefined) query.to = filter.to;
    if (filter.allowed !== undefined) query.allowed = String(filter.allowed);
    if (filter.limit !== undefined) query.limit = String(filter.limit);
    if (filter.after !== undefined) query.after = String(filter.after);
    return this.#request('GET', '/v1/access-log', { query });
  }

  /** Re-wraps every data key with the current master key (administrators). */
  rotateKeys(): Promise<KeyRotation> {
    return this.#request('POST', '/v1/admin/keys/rotate', { body: {} });
  }

  async #request<T>(method: string, path: string, options: { body?: unknown; query?: Record<string, string>; anonymous?: boolean } = {}): Promise<T> {
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (!options.anonymous) headers.authorization = `Bearer ${await this.#token()}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw unreachable(this.apiUrl, err, this.#timeoutMs);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw unreachable(this.apiUrl, err, this.#timeoutMs);
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) throw problemError(asProblem(response.status, body, response.statusText));
    if (body === undefined) throw new LosApiError(`the LOS API at ${this.apiUrl} answered ${method} ${path} with no JSON (HTTP ${response.status})`);
    return body as T;
  }
}

/** A request that got no answer: refused connection, unknown host, or no answer in time. */
function unreachable(apiUrl: string, err: unknown, timeoutMs: number): UnreachableError {
  const e = err as Error & { cause?: Error & { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new UnreachableError(`no answer from the LOS API at ${apiUrl} within ${timeoutMs / 1000} s`);
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  return new UnreachableError(`cannot reach the LOS API at ${apiUrl}: ${cause}`);
}
