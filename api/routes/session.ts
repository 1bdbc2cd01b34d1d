import { z } from 'zod';
import { ProblemError } from '../problems.js';
import { AuthConfig, CallbackQuery, LoginQuery, SessionView } from '../schemas.js';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../auth.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES } from './common.js';

/**
 * Sign-in for browsers (authorisation code with PKCE; the session in an HttpOnly, Secure, SameSite=Lax cookie, the
 * tokens kept server side) and what `los login` needs to find the provider.
 */
export function sessionRoutes({ app, options, services, gate, csrf }: RouteContext): void {
  const publicOrigin = new URL(options.publicUrl).origin;
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'lax' as const,
    signed: true,
    maxAge: Math.floor(options.sessionTtlMs / 1000),
  };
  /** Lax, so the provider's redirect back (a top-level GET) carries it; ten minutes to sign in. */
  const loginCookieOptions = { path: '/auth/callback', httpOnly: true, secure: true, sameSite: 'lax' as const, signed: true };
  const LOGIN_SECONDS = 600;

  /** Only a path of this API: never another origin (an open redirect would lend the sign-in to a phishing page). */
  const sameOriginPath = (returnTo: string | undefined): string => {
    if (returnTo === undefined) return '/';
    if (!returnTo.startsWith('/') || returnTo.startsWith('//') || returnTo.startsWith('/\\'))
      throw new ProblemError(
        'invalid-input',
        `query rejected: returnTo ${JSON.stringify(returnTo.slice(0, 100))}: must be a path on this API, starting with a single /`,
      );
    const url = new URL(returnTo, publicOrigin);
    if (url.origin !== publicOrigin) throw new ProblemError('invalid-input', 'query rejected: returnTo: must be a path on this API');
    return `${url.pathname}${url.search}${url.hash}`;
  };

  app.get(
    '/v1/auth/config',
    {
      schema: { summary: 'Where to sign in', tags: ['auth'], security: [], response: { 200: AuthConfig } },
    },
    () => ({
      issuer: options.issuer,
      cliClientId: options.cliClientId,
      audience: options.audience,
      ...(options.temporalAudience ? { temporalAudience: options.temporalAudience } : {}),
    }),
  );

  app.get(
    '/auth/login',
    {
      schema: {
        summary: 'Sign in (browser)',
        description: 'Redirects to the identity provider (authorisation code with PKCE S256); back at /auth/callback the session starts.',
        tags: ['auth'],
        security: [],
        querystring: LoginQuery,
        response: { 400: PROBLEM_RESPONSES[400], 503: PROBLEM_RESPONSES[503] },
      },
    },
    async (request, reply) => {
      const returnTo = sameOriginPath(request.query.returnTo);
      const { relyingParty, sessions } = services();
      const login = await relyingParty.start(returnTo);
      await sessions.putLogin(login.state, login.pending);
      reply.setCookie(LOGIN_COOKIE, login.state, { ...loginCookieOptions, maxAge: LOGIN_SECONDS });
      return reply.redirect(login.url, 302);
    },
  );

  app.get(
    '/auth/callback',
    {
      schema: {
        summary: 'Back from the identity provider',
        tags: ['auth'],
        security: [],
        querystring: CallbackQuery,
        response: { 400: PROBLEM_RESPONSES[400], 401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403], 503: PROBLEM_RESPONSES[503] },
      },
    },
    async (request, reply) => {
      const { relyingParty, sessions, verifier } = services();
      const { state, error } = request.query;
      const started = request.cookies[LOGIN_COOKIE];
      const startedState = started === undefined ? undefined : request.unsignCookie(started);
      if (error !== undefined) throw new ProblemError('unauthenticated', `the identity provider did not sign you in: ${error}`);
      // Checked before the sign-in is taken: a callback URL opened in another browser neither signs it in nor spends the state.
      if (state === undefined || !startedState?.valid || startedState.value !== state)
        throw new ProblemError('unauthenticated', 'this sign-in was not started in this browser (or took over ten minutes): start again at /auth/login');
      reply.clearCookie(LOGIN_COOKIE, loginCookieOptions);
      const pending = await sessions.takeLogin(state);
      if (!pending)
        throw new ProblemError('unauthenticated', 'this sign-in has expired or was already used (its state is unknown): start again at /auth/login');
      let tokens;
      try {
        tokens = await relyingParty.finish(new URL(request.url, publicOrigin), state, pending);
      } catch (err) {
        if (err instanceof ProblemError) throw err;
        throw new ProblemError('unauthenticated', `sign-in refused: ${(err as Error).message}`);
      }
      // The same checks as a bearer token's: the API's audience, the provider's signature, the role's claims.
      const person = await verifier.verify(tokens.accessToken);
      const id = await sessions.create({ person, createdAt: new Date().toISOString(), tokens });
      request.log.info({ who: person.sub, role: person.role }, 'signed in');
      reply.setCookie(SESSION_COOKIE, id, cookieOptions);
      return reply.redirect(pending.returnTo, 302);
    },
  );

  app.get(
    '/auth/session',
    {
      schema: {
        summary: 'Who is signed in',
        description: 'The signed-in person and the CSRF token to send (header x-csrf-token) with every state-changing request; person null when signed out.',
        tags: ['auth'],
        security: [],
        response: { 200: SessionView },
      },
    },
    async (request, reply) => {
      const cookie = request.cookies[SESSION_COOKIE];
      const unsigned = cookie === undefined ? undefined : request.unsignCookie(cookie);
      const session = unsigned?.valid && unsigned.value ? await services().sessions.get(unsigned.value) : undefined;
      if (!session || !unsigned?.value) return { person: null };
      request.sessionId = unsigned.value;
      return { person: session.person, csrfToken: reply.generateCsrf({ userInfo: unsigned.value }) };
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: { summary: 'Sign out (browser)', tags: ['auth'], response: { 204: z.null().describe('Signed out'), ...PROBLEM_RESPONSES } },
      onRequest: [gate({ roles: ['coordinator', 'steering_group', 'auditor', 'operator', 'administrator'] }), csrf],
    },
    async (request, reply) => {
      if (request.sessionId !== undefined) await services().sessions.delete(request.sessionId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
}
