import { createHash } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  DECISIONS,
  DECISION_KINDS,
  allOf,
  correctionChanges,
  inMunicipality,
  inStages,
  STAGES,
  OVERDUE,
  readInstant,
  stockholmWallTime,
  type DecisionKind,
  type OperationState,
  type PlainTip,
  type Tip,
} from '../../domain/index.js';
import { searchAttributes, stateQuery } from '../../workflows/definitions.js';
import { SESSION_COOKIE, type Person } from '../auth.js';
import { operationIdFor } from '../engine.js';
import { problemFromEngine } from '../failures.js';
import { decideAs, readCorrectable, readOperation, registerAs } from '../operation-access.js';
import { ProblemError } from '../problems.js';
import { disclosureRegisterAs, sameBusinessAs, searchAccessLog } from '../records.js';
import { askedOf, requireOwnMunicipality } from '../routes/common.js';
import { AccessLogQuery, DECISION_PATHS, OperationId, RegisterTipBody } from '../schemas.js';
import { problemFromFastify, recordRefusal } from '../refusals.js';
import type { GateRule, RouteContext } from '../server.js';
import { CONSOLE_CSS, LIVE_SCRIPT } from './assets.js';
import { errorsOf, fieldNamedIn, fieldsOf, inputFrom, parseForm, wordedIssue, type Field, type FieldErrors, type FormValues } from './fields.js';
import { html, layout, type Html } from './html.js';
import { confirmCorrectionPage, contextOf, duePage, formPage, messagePage, operationPage, refusalNow, steeringPage, type ListedRow } from './pages.js';
import { ACCESS_LOG_FIELDS, accessLogPage, disclosuresPage, escalationsSection, openEscalations, sameBusinessSection } from './record-pages.js';
import { SharedLooks } from './shared-look.js';
import { LANGUAGES, TEXTS, type Language, type Texts } from './texts.js';

/**
 * The coordinator's console: server-rendered pages under /konsol on the API's own origin, signed in by the API's
 * session cookie (never a token in a page), every form with the session's CSRF token, every read and decision
 * through the same path as the JSON routes (api/operation-access.ts), so the access log and the operation's
 * validators see a page exactly as they see a request.
 */

const LANG_COOKIE = 'los_lang';
/** Stages at which the operation waits for the coordinator, and nothing else. */
const DECISION_STAGES = new Set<OperationState['stage']>(['assessment', 'quorum_decision', 'schedule_decision', 'closing_decision']);
/** The working stages that await someone else (agencies, a period, a timer). */
const OTHER_STAGES = (Object.keys(STAGES) as OperationState['stage'][]).filter((stage) => stage !== 'ended' && !DECISION_STAGES.has(stage));
/** How many operations awaiting a decision the start page fetches to sort by deadline: far more than a municipality has. */
const DUE_LIMIT = 2_000;
/** How many running operations a list shows. */
const LIST_LIMIT = 200;
/** How many of the operations awaiting others the start page shows, the most recently started (with the count of all). */
const OTHERS_SHOWN = 50;
const LIVE_POLL_MS = 2_000;
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};
const DECISION_ACTION = Symbol('console action');

const ALL_ROLES: Person['role'][] = ['coordinator', 'steering_group', 'auditor', 'operator', 'administrator'];
const TIP_FIELDS = fieldsOf(RegisterTipBody);
const DECISION_FIELDS = Object.fromEntries(DECISION_KINDS.map((kind) => [kind, fieldsOf(DECISIONS[kind].schema)])) as Record<
  DecisionKind,
  ReturnType<typeof fieldsOf>
>;

export function registerConsole(context: RouteContext): void {
  const { app, options, services, withDeadline, gate, csrf } = context;
  const secureCookie =
    new URL(options.publicUrl).protocol === 'https:' ||
    new URL(options.publicUrl).hostname === '127.0.0.1' ||
    new URL(options.publicUrl).hostname === 'localhost';

  const languageOf = (request: FastifyRequest, reply: FastifyReply): Language => {
    const asked = (request.query as { lang?: unknown } | undefined)?.lang;
    if (typeof asked === 'string' && (LANGUAGES as readonly string[]).includes(asked)) {
      reply.setCookie(LANG_COOKIE, asked, { path: '/konsol', httpOnly: true, secure: secureCookie, sameSite: 'lax', maxAge: 365 * 86_400 });
      return asked as Language;
    }
    const remembered = request.cookies[LANG_COOKIE];
    return remembered === 'en' ? 'en' : 'sv';
  };

  /** One token per response: each generation without a secret cookie yet makes a new secret, and the last one set wins. */
  const tokens = new WeakMap<FastifyRequest, string>();
  const tokenOf = (request: FastifyRequest, reply: FastifyReply): string => {
    if (request.sessionId === undefined) return '';
    let token = tokens.get(request);
    if (token === undefined) {
      token = reply.generateCsrf({ userInfo: request.sessionId });
      tokens.set(request, token);
    }
    return token;
  };

  const send = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, status = 200, live?: string) => {
    const lang = languageOf(request, reply);
    const csrfToken = request.sessionId !== undefined ? tokenOf(request, reply) : undefined;
    return reply
      .code(status)
      .headers(SECURITY_HEADERS)
      .type('text/html; charset=utf-8')
      .send(
        layout({
          lang,
          title,
          path: request.url,
          body,
          ...(request.person ? { person: request.person } : {}),
          ...(csrfToken ? { csrfToken } : {}),
          ...(live ? { scripts: ['/konsol/assets/live.js'], stream: live } : {}),
        }),
      );
  };
  const textsOf = (request: FastifyRequest, reply: FastifyReply): Texts => TEXTS[languageOf(request, reply)];

  /** Signed in with one of these roles; the refusal is the scope's error handler's (a redirect to sign in, or a 403 page). */
  const signedIn = (rule: GateRule) => {
    const check = gate(rule);
    return async (request: FastifyRequest, reply: FastifyReply) => {
      (request as unknown as Record<symbol, unknown>)[DECISION_ACTION] = rule.action;
      await check(request, reply);
    };
  };
  const csrfAfterBody = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => csrf(request, reply, done);

  const operationIdOf = (request: FastifyRequest): string => {
    const parsed = OperationId.safeParse((request.params as { id?: unknown }).id);
    if (!parsed.success) throw new ProblemError('not-found', 'no such operation');
    return parsed.data;
  };

  void app.register(async (scope) => {
    await scope.register(fastifyFormbody);
    // Pages, not the JSON API: kept out of the OpenAPI document.
    scope.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });

    scope.setErrorHandler(async (error, request, reply) => {
      const problem =
        problemFromEngine(error) ?? problemFromFastify(error as Parameters<typeof problemFromFastify>[0]) ?? new ProblemError('internal', 'internal');
      if (problem.kind === 'internal')
        request.log.error({ err: { name: (error as Error).name }, what: `${request.method} ${request.routeOptions.url ?? ''}` }, 'console page failed');
      if (problem.status === 401 || problem.status === 403)
        await recordRefusal(request, options, problem, (request as unknown as Record<symbol, GateRule['action']>)[DECISION_ACTION]);
      if (problem.status === 401) {
        if (request.url.includes('/live')) return reply.code(401).send();
        const returnTo = request.method === 'GET' ? request.url : '/konsol';
        return reply.redirect(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, 303);
      }
      const t = textsOf(request, reply);
      const title =
        problem.status === 403
          ? t.errors.forbiddenTitle
          : problem.status === 404
            ? t.errors.notFoundTitle
            : problem.status === 503
              ? t.errors.unavailableTitle
              : t.errors.failedTitle;
      const detail = problem.kind === 'internal' ? '' : problem.kind === 'csrf-token' ? t.errors.csrf : problem.message;
      return send(request, reply, title, messagePage(title, detail, { href: '/konsol', text: t.errors.home }), problem.status);
    });
    scope.get('/konsol/assets/console.css', (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(CONSOLE_CSS),
    );
    scope.get('/konsol/assets/live.js', (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(LIVE_SCRIPT),
    );

    scope.get('/konsol/utloggad', (request, reply) => {
      const t = textsOf(request, reply);
      return send(request, reply, t.signOut, messagePage(t.signOut, t.signedOut, { href: '/auth/login?returnTo=%2Fkonsol', text: t.signInAgain }));
    });

    scope.post('/konsol/logga-ut', { onRequest: signedIn({ roles: ALL_ROLES }), preHandler: csrfAfterBody }, async (request, reply) => {
      if (request.sessionId !== undefined) await services().sessions.delete(request.sessionId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/konsol/utloggad', 303);
    });

    // 1. What needs the signed-in person's attention.
    scope.get('/konsol', { onRequest: signedIn({ roles: ALL_ROLES }) }, async (request, reply) => {
      const person = request.person!;
      const t = textsOf(request, reply);
      if (person.role === 'coordinator') {
        // Visibility queries only: the stage is a search attribute (LosStage), so no operation is asked for its state.
        // Visibility cannot sort by deadline, so every operation awaiting a decision is fetched (a municipality's are
        // few) and sorted here. Of the others, the most recently started few, and how many there are: reading a row
        // costs the dev server's SQLite visibility about 0.3 ms, so each one shown is paid for on every page load.
        const running = allOf(inMunicipality(person.municipality!), `ExecutionStatus = 'Running'`);
        const waiting = (row: ListedRow) => (row.stage !== undefined ? { ...row, waitingFor: t.stages[row.stage] } : row);
        const bySoonest = (a: ListedRow, b: ListedRow) => (a.nextDeadline ?? '9999').localeCompare(b.nextDeadline ?? '9999');
        const othersQuery = allOf(running, inStages(OTHER_STAGES));
        const [due, others, othersCount] = await Promise.all([
          listed(allOf(running, inStages([...DECISION_STAGES])), DUE_LIMIT),
          listed(othersQuery, OTHERS_SHOWN),
          withDeadline((client) => client.workflow.count(othersQuery)),
        ]);
        const updatedAt = ((w) => `${w.time} ${w.zone}`)(stockholmWallTime(Date.now()));
        const page = duePage(
          t,
          person.municipality!,
          due.map(waiting).sort(bySoonest),
          { rows: others.map(waiting).sort(bySoonest), all: Math.max(othersCount.count, others.length) },
          updatedAt,
        );
        // Live: the stream's first look is its baseline (a page-load fingerprint would cost two more visibility queries).
        return send(request, reply, t.due.title, page, 200, '/konsol/live');
      }
      if (person.role === 'steering_group' || person.role === 'operator') {
        // One visibility query and no operation asked: the escalations still open are read from the same rows.
        const rows = (await listed(allOf(OVERDUE, `ExecutionStatus = 'Running'`))).sort((a, b) => (a.nextDeadline ?? '').localeCompare(b.nextDeadline ?? ''));
        return send(request, reply, t.steering.title, html`${steeringPage(t, rows)}${escalationsSection(t, openEscalations(rows))}`);
      }
      if (person.role === 'auditor')
        return send(request, reply, t.appName, messagePage(t.appName, t.records.auditorStart, { href: '/konsol/atkomstlogg', text: t.records.auditorLink }));
      return send(request, reply, t.appName, messagePage(t.appName, t.noConsoleWork));
    });

    // 2. One operation, read as the person may (on the access log), updated live.
    scope.get(
      '/konsol/operationer/:id',
      { onRequest: signedIn({ roles: ['coordinator', 'steering_group', 'operator'], action: 'show' }) },
      async (request, reply) => {
        const id = operationIdOf(request);
        const person = request.person!;
        const t = textsOf(request, reply);
        const { state, timeline, tip } = await readOperation(services(), withDeadline, person, id, originOf(request));
        const ctx = contextOf(state, Date.now());
        const decisions =
          person.role === 'coordinator'
            ? DECISION_KINDS.map((kind) => ({ kind, refusal: ((r) => (r === undefined ? undefined : wordedIssue(t, undefined, r)))(refusalNow(kind, ctx)) }))
            : undefined;
        const done = (request.query as { klart?: string }).klart;
        const notices: Record<string, string> = {
          beslut: t.operation.decided,
          started: t.operation.registered,
          corrected: t.operation.corrected,
          unchanged: t.operation.unchanged,
        };
        const updatedAt = ((w) => `${w.time} ${w.zone}`)(stockholmWallTime(Date.now()));
        const body = operationPage(t, {
          state,
          timeline,
          ...(tip ? { tip } : {}),
          ...(decisions ? { decisions: decisions.map((d) => (d.refusal === undefined ? { kind: d.kind } : { kind: d.kind, refusal: d.refusal })) } : {}),
          ...(done && notices[done] ? { notice: notices[done] } : {}),
          updatedAt,
        });
        const records = await recordsOnOperationPage(request, person, id, t);
        // The stream starts from what this page shows, so a change between the read and the stream's first look is not missed.
        return send(request, reply, t.operation.title(id), html`${body}${records}`, 200, `/konsol/operationer/${id}/live?v=${fingerprint(state)}`);
      },
    );

    // 5. The disclosure register of one operation: for its municipality's coordinator and auditors, each view on the access log.
    scope.get(
      '/konsol/operationer/:id/utlamnanden',
      { onRequest: signedIn({ roles: ['coordinator', 'auditor'], action: 'disclosures' }) },
      async (request, reply) => {
        const id = operationIdOf(request);
        const person = request.person!;
        const t = textsOf(request, reply);
        const register = await disclosureRegisterAs(services(), withDeadline, person, id, originOf(request));
        const back =
          person.role === 'coordinator'
            ? { href: `/konsol/operationer/${id}`, text: t.records.backToOperation }
            : { href: `/konsol/atkomstlogg?operation=${id}`, text: t.records.accessLogTitle };
        return send(request, reply, t.records.disclosuresTitle(id), disclosuresPage(t, register, back));
      },
    );

    // 6. The access log for auditors: searched by operation, person, time and outcome, or the security log; paged.
    scope.get('/konsol/atkomstlogg', { onRequest: signedIn({ roles: ['auditor'], action: 'audit' }) }, async (request, reply) => {
      const t = textsOf(request, reply);
      const query = (request.query ?? {}) as FormValues;
      const values: FormValues = Object.fromEntries(ACCESS_LOG_FIELDS.map((name) => [name, firstOf(query[name])?.trim() ?? '']));
      const errors: FieldErrors = new Map();
      // Times are typed as Stockholm wall time (the hint says so) and searched as the instants they are.
      const instants: Record<string, string> = {};
      for (const name of ['from', 'to'] as const) {
        const text = values[name] as string;
        if (text === '') continue;
        const reading = readInstant(text);
        if (reading.ok) instants[name] = new Date(reading.ms).toISOString();
        else errors.set(name, [wordedIssue(t, name, { code: reading.code })]);
      }
      // The form sends all its fields, empty or not; the page opened from a link or the menu sends none and searches nothing yet.
      const searched = Object.keys(query).some((name) => name !== 'lang');
      if (!searched) return send(request, reply, t.records.accessLogTitle, accessLogPage(t, { values, errors }));
      const input = {
        ...(values.operation !== '' ? { operation: values.operation } : {}),
        ...(values.who !== '' ? { who: values.who } : {}),
        ...instants,
        ...(values.allowed !== '' ? { allowed: values.allowed } : {}),
        ...(values.security === 'true' ? { security: 'true' } : {}),
        ...(firstOf(query.after) ? { after: firstOf(query.after) } : {}),
        limit: '100',
      };
      const parsed = parseForm(AccessLogQuery, input, 'access-log search');
      if (!parsed.ok || errors.size > 0) {
        if (!parsed.ok) for (const issue of parsed.issues) errors.set(issue.field, [...(errors.get(issue.field) ?? []), wordedIssue(t, issue.field, issue)]);
        request.log.info({ who: request.person!.sub, what: 'console access-log search', why: 'invalid-input', status: 400 }, 'rejected');
        return send(request, reply, t.records.accessLogTitle, accessLogPage(t, { values, errors }), 400);
      }
      const page = await searchAccessLog(services(), parsed.value);
      let nextHref: string | undefined;
      if (page.next !== undefined) {
        const next = new URLSearchParams();
        for (const name of ACCESS_LOG_FIELDS) if (values[name] !== '') next.set(name, values[name] as string);
        next.set('after', String(page.next));
        nextHref = `/konsol/atkomstlogg?${next.toString()}`;
      }
      return send(request, reply, t.records.accessLogTitle, accessLogPage(t, { values, errors, page, range: instants, ...(nextHref ? { nextHref } : {}) }));
    });

    // 4. Changes as server-sent events: the page fetches itself again when told.
    const streams = new Set<() => void>();
    scope.addHook('preClose', async () => {
      for (const end of streams) end();
    });
    /**
     * Looks every LIVE_POLL_MS and says `changed` when the fingerprint differs from the last look's, or from `shown`
     * (what the page showed) at the first look; with no `shown`, the first look is the baseline.
     */
    const streamChanges = (request: FastifyRequest, reply: FastifyReply, look: () => Promise<{ fingerprint: string; data: object }>) => {
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write('retry: 3000\n\n');
      const shown = (request.query as { v?: unknown }).v;
      let last: string | undefined = typeof shown === 'string' ? shown : undefined;
      let ticks = 0;
      let polling = false;
      const tick = async () => {
        if (polling) return;
        polling = true;
        try {
          const { fingerprint: now, data } = await look();
          if (last !== undefined && now !== last) response.write(`event: changed\ndata: ${JSON.stringify(data)}\n\n`);
          else if (++ticks % 10 === 0) response.write(': still here\n\n');
          last = now;
        } catch {
          // A look that failed (Temporal busy, the operation ended long ago) is taken again at the next tick.
        } finally {
          polling = false;
        }
      };
      const timer = setInterval(() => void tick(), LIVE_POLL_MS);
      void tick();
      const end = () => {
        clearInterval(timer);
        streams.delete(end);
        response.end();
      };
      streams.add(end);
      request.raw.on('close', end);
    };
    scope.get(
      '/konsol/operationer/:id/live',
      { onRequest: signedIn({ roles: ['coordinator', 'steering_group', 'operator'], action: 'show' }) },
      async (request, reply) => {
        const id = operationIdOf(request);
        if (request.person!.role === 'coordinator') await requireOwnMunicipality(services(), request.person!, id);
        streamChanges(request, reply, async () => {
          const state = await withDeadline((client) => client.workflow.getHandle(id).query(stateQuery));
          // Only that something changed, and where the operation stands: the page reads the rest as its reader may.
          return { fingerprint: fingerprint(state), data: { phase: state.phase, stage: state.stage } };
        });
      },
    );
    // The decisions due change when an operation comes to await a decision or leaves it (an answer, a decision, a
    // new tip), or when a deadline passes: two counts in visibility tell both, without reading any operation.
    // One look per municipality and poll, shared by every open page of it (shared-look.ts). A look is shared for a
    // little less than a poll, so each page's next tick (its timer drifts a few milliseconds) takes a fresh one.
    const municipalityLooks = new SharedLooks<{ fingerprint: string; data: object }>(LIVE_POLL_MS - 250);
    scope.get('/konsol/live', { onRequest: signedIn({ roles: ['coordinator'], action: 'list' }) }, async (request, reply) => {
      const municipality = request.person!.municipality!;
      const running = allOf(inMunicipality(municipality), `ExecutionStatus = 'Running'`);
      streamChanges(request, reply, () =>
        municipalityLooks.look(municipality, async () => {
          const due = await withDeadline((client) => client.workflow.count(allOf(running, inStages([...DECISION_STAGES]))));
          const overdue = await withDeadline((client) => client.workflow.count(allOf(running, OVERDUE)));
          return { fingerprint: `${due.count}/${overdue.count}`, data: { due: due.count, overdue: overdue.count } };
        }),
      );
    });

    // 3. A form for every decision of the table.
    const decisionKindOf = (request: FastifyRequest): DecisionKind => {
      const kind = DECISION_PATHS[(request.params as { decision: string }).decision];
      if (!kind) throw new ProblemError('not-found', 'no such decision');
      return kind;
    };
    const decisionForm = (
      request: FastifyRequest,
      reply: FastifyReply,
      id: string,
      kind: DecisionKind,
      values: FormValues,
      errors: FieldErrors,
      message?: string,
      status = 200,
    ) => {
      const t = textsOf(request, reply);
      const title = `${t.decisionNames[kind]}: ${id}`;
      return send(
        request,
        reply,
        title,
        formPage(t, {
          title,
          action: `/konsol/operationer/${id}/beslut/${(request.params as { decision: string }).decision}`,
          fields: DECISION_FIELDS[kind],
          values,
          errors,
          ...(message !== undefined ? { message } : {}),
          csrfToken: tokenOf(request, reply),
          submit: t.form.send,
          cssClass: 'decision',
          back: { href: `/konsol/operationer/${id}`, text: t.form.back },
        }),
        status,
      );
    };

    scope.get('/konsol/operationer/:id/beslut/:decision', { onRequest: signedIn({ roles: ['coordinator'], action: 'decide' }) }, async (request, reply) => {
      const id = operationIdOf(request);
      const kind = decisionKindOf(request);
      await requireOwnMunicipality(services(), request.person!, id);
      const state = await withDeadline((client) => client.workflow.getHandle(id).query(stateQuery));
      const refusal = refusalNow(kind, contextOf(state, Date.now()));
      if (refusal !== undefined) {
        const t = textsOf(request, reply);
        return send(
          request,
          reply,
          t.form.notAdmissible,
          messagePage(t.form.notAdmissible, wordedIssue(t, undefined, refusal), { href: `/konsol/operationer/${id}`, text: t.form.back }),
          409,
        );
      }
      return decisionForm(request, reply, id, kind, {}, new Map());
    });

    scope.post(
      '/konsol/operationer/:id/beslut/:decision',
      { onRequest: signedIn({ roles: ['coordinator'], action: 'decide' }), preHandler: csrfAfterBody },
      async (request, reply) => {
        const id = operationIdOf(request);
        const kind = decisionKindOf(request);
        const values = (request.body ?? {}) as FormValues;
        const fields = DECISION_FIELDS[kind];
        const parsed = parseForm(DECISIONS[kind].schema, inputFrom(fields, values), kind);
        if (!parsed.ok) {
          const { byField, unplaced } = errorsOf(fields, parsed.issues, textsOf(request, reply));
          request.log.info({ who: request.person!.sub, what: `console decision ${kind}`, why: 'invalid-input', status: 400 }, 'rejected');
          return decisionForm(request, reply, id, kind, values, byField, unplaced.length > 0 ? unplaced.join(' ') : undefined, 400);
        }
        try {
          await decideAs(services(), withDeadline, request.person!, id, kind, parsed.value);
        } catch (err) {
          const problem = problemFromEngine(err);
          if (!problem || (problem.status !== 400 && problem.status !== 409)) throw err;
          request.log.info(
            { who: request.person!.sub, what: `console decision ${kind}`, why: problem.kind, code: problem.errors?.[0]?.code, status: problem.status },
            'rejected',
          );
          const { errors, message } = refusedOnForm(textsOf(request, reply), fields, problem);
          return decisionForm(request, reply, id, kind, values, errors, message, problem.status);
        }
        return reply.redirect(`/konsol/operationer/${id}?klart=beslut`, 303);
      },
    );

    // 3. Registering a tip (and a correction, confirmed before it is sent).
    const tipForm = (request: FastifyRequest, reply: FastifyReply, values: FormValues, errors: FieldErrors, message?: string, status = 200) => {
      const t = textsOf(request, reply);
      return send(
        request,
        reply,
        t.nav.newTip,
        formPage(t, {
          title: t.nav.newTip,
          action: '/konsol/tips/ny',
          fields: TIP_FIELDS,
          values,
          errors,
          ...(message !== undefined ? { message } : {}),
          csrfToken: tokenOf(request, reply),
          submit: t.form.register,
          cssClass: 'tip',
          folded: { title: t.form.configTitle, prefix: 'config.' },
        }),
        status,
      );
    };

    scope.get('/konsol/tips/ny', { onRequest: signedIn({ roles: ['coordinator'], action: 'register' }) }, async (request, reply) => {
      const wall = stockholmWallTime(Date.now());
      return tipForm(
        request,
        reply,
        {
          'entity.municipality': request.person!.municipality,
          urgency: 'normal',
          'source.kind': 'public',
          'source.protected': 'true',
          receivedAt: `${wall.date}T${wall.time}`,
        },
        new Map(),
      );
    });

    scope.post(
      '/konsol/tips/ny',
      { onRequest: signedIn({ roles: ['coordinator'], action: 'register' }), preHandler: csrfAfterBody },
      async (request, reply) => {
        const values = (request.body ?? {}) as FormValues;
        const person = request.person!;
        if (values.edit === 'yes') return tipForm(request, reply, values, new Map());
        const parsed = parseForm(RegisterTipBody, inputFrom(TIP_FIELDS, values), 'tip');
        if (!parsed.ok) {
          request.log.info({ who: person.sub, what: 'console tip', why: 'invalid-input', status: 400 }, 'rejected');
          const { byField, unplaced } = errorsOf(TIP_FIELDS, parsed.issues, textsOf(request, reply));
          return tipForm(request, reply, values, byField, unplaced.length > 0 ? unplaced.join(' ') : undefined, 400);
        }
        const { config: _config, ...tip } = parsed.value;
        const operationId = operationIdFor(tip as PlainTip, services().entityKey);
        const known = await services().keys.dataKeyInfo(operationId);
        // A known tip is a correction: what it changes (old value → new value) is shown before it is sent. Reading the
        // registered values is a read of personal data, on the access log. A tip that changes nothing is registered as is.
        if (known && values.confirm !== 'yes' && known.municipality === person.municipality) {
          const registered = await readCorrectable(services(), withDeadline, person, operationId, originOf(request)).catch((err: unknown) => {
            const problem = problemFromEngine(err);
            // An operation that has ended (or whose data is erased) takes no correction: the registration says so.
            if (problem && (problem.status === 404 || problem.status === 409)) return undefined;
            throw err;
          });
          const changes = registered ? correctionChanges(registered, tip as Tip) : [];
          if (changes.length > 0) {
            const t = textsOf(request, reply);
            return send(request, reply, t.form.confirmTitle, confirmCorrectionPage(t, operationId, values, changes, tokenOf(request, reply)));
          }
        }
        try {
          const registration = await registerAs(services(), withDeadline, person, parsed.value);
          return reply.redirect(
            `/konsol/operationer/${registration.operationId}?klart=${registration.outcome === 'ended' ? 'unchanged' : registration.outcome}`,
            303,
          );
        } catch (err) {
          const problem = problemFromEngine(err);
          if (!problem || (problem.status !== 400 && problem.status !== 409 && problem.status !== 403)) throw err;
          if (problem.status === 403) throw problem;
          request.log.info({ who: person.sub, what: 'console tip', why: problem.kind, code: problem.errors?.[0]?.code, status: problem.status }, 'rejected');
          const { errors, message } = refusedOnForm(textsOf(request, reply), TIP_FIELDS, problem);
          return tipForm(request, reply, values, errors, message, problem.status);
        }
      },
    );
  });

  /** Same business for those the endpoint serves, and the register's link for the coordinator; both reads on the access log. */
  async function recordsOnOperationPage(request: FastifyRequest, person: Person, id: string, t: Texts): Promise<Html> {
    const link =
      person.role === 'coordinator'
        ? html`<h2>${t.records.disclosuresHeading}</h2>
            <p><a href="/konsol/operationer/${id}/utlamnanden">${t.records.disclosuresLink}</a></p>`
        : '';
    if (person.role !== 'coordinator' && person.role !== 'steering_group') return html`${link}`;
    const view = await sameBusinessAs(services(), withDeadline, person, id, originOf(request)).catch((err: unknown) => {
      if (err instanceof ProblemError && err.kind === 'not-found') return 'unknown' as const;
      throw err;
    });
    return html`${sameBusinessSection(t, view)}${link}`;
  }

  /** Running operations from visibility: no personal field is ever in a search attribute. */
  async function listed(query: string, limit = LIST_LIMIT): Promise<ListedRow[]> {
    return withDeadline(async (client) => {
      const found: ListedRow[] = [];
      // One page where it fits: each visibility page is a scan of the store on SQLite.
      for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 1_000) })) {
        const a = info.typedSearchAttributes;
        const nextDeadline = a.get(searchAttributes.nextDeadline);
        const phase = a.get(searchAttributes.phase);
        const overdue = a.get(searchAttributes.overdue);
        const municipality = a.get(searchAttributes.municipality);
        const stage = a.get(searchAttributes.stage) as ListedRow['stage'];
        found.push({
          operationId: info.workflowId,
          ...(stage !== undefined ? { stage } : {}),
          ...(phase !== undefined ? { phase } : {}),
          ...(overdue !== undefined ? { overdue } : {}),
          ...(nextDeadline !== undefined ? { nextDeadline: nextDeadline.toISOString() } : {}),
          ...(municipality !== undefined ? { municipality } : {}),
        });
        if (found.length >= limit) break;
      }
      return found;
    });
  }
}

/**
 * A refusal of the engine on a form: each coded error in the reader's language next to the field it names, the
 * rest above the form. A refusal without a code (an older worker) is placed by the field its message names and
 * worded by the generic sentence naming that field; the English message stays the JSON API's and the log's.
 */
function refusedOnForm(t: Texts, fields: readonly Field[], problem: ProblemError): { errors: FieldErrors; message?: string } {
  const coded = problem.errors?.filter((e) => e.code !== undefined) ?? [];
  if (coded.length > 0) {
    const { byField, unplaced } = errorsOf(fields, coded, t);
    return { errors: byField, ...(unplaced.length > 0 ? { message: unplaced.join(' ') } : {}) };
  }
  const path = fieldNamedIn(fields, problem.message);
  if (path === undefined) return { errors: new Map(), message: wordedIssue(t, undefined, {}) };
  return { errors: new Map([[path, [wordedIssue(t, path, {})]]]) };
}

/** What the live stream compares: where the operation stands and what each agency has answered (no personal field). */
function fingerprint(state: OperationState): string {
  const facts = JSON.stringify([
    state.phase,
    state.stage,
    state.overdue,
    state.waitingFor,
    state.nextDeadline?.dueAt,
    state.actionNumber,
    state.agencies.map((a) => [a.agency, a.mandate, a.ready, a.findings, a.outcomes]),
  ]);
  return createHash('sha256').update(facts).digest('base64url').slice(0, 16);
}

const firstOf = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const originOf = (request: FastifyRequest) => ({ address: request.ip, asked: askedOf(request) });
