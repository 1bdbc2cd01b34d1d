import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifySwagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MandateCatalogue } from '../domain/index.js';
import type { AccessRecord, AuditLog, DecisionSigner, KeyStore } from '../vault/index.js';
import { CSRF_COOKIE, SESSION_COOKIE, identify, type BearerVerifier, type Person, type RelyingParty, type SessionStore } from './auth.js';
import { problemFromEngine } from './failures.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, fieldErrors, problemOf } from './problems.js';
import { registerConsole } from './console/index.js';
import { BODY_LIMIT_BYTES, problemFromFastify, recordRefusal } from './refusals.js';
import { registerRoutes } from './routes/index.js';
import { serverTimingHeader, timedStep, withRequestTimings } from './timing.js';
import { describeIssuesFor, namedSchema } from './schemas.js';

/**
 * The engine's one door for people: a Fastify app whose routes are declared with the domain's zod schemas, which
 * also give the OpenAPI document (`GET /v1/openapi.json`). Identity comes from a verified bearer token or a browser
 * session; every refusal is a problem (RFC 9457), logged with who, what and why, and put on the operation's access
 * log when it names one.
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, once the route's gate has checked it. */
    person?: Person;
    /** The session id, when the person came by the session cookie (not by a bearer token). */
    sessionId?: string;
  }
}

/** What the routes act on: the engine's Temporal client, keys, access log and sign-in. */
export interface ApiServices {
  /** A Temporal client with the engine's payload codec. */
  client: Client;
  keys: KeyStore;
  /** The API's Ed25519 key: every decision it forwards is signed with it (the operation checks). */
  signer: DecisionSigner;
  audit: AuditLog;
  sessions: SessionStore;
  verifier: BearerVerifier;
  relyingParty: RelyingParty;
  catalogue: MandateCatalogue;
  /** The key of the pseudonymous entity reference. */
  entityKey: string;
  taskQueue?: string;
}

export interface ApiOptions {
  /** The API's origin as browsers see it, e.g. https://los.umea.se; the callback and cookies are on it. */
  publicUrl: string;
  issuer: string;
  audience: string;
  /** The public client `los login` uses (told to it by GET /v1/auth/config). */
  cliClientId: string;
  /**
   * The Temporal server's JWT audience, when it authorises calls with the provider's tokens (this process has a
   * Temporal client of its own): told to `los login`, so that a person can get a token for the Temporal CLI.
   */
  temporalAudience?: string;
  /** Signs the session and CSRF cookies; every API process of a deployment needs the same one. */
  cookieSecret: string;
  /** How long a browser session lasts (the session bucket's TTL). */
  sessionTtlMs: number;
  logger: Logger;
  /** Absent only when the app is built to write its OpenAPI document: then every route answers 503. */
  services?: ApiServices;
  /** How long a call into Temporal may take before the caller gets 504. @default 15 s */
  callTimeoutMs?: number;
}

export { BODY_LIMIT_BYTES };
export const API_VERSION = '1.0.0';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export type Api = FastifyInstance<import('node:http').Server, import('node:http').IncomingMessage, import('node:http').ServerResponse, Logger, ZodTypeProvider>;

/** What a route's gate allows: the roles, and the operation the request names (for the access log on refusal). */
export interface GateRule {
  roles: readonly Person['role'][];
  /** The access-log action recorded when the request is refused; `request` when none is named. */
  action?: AccessRecord['action'];
}

/** The route context's knowledge the gate and error handler share. */
export interface RouteContext {
  app: Api;
  options: ApiOptions;
  services(): ApiServices;
  /** Runs a Temporal call with the API's deadline. */
  withDeadline<T>(work: (client: Client) => Promise<T>): Promise<T>;
  /** Checks who is asking and whether their role may; throws a 401/403 problem otherwise. */
  gate(rule: GateRule): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** The CSRF check, for a request that came by the session cookie and changes state. */
  csrf(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void;
}

const GATE_ACTION = Symbol('gate action');

export async function buildApi(options: ApiOptions): Promise<Api> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Each refusal and failure has its own line; a line per request would add nothing but volume.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>() as unknown as Api;

  // Inputs are parsed by the domain's schemas, and a rejection reads as the domain's ("tip rejected: entity.orgNumber …").
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const zod = schema as unknown as z.ZodType;
    return (data: unknown) => {
      const result = zod.safeParse(data);
      if (result.success) return { value: result.data };
      const what = namedSchema(zod) ?? (httpPart === 'querystring' ? 'query' : httpPart === 'params' ? 'path' : (httpPart ?? 'input'));
      return { error: new ProblemError('invalid-input', `${what} rejected: ${describeIssuesFor(result.error, data)}`, fieldErrors(result.error)) };
    };
  });
  app.setSerializerCompiler(serializerCompiler);

  // First of all hooks: every later step of the request is timed for its Server-Timing header.
  app.addHook('onRequest', (_request, _reply, done) => withRequestTimings(done));
  app.addHook('onSend', async (_request, reply, payload) => {
    const timing = serverTimingHeader();
    if (timing) reply.header('Server-Timing', timing);
    return payload;
  });
  await app.register(fastifyCookie, { secret: options.cookieSecret, hook: 'onRequest' });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, secure: true, sameSite: 'lax', signed: true },
    // The token is bound to the session: one taken from another session does not pass.
    getUserInfo: (request) => request.sessionId ?? '',
    csrfOpts: { hmacKey: options.cookieSecret },
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LOS engine API',
        version: API_VERSION,
        description:
          'The engine’s one door for people: register tips, take decisions, read operations and their access log. ' +
          'Authenticate with a bearer token from the organisation’s OpenID Connect provider (audience: the API’s resource indicator), ' +
          'or in a browser with the session cookie from /auth/login and the CSRF token from /auth/session on every state-changing request. ' +
          'Errors are RFC 9457 problem details (application/problem+json).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const services = () => {
    if (!options.services) throw new ProblemError('unavailable', 'the API was built without the engine (to write its contract)');
    return options.services;
  };
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;

  const identifyRequest = async (request: FastifyRequest): Promise<Person> => {
    const { person, sessionId } = await timedStep('auth', () =>
      identify(
        { authorization: request.headers.authorization, sessionCookie: request.cookies[SESSION_COOKIE] },
        {
          // Asked for only when a token or a cookie came: without them the refusal needs no engine.
          get verifier() {
            return services().verifier;
          },
          get sessions() {
            return services().sessions;
          },
          unsign: (value) => {
            const unsigned = request.unsignCookie(value);
            return unsigned.valid ? unsigned.value : undefined;
          },
        },
      ),
    );
    if (sessionId !== undefined) request.sessionId = sessionId;
    return person;
  };

  const context: RouteContext = {
    app,
    options,
    services,
    withDeadline: (work) => {
      const { client } = services();
      return timedStep('temporal', () => client.withDeadline(Date.now() + callTimeoutMs, () => work(client)));
    },
    gate: (rule) => async (request) => {
      (request as unknown as Record<symbol, unknown>)[GATE_ACTION] = rule.action;
      request.person = await identifyRequest(request);
      if (!rule.roles.includes(request.person.role))
        throw new ProblemError('forbidden', `the ${request.person.role.replace('_', ' ')} role may not do this; it is for: ${rule.roles.join(', ')}`);
    },
    csrf: (request, reply, done) => {
      if (request.sessionId === undefined || SAFE_METHODS.has(request.method)) return done();
      app.csrfProtection(request, reply, done);
    },
  };

  app.setNotFoundHandler((request, reply) => {
    void sendProblem(reply, request, new ProblemError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let problem = problemFromEngine(error) ?? problemFromFastify(error);
    if (!problem) {
      // Never the message: it may quote input. The name and code say which failure it was.
      request.log.error({ err: { name: error.name, code: error.code }, what: `${request.method} ${request.routeOptions.url ?? ''}` }, 'request failed');
      problem = new ProblemError('internal', 'the request failed inside the API; nothing was changed by this request unless its result says so');
    }
    if (problem.status === 401 || problem.status === 403) {
      await recordRefusal(request, options, problem, (request as unknown as Record<symbol, GateRule['action']>)[GATE_ACTION]);
    } else if (problem.status >= 400 && problem.status < 500) {
      request.log.info(
        { who: request.person?.sub, what: `${request.method} ${request.routeOptions.url ?? ''}`, why: problem.kind, status: problem.status },
        'rejected',
      );
    }
    return sendProblem(reply, request, problem);
  });

  registerRoutes(context);
  registerConsole(context);
  return app;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: ProblemError): FastifyReply {
  const body = problemOf(problem.kind, problem.message, request.url.split('?')[0] ?? request.url, problem.errors);
  if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  // The reply is written as it is: the route's response schema (for success) does not apply to a problem.
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

export interface ApiServer {
  url: string;
  app: Api;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiOptions & { host?: string; port?: number }): Promise<ApiServer> {
  const app = await buildApi(options);
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { url: `http://${options.host ?? '127.0.0.1'}:${port}`, app, close: () => app.close() };
}
