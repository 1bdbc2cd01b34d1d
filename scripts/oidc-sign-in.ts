import * as client from 'openid-client';

/**
 * Signing in at the embedded identity provider the way a browser would, over plain HTTP and without one: a cookie
 * jar, redirects followed by hand, and the provider's forms (sign-in, device code, consent) filled in. The tests of
 * the provider, the API and the CLI use these, and the demo signs its coordinator in with them; openid-client does
 * the protocol (discovery, PKCE, device flow).
 */

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires?: number;
}

/** Cookies by host and path, as a browser keeps them (a browser does not separate ports: nor does this). */
export class CookieJar {
  private readonly cookies: StoredCookie[] = [];

  store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair!.indexOf('=');
      const cookie: StoredCookie = { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), host: url.hostname, path: '/' };
      for (const attribute of attributes) {
        const [key, value = ''] = attribute.split('=');
        const name = key!.toLowerCase();
        if (name === 'path') cookie.path = value || '/';
        else if (name === 'expires') cookie.expires = Date.parse(value);
        else if (name === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
      }
      const index = this.cookies.findIndex((other) => other.name === cookie.name && other.host === cookie.host && other.path === cookie.path);
      if (index >= 0) this.cookies.splice(index, 1);
      if (cookie.expires === undefined || cookie.expires > Date.now()) this.cookies.push(cookie);
    }
  }

  header(url: URL): string {
    const now = Date.now();
    return this.cookies
      .filter((cookie) => cookie.host === url.hostname && (cookie.expires === undefined || cookie.expires > now))
      .filter((cookie) => url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  get(name: string, host = '127.0.0.1'): string | undefined {
    return this.cookies.find((cookie) => cookie.name === name && cookie.host === host)?.value;
  }
}

/** The sign-in form came back: wrong username or password (the provider's message is in `message`). */
export class SignInRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`sign-in refused (HTTP ${status}): ${message}`);
    this.name = 'SignInRefused';
  }
}

export interface Page {
  url: URL;
  status: number;
  body: string;
  headers: Headers;
}

export interface BrowseOptions {
  jar?: CookieJar;
  /** Stop before following a redirect to a URL that starts with this (e.g. a redirect URI nobody listens on). */
  stopAt?: string;
}

export interface SignInResult {
  /** The page the sign-in ended on, or with `stopAt` the URL it was about to go to (`status` 0, no body). */
  page: Page;
  jar: CookieJar;
}

const MAX_STEPS = 30;

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return match ? decodeEntities(match[1]!) : undefined;
}

interface Form {
  action: URL;
  fields: URLSearchParams;
  hasPassword: boolean;
}

/** The page's first form: where it posts and the values it would send (its text fields left for the caller). */
function firstForm(page: Page): Form | undefined {
  const match = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
  if (!match) return undefined;
  const formTag = /<form\b[^>]*>/i.exec(match[0])![0];
  const fields = new URLSearchParams();
  let hasPassword = false;
  for (const [input] of match[1]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = attribute(input, 'name');
    const type = attribute(input, 'type')?.toLowerCase() ?? 'text';
    if (type === 'password') hasPassword = true;
    if (name && type === 'hidden') fields.append(name, attribute(input, 'value') ?? '');
  }
  return { action: new URL(attribute(formTag, 'action') ?? page.url.href, page.url), fields, hasPassword };
}

function alertText(body: string): string {
  const match = /role="alert"[^>]*>([\s\S]*?)</.exec(body);
  return match
    ? decodeEntities(match[1]!.trim())
    : body
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
}

/** One request and its redirects, cookies kept; stops before `stopAt`. */
async function go(jar: CookieJar, start: URL, init: { method: string; body?: URLSearchParams }, stopAt: string | undefined): Promise<Page> {
  let url = start;
  let method = init.method;
  let body = init.body;
  for (let step = 0; step < MAX_STEPS; step++) {
    const headers = new Headers({ accept: 'text/html' });
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    if (body) headers.set('content-type', 'application/x-www-form-urlencoded');
    const response = await fetch(url, { method, headers, redirect: 'manual', ...(body ? { body: body.toString() } : {}) });
    jar.store(url, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (stopAt && next.href.startsWith(stopAt)) return { url: next, status: 0, body: '', headers: new Headers() };
      url = next;
      // A 307/308 repeats the method; 301/302/303 become a GET, as browsers do.
      if (response.status !== 307 && response.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    return { url, status: response.status, body: await response.text(), headers: response.headers };
  }
  throw new Error(`more than ${MAX_STEPS} redirects from ${start.href}`);
}

/** The provider's own pages: the interaction (sign-in, consent) and the device flow's pages. */
const isProviderPage = (url: URL) => url.pathname.startsWith('/interaction/') || url.pathname.startsWith('/device');

/**
 * Opens `url` and goes through the provider's pages as a person would: signs in with the username and password,
 * submits the forms that only need a click (the device code, "yes, continue"), and follows every redirect.
 */
async function signIn(url: string | URL, username: string, password: string, options: BrowseOptions): Promise<SignInResult> {
  const jar = options.jar ?? new CookieJar();
  let page = await go(jar, new URL(url), { method: 'GET' }, options.stopAt);
  let signedIn = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    if (page.status === 0) return { page, jar };
    if (page.status >= 400) {
      if (signedIn && page.status === 401) throw new SignInRefused(page.status, alertText(page.body));
      throw new Error(`sign-in failed at ${page.url.pathname} with HTTP ${page.status}: ${alertText(page.body)}`);
    }
    const form = isProviderPage(page.url) ? firstForm(page) : undefined;
    if (!form) return { page, jar };
    if (form.hasPassword) {
      if (signedIn) throw new SignInRefused(page.status, alertText(page.body));
      form.fields.set('username', username);
      form.fields.set('password', password);
      signedIn = true;
    }
    page = await go(jar, form.action, { method: 'POST', body: form.fields }, options.stopAt);
  }
  throw new Error(`sign-in did not finish within ${MAX_STEPS} pages`);
}

/**
 * The authorization code flow as a person in a browser: opens `url` (the provider's authorization URL, or a
 * client's login route that redirects there), signs in, and follows the redirects back. Throws `SignInRefused`
 * for a wrong username or password.
 */
export function passwordLogin(url: string | URL, username: string, password: string, options: BrowseOptions = {}): Promise<SignInResult> {
  return signIn(url, username, password, options);
}

/**
 * The device flow's other half: the person opens `verification_uri_complete`, confirms the code and signs in.
 * After this the device's polling gets its tokens.
 */
export async function approveDevice(verificationUriComplete: string, username: string, password: string, options: BrowseOptions = {}): Promise<SignInResult> {
  const result = await signIn(verificationUriComplete, username, password, options);
  if (result.page.status !== 200 || !result.page.url.pathname.startsWith('/device')) {
    throw new Error(`the device was not approved: ended at ${result.page.url.href} (HTTP ${result.page.status}): ${alertText(result.page.body)}`);
  }
  return result;
}

/** openid-client's configuration for a client of `issuer` (plain http allowed: the tests run on loopback). */
export async function discoverIssuer(issuer: string, clientId: string, clientSecret?: string): Promise<client.Configuration> {
  const url = new URL(issuer);
  const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
  return client.discovery(url, clientId, clientSecret ? { client_secret: clientSecret } : undefined, auth, {
    ...(url.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
  });
}

/** A machine client's access token for `audience` (the client credentials grant). */
export async function clientCredentialsToken(issuer: string, clientId: string, clientSecret: string, audience: string): Promise<client.TokenEndpointResponse> {
  const config = await discoverIssuer(issuer, clientId, clientSecret);
  return client.clientCredentialsGrant(config, { resource: audience });
}

export interface CodeFlowTokens {
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  jar: CookieJar;
  /** openid-client's configuration for the client, e.g. to refresh. */
  config: client.Configuration;
}

/**
 * The whole authorization code flow with PKCE for a web client whose redirect URI nobody listens on: builds the
 * authorization URL, signs the person in, and exchanges the code. Without `audience` the provider's default resource applies.
 */
export async function codeFlowTokens(
  issuer: string,
  {
    clientId,
    clientSecret,
    redirectUri,
    audience,
    scope = 'openid profile los',
  }: { clientId: string; clientSecret: string; redirectUri: string; audience?: string; scope?: string },
  username: string,
  password: string,
): Promise<CodeFlowTokens> {
  const config = await discoverIssuer(issuer, clientId, clientSecret);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    ...(audience ? { resource: audience } : {}),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const { page, jar } = await passwordLogin(url, username, password, { stopAt: redirectUri });
  if (page.status !== 0) throw new Error(`the sign-in did not come back to ${redirectUri}: ended at ${page.url.href} (HTTP ${page.status})`);
  const tokens = await client.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce });
  return { tokens, jar, config };
}
