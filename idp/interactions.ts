import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { verifyPassword, type Realm } from './realm.js';
import { errorPage, loginPage } from './views/pages.js';

/**
 * The provider's interactions, at `/interaction/<uid>`: the sign-in form (prompt `login`) and consent (prompt
 * `consent`), which is granted without asking: every client in the realm is one of the engine's own.
 */

const FORM_LIMIT_BYTES = 16 * 1024;
/** Checked when the username is unknown, so an unknown name takes as long to refuse as a wrong password. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
};

function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export interface InteractionDeps {
  provider: Provider;
  realm: Realm;
  logger: Logger;
}

export function handleInteraction({ provider, realm, logger }: InteractionDeps) {
  const peopleByUsername = new Map(realm.people.map((person) => [person.username, person]));
  const clientName = (clientId: unknown) => {
    const client = realm.clients.find((candidate) => candidate.client_id === clientId);
    return client?.client_name ?? client?.client_id ?? 'Tjänsten';
  };

  return async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(path);
    if (!match || (req.method !== 'GET' && req.method !== 'POST') || (req.method === 'POST') !== Boolean(match[2])) {
      sendPage(res, 404, errorPage('Sidan finns inte', 'Börja om inloggningen från tjänsten du kom ifrån.'));
      return;
    }
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      // No interaction cookie, or one for another sign-in: a stale tab, an expired sign-in or a cross-site post.
      logger.warn({ event: 'sign-in refused', reason: `no such interaction: ${(err as Error).message}` }, 'sign-in refused');
      sendPage(res, 400, errorPage('Inloggningen har gått ut', 'Börja om inloggningen från tjänsten du kom ifrån.'));
      return;
    }
    if (details.uid !== match[1]) {
      sendPage(res, 400, errorPage('Inloggningen har gått ut', 'Börja om inloggningen från tjänsten du kom ifrån.'));
      return;
    }
    const clientId = details.params.client_id as string | undefined;
    const action = `/interaction/${details.uid}/login`;

    if (details.prompt.name === 'consent') {
      const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session?.accountId, clientId });
      if (!grant) throw new Error(`grant ${details.grantId} of interaction ${details.uid} not found`);
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (details.prompt.name !== 'login') {
      logger.warn({ event: 'sign-in refused', clientId, reason: `unsupported prompt ${details.prompt.name}` }, 'sign-in refused');
      sendPage(res, 400, errorPage('Inloggningen gick inte', 'Den här inloggningen stöds inte.'));
      return;
    }
    if (req.method === 'GET') {
      sendPage(res, 200, loginPage({ action, clientName: clientName(clientId) }));
      return;
    }

    const form = await readForm(req);
    const username = form?.get('username')?.trim().toLowerCase() ?? '';
    const password = form?.get('password') ?? '';
    const person = peopleByUsername.get(username);
    const passwordMatches = await verifyPassword(password, person?.password ?? DUMMY_HASH);
    if (!person || !passwordMatches || !username || !password) {
      // The username is not secret and shows guessing; the password is never logged.
      logger.warn({ event: 'sign-in refused', username, clientId, reason: person ? 'wrong password' : 'unknown username' }, 'sign-in refused');
      sendPage(res, 401, loginPage({ action, clientName: clientName(clientId), username, error: 'Fel användarnamn eller lösenord.' }));
      return;
    }
    logger.info({ event: 'signed in', sub: person.sub, clientId }, 'signed in');
    await provider.interactionFinished(req, res, { login: { accountId: person.sub } }, { mergeWithLastSubmission: false });
  };
}
