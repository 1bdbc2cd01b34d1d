import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fastifyCookie } from '@fastify/cookie';
import type { Payload } from '@temporalio/common';
import type { Logger } from 'pino';
import { ProblemError, SESSION_COOKIE, identify, type Identity, type Person } from '../api/index.js';
import { AccessDenied, fingerprint, readAs, ENCODING_ENCRYPTED, LosPayloadCodec } from '../vault/index.js';
import type { AuditLog, KeyStore } from '../vault/index.js';

/**
 * The codec server the Temporal UI (`--ui-codec-endpoint`) and CLI (`temporal --codec-endpoint`) call:
 * POST /encode and /decode with `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`. It lets in whom
 * the API lets in, checked the API's way (api/auth.ts `identify`): a bearer access token from the organisation's
 * OpenID Connect provider for the API's audience (`temporal --codec-auth "Bearer $(los token)"`), or in a browser
 * the API's own session cookie (same host, so the UI's codec calls carry it with "include cross-origin
 * credentials" on). The Temporal UI server signing people in itself (OIDC, `codec.passAccessToken`) sends its own
 * access token for Temporal's audience, which carries the person's role and municipality; the UI passes a token
 * only to an https endpoint, hence `tls`; on the cluster `los token --for temporal` gives a person such a token for the
 * Temporal CLI. Who is asking is checked before the body is read. Decoding follows `readAs` (vault/access.ts), and
 * what it refuses is answered as stored (still encrypted); every attempt is in the access log and every refusal in
 * the log. CORS answers only the UI's own origin.
 */

export interface CodecServerOptions {
  keys: KeyStore;
  audit: AuditLog;
  /** The API's identity check: the provider's tokens, the API's session store and its cookie secret. */
  identity: Identity;
  /** Each refusal gets a line (who, what, why; nothing personal). @default no log lines */
  logger?: Logger;
  /** The Temporal UI's origin, e.g. http://127.0.0.1:8233; no other origin gets CORS headers. */
  uiOrigin?: string;
  host?: string;
  /** Serve https with this certificate and key (PEM files): the Temporal UI passes its access token to https only. */
  tls?: { certFile: string; keyFile: string };
  /** 0 picks a free port. */
  port?: number;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

const encodingOf = (p: Payload) => (p.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString('utf8') : '');

/** Where a request came from and what it asked, for the access log: never a header's value, never the token. */
function originOf(req: IncomingMessage): { address?: string; asked: string } {
  const address = req.socket.remoteAddress;
  return { ...(address !== undefined ? { address } : {}), asked: `${req.method} ${req.url?.split('?')[0] ?? ''}`.slice(0, 300) };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<{ payloads: JsonPayload[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: unknown };
    // The Temporal CLI sends protobuf's JSON, which leaves an empty list out: `{}` is no payloads, not a mistake.
    if (body.payloads === undefined || body.payloads === null) return { payloads: [] };
    if (!Array.isArray(body.payloads)) throw new Error('payloads must be an array');
    return { payloads: body.payloads as JsonPayload[] };
  } catch (err) {
    throw new HttpError(400, `body rejected: ${(err as Error).message}`);
  }
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const codec = new LosPayloadCodec(options.keys);

  const refused = (who: Pick<Person, 'sub' | 'role'> | undefined, what: string, why: string, status: number, req: IncomingMessage) =>
    options.logger?.warn({ who: who?.sub ?? 'unauthenticated', role: who?.role ?? 'none', what, why, status, address: req.socket.remoteAddress }, 'refused');

  /**
   * Who is asking, before the body is read: a request without a valid token or session is refused at once (401), or
   * with a token that gives no role the engine knows (403), whatever its body. The refusal names no operation (nothing
   * was read), so it goes on the security log, with the caller's address and what was asked; never the token.
   */
  const authenticate = async (req: IncomingMessage): Promise<Person> => {
    try {
      // The session cookie is the API's (set at its /auth/login); the browser sends it here too, the host being the same.
      const cookie = req.headers.cookie === undefined ? undefined : fastifyCookie.parse(req.headers.cookie)[SESSION_COOKIE];
      return (await identify({ authorization: req.headers.authorization, sessionCookie: cookie }, options.identity)).person;
    } catch (err) {
      if (!(err instanceof ProblemError) || (err.status !== 401 && err.status !== 403)) throw err;
      await options.audit.record({
        at: new Date().toISOString(),
        who: 'unauthenticated',
        role: 'none',
        action: req.url?.split('?')[0] === '/encode' ? 'encode' : 'decode',
        payloads: [],
        allowed: false,
        detail: `refused: ${err.message}`,
        ...originOf(req),
      });
      throw err;
    }
  };

  /**
   * The payloads as `reader` may read them. What `readAs` refuses them (an operator, an auditor, another municipality's
   * coordinator) is answered as stored, still encrypted, with the refusal on the access log and in the log: the Temporal
   * UI and CLI then show the workflow with its payloads sealed, as without a codec server (the CLI retries a refused
   * history page until its deadline, so a 403 would leave an operator's `temporal workflow show` with nothing).
   */
  const decode = async (req: IncomingMessage, reader: Person, body: JsonPayload[]): Promise<{ payloads: JsonPayload[]; leftSealed?: string }> => {
    const raw = body.map(fromJson);
    const fingerprints = body.map((p, index) => ({ index, sha256: fingerprint(p.data ?? '') }));
    const anyEncrypted = raw.some((p) => encodingOf(p) === ENCODING_ENCRYPTED);
    const decoded = await codec.decode(raw);
    const values = decoded.map((p) =>
      encodingOf(p) === 'json/plain' ? (JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as unknown) : undefined,
    );
    const sealedInside = values.some((v) => v !== undefined && JSON.stringify(v).includes('"sealed":"los.v1"'));
    if (!anyEncrypted && !sealedInside && !values.some((v) => typeof v === 'string' && v.includes('⟦'))) {
      // Readable as stored (the summary and details): nothing personal, so anyone signed in sees it; still logged.
      await options.audit.record({
        at: new Date().toISOString(),
        who: reader.sub,
        role: reader.role,
        action: 'decode',
        payloads: fingerprints,
        allowed: true,
        detail: 'readable as stored',
        ...originOf(req),
      });
      return { payloads: body };
    }
    let read: unknown[];
    try {
      read = await readAs(options.keys, options.audit, { reader, action: 'decode', values, payloads: fingerprints, origin: originOf(req) });
    } catch (err) {
      // readAs has put the refusal on the access log.
      if (err instanceof AccessDenied) return { payloads: body, leftSealed: err.message };
      throw err;
    }
    return {
      payloads: decoded.map((p, i) =>
        values[i] === undefined
          ? toJson(p)
          : toJson({ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(JSON.stringify(read[i])) }),
      ),
    };
  };

  const cors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (!origin) return true; // not a browser: the CLI, curl
    if (!options.uiOrigin || origin !== options.uiOrigin) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type, Authorization, X-Namespace');
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    // The UI adds a query (`/decode?preserveStorageRefs=true`); the path alone says what is asked.
    const path = req.url?.split('?')[0] ?? '';
    const what = `${req.method} ${path}`;
    let reader: Person | undefined;
    void (async () => {
      try {
        if (!cors(req, res)) throw new HttpError(403, `origin ${req.headers.origin} is not the Temporal UI's`);
        if (req.method === 'OPTIONS') return void res.writeHead(204).end();
        if (req.method !== 'POST' || (path !== '/encode' && path !== '/decode')) throw new HttpError(404, 'POST /encode or /decode');
        reader = await authenticate(req);
        const { payloads } = await readBody(req);
        if (path === '/encode') {
          // Encoding reveals nothing, but only a coordinator sends decisions. Nothing to encode is no input: the Temporal
          // CLI's query and metadata ask for that, for anyone who may read.
          if (reader.role !== 'coordinator' && payloads.length > 0) throw new HttpError(403, `${reader.role} may not send input to operations`);
          return send(200, { payloads: (await codec.encode(payloads.map(fromJson))).map(toJson) });
        }
        const { payloads: answer, leftSealed } = await decode(req, reader, payloads);
        if (leftSealed !== undefined) {
          refused(reader, what, leftSealed, 200, req);
          // Says why, for whoever looks: the answer is the payloads as the history holds them.
          res.setHeader('X-LOS-Left-Sealed', encodeURIComponent(leftSealed));
        }
        return send(200, { payloads: answer });
      } catch (err) {
        const [status, message] =
          err instanceof AccessDenied
            ? [403, err.message]
            : err instanceof ProblemError
              ? [err.status, err.message]
              : err instanceof HttpError
                ? [err.status, err.message]
                : [500, 'codec server error'];
        if (status === 401 || status === 403) refused(reader, what, message, status, req);
        // A refusal not on the access log yet (the origin, a non-coordinator's encode) goes on the security log.
        if (err instanceof HttpError && err.status === 403)
          await options.audit
            .record({
              at: new Date().toISOString(),
              who: reader?.sub ?? 'unauthenticated',
              role: reader?.role ?? 'none',
              action: path === '/encode' ? 'encode' : 'decode',
              payloads: [],
              allowed: false,
              detail: `refused: ${message}`,
              ...originOf(req),
            })
            .catch(() => options.logger?.error({ what }, 'refusal not recorded on the access log'));
        else if (status === 500) options.logger?.error({ err: { name: (err as Error).name }, what }, 'codec request failed');
        send(status, { message });
      }
    })();
  };
  const server: Server = options.tls
    ? createTlsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, handle)
    : createServer(handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections (the UI, fetch) would hold the close open.
        server.closeAllConnections();
      }),
  };
}
