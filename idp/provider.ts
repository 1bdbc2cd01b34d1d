import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, type Account, type ClientMetadata, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { Logger } from 'pino';
import { handleInteraction } from './interactions.js';
import { SIGNING_ALG, type ProviderSecrets } from './keys.js';
import { clientSecretEnvName, type LosClaims, type Realm, type RealmClient } from './realm.js';
import { deviceConfirmPage, deviceInputPage, deviceSuccessPage, errorPage } from './views/pages.js';

/**
 * The embedded OpenID Connect provider (oidc-provider): people from the realm sign in with its own form, the
 * engine's API gets JWT access tokens for its audience carrying the person's role and municipality, `los` signs
 * in with the device flow, and a case system acts as itself with client credentials.
 */

export interface IdentityProviderOptions {
  issuer: string;
  realm: Realm;
  /** The API's resource indicator: the `aud` of every access token unless a client asks for Temporal's. */
  audience: string;
  /**
   * The Temporal server's resource indicator (its `global.authorization.audience`): a token asked for it carries the
   * person's or the machine client's Temporal `permissions` and nothing else of the realm. None: no tokens for Temporal.
   */
  temporalAudience?: string;
  /** The API's public URLs; each gives a redirect URI `<url>/auth/callback` to every web client. */
  apiUrls: string[];
  /** The Temporal Web UI's public URLs; each gives a redirect URI `<url>/auth/sso/callback` to every temporal-ui client. */
  temporalUiUrls?: string[];
  secrets: ProviderSecrets;
  logger: Logger;
  /** Trust X-Forwarded-* (behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface IdentityProvider {
  provider: Provider;
  /** The whole HTTP surface: the provider's endpoints and its own sign-in pages. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** What the process prints, followed by the issuer, once it listens. */
export const READY_LINE = 'identity provider ready at';

/** Access tokens live ten minutes unless the realm says otherwise for a client. */
export const DEFAULT_ACCESS_TOKEN_TTL = 10 * 60;

/** The claim the Temporal server's default JWT claim mapper reads (`permissionsClaimName`, its default). */
export const TEMPORAL_PERMISSIONS_CLAIM = 'permissions';

/** The claims the scopes release in the ID token and at userinfo; the access token always carries them. */
const CLAIMS = { openid: ['sub'], profile: ['name'], los: ['los_role', 'los_municipality'] };

const DEVICE_ERRORS: Record<string, string> = {
  NoCodeError: 'Skriv koden som visas i terminalen.',
  NotFoundError: 'Koden finns inte. Kontrollera den och försök igen.',
  ExpiredError: 'Koden har gått ut. Starta inloggningen igen i terminalen.',
  AlreadyUsedError: 'Koden är redan använd. Starta inloggningen igen i terminalen.',
  AbortedError: 'Inloggningen avbröts.',
};

/** Where the Temporal UI server takes the provider's answer (its route `/auth/sso/callback`), on the UI's origin. */
export const TEMPORAL_UI_CALLBACK_PATH = '/auth/sso/callback';

function clientMetadata(client: RealmClient, apiUrls: string[], temporalUiUrls: string[], env: NodeJS.ProcessEnv): ClientMetadata {
  const base = { client_id: client.client_id, client_name: client.client_name ?? client.client_id };
  const secret = () => env[clientSecretEnvName(client.client_id)] || (client as { client_secret: string }).client_secret;
  // A confidential client of the code flow, sent back to `<origin><callbackPath>` for each origin and its own URIs.
  const codeFlow = (urls: string[], callbackPath: string, redirectUris: string[]) => {
    const origins = urls.map((url) => url.replace(/\/+$/, ''));
    const metadata: ClientMetadata = {
      ...base,
      client_secret: secret(),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [...origins.map((origin) => `${origin}${callbackPath}`), ...redirectUris],
    };
    return { origins, metadata };
  };
  switch (client.kind) {
    case 'web': {
      const { origins, metadata } = codeFlow(apiUrls, '/auth/callback', client.redirect_uris);
      return { ...metadata, post_logout_redirect_uris: origins.map((origin) => `${origin}/`) };
    }
    case 'temporal-ui':
      return codeFlow(temporalUiUrls, TEMPORAL_UI_CALLBACK_PATH, client.redirect_uris).metadata;
    case 'device':
      return {
        ...base,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      };
    case 'machine':
      return {
        ...base,
        client_secret: secret(),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      };
  }
}

function htmlBody(ctx: KoaContextWithOIDC, html: string, status?: number): void {
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  if (status) ctx.status = status;
  ctx.body = html;
}

/** The client a request names: authenticated, in the parameters, or in its Basic credentials (even when they fail). */
function requestingClient(ctx: KoaContextWithOIDC): string | undefined {
  const named = ctx.oidc?.client?.clientId ?? ctx.oidc?.params?.client_id;
  if (typeof named === 'string') return named;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(ctx.get('authorization'));
  if (!basic) return undefined;
  const id = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0] ?? '';
  try {
    return decodeURIComponent(id.replace(/\+/g, ' ')) || undefined;
  } catch {
    return undefined;
  }
}

/** The provider's xsrf token, out of the form it builds (its own pages replace that form with a labelled one). */
function xsrfFrom(form: string): string {
  return /name="xsrf" value="([^"]*)"/.exec(form)?.[1] ?? '';
}

export function createIdentityProvider(options: IdentityProviderOptions): IdentityProvider {
  const { realm, audience, temporalAudience, logger } = options;
  const env = options.env ?? process.env;
  const peopleBySub = new Map(realm.people.map((person) => [person.sub, person]));
  const clientsById = new Map(realm.clients.map((client) => [client.client_id, client]));
  const ttlFor = (clientId: string | undefined) => (clientId ? clientsById.get(clientId)?.access_token_ttl : undefined) ?? DEFAULT_ACCESS_TOKEN_TTL;
  const personClaims = (sub: string): LosClaims | undefined => {
    const person = peopleBySub.get(sub);
    if (!person) return undefined;
    return { name: person.name, los_role: person.los_role, ...(person.los_municipality ? { los_municipality: person.los_municipality } : {}) };
  };
  const isTemporalUi = (clientId: string | undefined) => (clientId ? clientsById.get(clientId)?.kind === 'temporal-ui' : false);
  /** The Temporal UI and the `los` command line: a person's tools for Temporal, which pass the token on to the codec server. */
  const isTemporalTool = (clientId: string | undefined) => {
    const kind = clientId ? clientsById.get(clientId)?.kind : undefined;
    return kind === 'temporal-ui' || kind === 'device';
  };
  // Who may do what on Temporal; a token for Temporal's audience carries this and no role, municipality or name,
  // except one a person's Temporal tool (the UI, `los token --for temporal`) asked for: the tool passes it on to the
  // codec server, which reads the role.
  const temporalPermissions = (token: { kind: string; clientId?: string | undefined; accountId?: string | undefined }): string[] => {
    const client = token.clientId ? clientsById.get(token.clientId) : undefined;
    if (token.kind === 'ClientCredentials') return client?.kind === 'machine' ? (client.temporal_permissions ?? []) : [];
    const person = token.accountId ? peopleBySub.get(token.accountId) : undefined;
    if (!person) return [];
    const throughTool = client?.kind === 'temporal-ui' || client?.kind === 'device' ? (client.role_permissions[person.los_role] ?? []) : [];
    return [...new Set([...(person.temporal_permissions ?? []), ...throughTool])];
  };

  const configuration: Configuration = {
    clients: realm.clients.map((client) => clientMetadata(client, options.apiUrls, options.temporalUiUrls ?? [], env)),
    clientDefaults: { id_token_signed_response_alg: SIGNING_ALG },
    jwks: options.secrets.jwks as Configuration['jwks'],
    cookies: { keys: options.secrets.cookieKeys },
    scopes: ['openid', 'offline_access', 'profile', 'los', 'temporal'],
    claims: CLAIMS,
    async findAccount(_ctx, sub): Promise<Account | undefined> {
      const claims = personClaims(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...claims }) };
    },
    // The engine reads the role and municipality from the access token itself, not from userinfo.
    async extraTokenClaims(_ctx, token) {
      if (temporalAudience && token.resourceServer?.audience === temporalAudience) {
        const permissions = { [TEMPORAL_PERMISSIONS_CLAIM]: temporalPermissions(token as Parameters<typeof temporalPermissions>[0]) };
        const accountId = 'accountId' in token ? token.accountId : undefined;
        const person = isTemporalTool(token.clientId) && accountId ? personClaims(accountId) : undefined;
        return person ? { ...person, ...permissions } : permissions;
      }
      if (token.kind === 'ClientCredentials') {
        const client = token.clientId ? clientsById.get(token.clientId) : undefined;
        return client?.kind === 'machine' && client.claims ? { ...client.claims } : undefined;
      }
      return token.accountId ? personClaims(token.accountId) : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource(ctx, form, _out, err) {
          const error = err ? (DEVICE_ERRORS[err.name] ?? 'Något gick fel. Försök igen.') : undefined;
          htmlBody(ctx, deviceInputPage({ action: ctx.oidc.urlFor('code_verification'), xsrf: xsrfFrom(form), ...(error ? { error } : {}) }));
        },
        userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
          htmlBody(
            ctx,
            deviceConfirmPage({
              action: ctx.oidc.urlFor('code_verification'),
              xsrf: xsrfFrom(form),
              userCode,
              clientName: client.clientName ?? client.clientId,
            }),
          );
        },
        successSource(ctx) {
          htmlBody(ctx, deviceSuccessPage(ctx.oidc.client?.clientName ?? 'terminalen'));
        },
      },
      resourceIndicators: {
        enabled: true,
        // One API: every token is for it, whether or not the client names it; the Temporal UI's are for Temporal.
        defaultResource: (_ctx, client) => (isTemporalUi(client?.clientId) && temporalAudience ? temporalAudience : audience),
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, resource, client): ResourceServer {
          if (isTemporalUi(client.clientId) && (!temporalAudience || resource !== temporalAudience))
            throw new errors.InvalidTarget(
              temporalAudience
                ? `client "${client.clientId}" (the Temporal UI) gets tokens for ${temporalAudience} only, not "${resource}"`
                : `client "${client.clientId}" (the Temporal UI) needs the provider started with --temporal-audience`,
            );
          if (temporalAudience && resource === temporalAudience) {
            // A machine client without Temporal permissions is refused here, not handed an empty token.
            const entry = clientsById.get(client.clientId);
            if (entry?.kind === 'machine' && !entry.temporal_permissions)
              throw new errors.InvalidTarget(`client "${client.clientId}" has no Temporal permissions in the realm`);
            return {
              scope: 'temporal',
              audience: temporalAudience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: ttlFor(client.clientId),
              jwt: { sign: { alg: SIGNING_ALG } },
            };
          }
          if (resource === audience) {
            const entry = clientsById.get(client.clientId);
            if (entry?.kind === 'machine' && !entry.claims)
              throw new errors.InvalidTarget(`client "${client.clientId}" has no claims for the API in the realm`);
          }
          if (resource !== audience)
            throw new errors.InvalidTarget(
              `unknown resource "${resource}": this provider issues tokens for ${[audience, temporalAudience].filter(Boolean).join(' and ')} only`,
            );
          return { scope: 'los', audience, accessTokenFormat: 'jwt', accessTokenTTL: ttlFor(client.clientId), jwt: { sign: { alg: SIGNING_ALG } } };
        },
      },
    },
    ttl: {
      AccessToken: (_ctx, _token, client) => ttlFor(client.clientId),
      ClientCredentials: (_ctx, _token, client) => ttlFor(client.clientId),
    },
    // The Temporal UI server (v2.55) sends no PKCE: a confidential client, it has its secret, state and nonce instead.
    pkce: { required: (_ctx, client) => !isTemporalUi(client.clientId) },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // The realm's clients are the engine's own: no browser calls this provider cross-origin.
    clientBasedCORS: () => false,
    responseTypes: ['code'],
    // The refusal is logged by its event (below); this only shows it to the person.
    async renderError(ctx, out, error) {
      htmlBody(
        ctx,
        errorPage('Inloggningen gick inte', `${out.error_description ?? out.error}`),
        'status' in error && typeof error.status === 'number' ? error.status : 400,
      );
    },
  };

  const provider = new Provider(options.issuer, configuration);
  provider.proxy = options.trustProxy ?? false;

  // Every refusal is logged: which client, what it tried, why. Never a token, a code, a secret or a password.
  const refusals = {
    'grant.error': 'token request refused',
    'authorization.error': 'authorization request refused',
    'device_authorization.error': 'device authorization refused',
    'code_verification.error': 'device code refused',
    'device_resume.error': 'device sign-in refused',
    'userinfo.error': 'userinfo request refused',
    'revocation.error': 'revocation refused',
    'end_session.error': 'sign-out refused',
  } as const;
  for (const [event, message] of Object.entries(refusals)) {
    provider.on(event as 'grant.error', (ctx: KoaContextWithOIDC, err: errors.OIDCProviderError) => {
      if (err.statusCode >= 500) return;
      logger.warn(
        { event: message, clientId: requestingClient(ctx), grantType: ctx.oidc?.params?.grant_type, error: err.message, reason: err.error_description },
        message,
      );
    });
  }
  provider.on('server_error', (_ctx, err) => logger.error({ err }, 'identity provider failed a request'));
  provider.on('grant.success', (ctx) =>
    logger.info({ event: 'token issued', clientId: ctx.oidc.client?.clientId, grantType: ctx.oidc.params?.grant_type }, 'token issued'),
  );

  const callback = provider.callback();
  const interactions = handleInteraction({ provider, realm, logger });
  return {
    provider,
    handle(req, res) {
      if (req.url?.startsWith('/interaction/')) {
        interactions(req, res).catch((err: unknown) => {
          logger.error({ err }, 'sign-in page failed');
          if (!res.headersSent) {
            res.writeHead(500, { 'Content-Type': 'text/html; charset=utf-8' });
            res.end(errorPage('Något gick fel', 'Inloggningen kunde inte slutföras. Börja om från början.'));
          } else res.end();
        });
        return;
      }
      void callback(req, res);
    },
  };
}
