import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { axeViolations, launchChromium } from './browser.js';
import { startTestEngine, type TestEngine } from './engine.js';
import { passwordLogin } from './oidc.js';

/**
 * Signing in as a person does, in headless Chromium: the API's /auth/login sends the browser to the embedded
 * identity provider (its own process), the person signs in on its Swedish page, and the provider sends the browser
 * back through the API's /auth/callback (authorisation code with PKCE) to a session kept in a cookie page scripts
 * cannot read. The provider's pages are checked with axe-core too. Everything is real: the provider process, the
 * engine with its API, Temporal, nats-server and the browser.
 */

/** The demo realm's password (README, idp/realm.yaml). */
const PASSWORD = DEMO_PASSWORD;
const API_CLIENT_SECRET = DEMO_API_CLIENT_SECRET;
const WRONG_PASSWORD_MESSAGE = 'Fel användarnamn eller lösenord.';
/** Any JSON Web Token: the access and ID tokens are JWTs, and none may reach the browser. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;

let idp: IdentityProvider;
let engine: TestEngine;
let browser: Browser;
let api: string;

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  idp = await startIdentityProvider({ scratchDir: mkdtempSync(join(inject('scratchDir'), 'browser-idp-')), audience: `${api}/v1`, apiUrls: [api] });
  engine = await startTestEngine('browser', {
    api: { port, issuer: idp.issuer, clientSecret: API_CLIENT_SECRET, sessionSecret: 'a session secret for the browser test, 32+ chars' },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  await idp?.stop();
});

interface SessionView {
  person: { sub: string; name: string; role: string; municipality?: string } | null;
  csrfToken?: string;
}

/** Every URL the page's top frame navigated to, redirects included, in order. */
function navigationsOf(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) urls.push(request.url());
  });
  return urls;
}

/** Opens the API's sign-in and waits on the provider's sign-in page. */
async function openSignIn(page: Page): Promise<void> {
  await page.goto(`${api}/auth/login?returnTo=/auth/session`);
  await page.waitForURL((url) => url.origin === idp.issuer && url.pathname.startsWith('/interaction/'));
  await page.getByRole('heading', { name: 'Logga in' }).waitFor();
}

async function submitSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Användarnamn').fill(username);
  await page.getByLabel('Lösenord').fill(password);
  await page.getByRole('button', { name: 'Logga in' }).click();
}

/** Anna signs in, in a context of her own, and lands on the API's session endpoint. */
async function annaSignedIn(): Promise<{ context: BrowserContext; page: Page; navigations: string[]; session: SessionView }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const navigations = navigationsOf(page);
  await openSignIn(page);
  const landed = page.waitForResponse((response) => response.url() === `${api}/auth/session` && response.request().isNavigationRequest());
  await submitSignIn(page, 'anna', PASSWORD);
  const response = await landed;
  expect(response.status()).toBe(200);
  const session = (await response.json()) as SessionView;
  await page.waitForURL(`${api}/auth/session`);
  return { context, page, navigations, session };
}

/** What a page script of the API's origin gets from the session endpoint. */
function sessionFromPage(page: Page): Promise<SessionView> {
  return page.evaluate(async () => {
    const response = await fetch('/auth/session', { credentials: 'same-origin' });
    return (await response.json()) as SessionView;
  });
}

describe('signing in with the code flow in a browser', () => {
  it('goes from the API to the provider’s Swedish sign-in page and back through /auth/callback to Anna’s session as coordinator of Umeå', async () => {
    const { context, page, navigations, session } = await annaSignedIn();
    expect(session.person).toEqual({ sub: expect.any(String), name: 'Anna Lindqvist', role: 'coordinator', municipality: 'Umeå' });
    expect(session.csrfToken).toBeTruthy();
    await page.getByText('Anna Lindqvist').first().waitFor();

    // The way there and back: the API's login, the provider's authorisation and sign-in, the API's callback
    // with a code and the state, and the path the sign-in was asked to return to.
    const origins = navigations.map((url) => new URL(url));
    expect(origins[0]!.href).toBe(`${api}/auth/login?returnTo=/auth/session`);
    expect(origins.some((url) => url.origin === idp.issuer && url.pathname.startsWith('/interaction/'))).toBe(true);
    const callback = origins.find((url) => url.origin === api && url.pathname === '/auth/callback');
    expect(callback?.searchParams.get('code')).toBeTruthy();
    expect(callback?.searchParams.get('state')).toBeTruthy();
    expect(navigations.at(-1)).toBe(`${api}/auth/session`);
    await context.close();
  });

  it('shows the sign-in page in Swedish, with a label for each field', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openSignIn(page);
    expect(await page.getAttribute('html', 'lang')).toBe('sv');
    await expect(page.getByLabel('Användarnamn').getAttribute('autocomplete')).resolves.toBe('username');
    await expect(page.getByLabel('Lösenord').getAttribute('type')).resolves.toBe('password');
    await context.close();
  });

  it('keeps the session in an HttpOnly, Secure, SameSite=Lax cookie that page scripts cannot read', async () => {
    const { context, page } = await annaSignedIn();
    const cookies = await context.cookies(api);
    const session = cookies.find((cookie) => cookie.name === 'los_session');
    expect(session).toMatchObject({ domain: '127.0.0.1', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
    expect(session!.expires).toBeGreaterThan(Date.now() / 1000);
    // The CSRF secret's cookie too: only the token from /auth/session is the page's to send.
    expect(cookies.find((cookie) => cookie.name === 'los_csrf')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });

    // The sign-in's own cookie is spent at the callback.
    expect(cookies.map((cookie) => cookie.name)).not.toContain('los_login');

    const visible = await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie);
    expect(visible).not.toContain('los_session');
    expect(visible).not.toContain(session!.value);
    await context.close();
  });

  it('leaves no token in the page, its URL, the way there, localStorage or sessionStorage', async () => {
    const { context, page, navigations } = await annaSignedIn();
    const content = await page.content();
    const storage = await page.evaluate(() => {
      const { localStorage, sessionStorage } = globalThis as unknown as Record<
        'localStorage' | 'sessionStorage',
        { length: number; key(i: number): string | null; getItem(k: string): string | null }
      >;
      const dump = (store: typeof localStorage) => Array.from({ length: store.length }, (_, i) => store.key(i)!).map((key) => `${key}=${store.getItem(key)}`);
      return { local: dump(localStorage), session: dump(sessionStorage) };
    });

    expect(content).not.toMatch(JWT);
    expect(content).not.toMatch(/access_token|id_token|refresh_token/);
    expect(page.url()).toBe(`${api}/auth/session`);
    for (const url of navigations) {
      expect(url).not.toMatch(JWT);
      expect(url).not.toMatch(/access_token|id_token|refresh_token/);
    }
    expect(storage).toEqual({ local: [], session: [] });
    // The code the callback took is spent and not in the page the person sees.
    const code = new URL(navigations.find((url) => url.startsWith(`${api}/auth/callback`))!).searchParams.get('code')!;
    expect(content).not.toContain(code);
    for (const cookie of await context.cookies()) expect(cookie.value).not.toMatch(JWT);
    await context.close();
  });

  it('refuses a wrong password with the provider’s message, and no session starts', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openSignIn(page);
    const refused = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().startsWith(`${idp.issuer}/interaction/`));
    await submitSignIn(page, 'anna', 'not-the-password');
    expect((await refused).status()).toBe(401);
    await expect(page.getByRole('alert').innerText()).resolves.toBe(WRONG_PASSWORD_MESSAGE);
    expect(new URL(page.url()).origin).toBe(idp.issuer);
    // The username stays filled in; the password does not.
    await expect(page.getByLabel('Användarnamn').inputValue()).resolves.toBe('anna');
    await expect(page.getByLabel('Lösenord').inputValue()).resolves.toBe('');

    expect((await context.cookies(api)).map((cookie) => cookie.name)).not.toContain('los_session');
    const apiPage = await context.newPage();
    await apiPage.goto(`${api}/auth/session`);
    expect(await sessionFromPage(apiPage)).toEqual({ person: null });
    await context.close();
  });

  it('signs the person in when they try again with the right password after a wrong one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openSignIn(page);
    await submitSignIn(page, 'anna', 'not-the-password');
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Lösenord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Logga in' }).click();
    await page.waitForURL(`${api}/auth/session`);
    expect((await sessionFromPage(page)).person).toMatchObject({ name: 'Anna Lindqvist', role: 'coordinator', municipality: 'Umeå' });
    await context.close();
  });

  it('refuses a callback from a sign-in another browser started, so no one can be signed in as someone else (login CSRF)', async () => {
    // Someone signs in as themselves (with any tool) but stops before the callback, and gets another person
    // to open its URL.
    const { page: stopped } = await passwordLogin(`${api}/auth/login?returnTo=/auth/session`, 'bertil', PASSWORD, { stopAt: `${api}/auth/callback` });
    const callbackUrl = stopped.url.href;
    expect(stopped.url.searchParams.get('code')).toBeTruthy();

    const victim = await browser.newContext();
    const victimPage = await victim.newPage();
    const response = await victimPage.goto(callbackUrl);
    expect(response?.status()).toBe(401);
    expect(((await response!.json()) as { detail: string }).detail).toContain('not started in this browser');
    expect((await victim.cookies(api)).map((cookie) => cookie.name)).not.toContain('los_session');
    expect(await sessionFromPage(victimPage)).toEqual({ person: null });
    await victim.close();
  });

  it('ends the session at logout with the CSRF token from the session endpoint, and refuses a logout without it', async () => {
    const { context, page } = await annaSignedIn();
    const outcome = await page.evaluate(async () => {
      const session = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
      const withoutToken = await fetch('/auth/logout', { method: 'POST' });
      const stillSignedIn = (await (await fetch('/auth/session')).json()) as { person: unknown };
      const logout = await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': session.csrfToken } });
      const after = (await (await fetch('/auth/session')).json()) as { person: unknown };
      const operations = await fetch('/v1/operations');
      return {
        withoutToken: { status: withoutToken.status, type: ((await withoutToken.json()) as { type: string }).type },
        stillSignedIn: stillSignedIn.person !== null,
        logout: logout.status,
        after: after.person,
        operations: operations.status,
      };
    });
    expect(outcome).toEqual({
      withoutToken: { status: 403, type: 'urn:los:problem:csrf-token' },
      stillSignedIn: true,
      logout: 204,
      after: null,
      operations: 401,
    });
    expect((await context.cookies(api)).map((cookie) => cookie.name)).not.toContain('los_session');
    await context.close();
  });
});

describe('the provider’s pages for everyone (axe-core)', () => {
  /** axe is injected as a script: the provider's pages forbid scripts (CSP), so these contexts bypass it. */
  const axeContext = () => browser.newContext({ bypassCSP: true });

  it('finds the violations of a page that has them (the checks below can fail)', async () => {
    const context = await axeContext();
    const page = await context.newPage();
    await page.setContent('<!DOCTYPE html><html><head><title>Utan etiketter</title></head><body><main><input type="text"></main></body></html>');
    expect((await axeViolations(page)).map((violation) => violation.id)).toEqual(expect.arrayContaining(['html-has-lang', 'label']));
    await context.close();
  });

  it('finds no accessibility violations on the sign-in page', async () => {
    const context = await axeContext();
    const page = await context.newPage();
    await openSignIn(page);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('finds no accessibility violations on the page that refuses a wrong password', async () => {
    const context = await axeContext();
    const page = await context.newPage();
    await openSignIn(page);
    await submitSignIn(page, 'anna', 'not-the-password');
    await page.getByRole('alert').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('finds no accessibility violations on the page of a sign-in that has expired', async () => {
    const context = await axeContext();
    const page = await context.newPage();
    const response = await page.goto(`${idp.issuer}/interaction/no-such-sign-in`);
    expect(response?.status()).toBe(400);
    await page.getByRole('heading', { name: 'Inloggningen har gått ut' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('finds no accessibility violations on the device flow’s pages (the code, the confirmation, the last one), and the device gets its tokens', async () => {
    const context = await axeContext();
    const page = await context.newPage();
    const authorization = await fetch(`${idp.issuer}/device/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'los-cli', scope: 'openid offline_access los' }),
    });
    expect(authorization.status).toBe(200);
    const {
      user_code: userCode,
      device_code: deviceCode,
      verification_uri: verificationUri,
    } = (await authorization.json()) as { user_code: string; device_code: string; verification_uri: string };

    await page.goto(verificationUri);
    await page.getByRole('heading', { name: 'Koppla en enhet' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Kod').fill(userCode);
    await page.getByRole('button', { name: 'Fortsätt' }).click();
    // The code is shown again to check against the terminal's, before the person signs in.
    await page.getByRole('heading', { name: 'Bekräfta enheten' }).waitFor();
    await expect(page.locator('code').innerText()).resolves.toBe(userCode);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Ja, fortsätt' }).click();
    await page.getByRole('heading', { name: 'Logga in' }).waitFor();
    await submitSignIn(page, 'anna', PASSWORD);
    await page.getByRole('heading', { name: 'Klart' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);

    // Approved in the browser, the device's next poll gets its tokens.
    const polled = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: 'los-cli' }),
    });
    expect(polled.status).toBe(200);
    expect(((await polled.json()) as { access_token?: string }).access_token).toMatch(JWT);
    await context.close();
  });
});
