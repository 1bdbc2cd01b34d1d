import pino from 'pino';
import { buildApi } from './server.js';

/**
 * The API's OpenAPI document, as `GET /v1/openapi.json` serves it: generated from the routes' zod schemas. Built
 * without the engine (the document does not depend on it); `npm run contract` writes it to openapi.json.
 */
export async function openApiDocument(): Promise<unknown> {
  const app = await buildApi({
    publicUrl: 'http://127.0.0.1:4300',
    issuer: 'http://127.0.0.1:4400',
    audience: 'http://127.0.0.1:4300/v1',
    cliClientId: 'los-cli',
    cookieSecret: 'contract-generation-only-never-serves-a-session',
    sessionTtlMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
  await app.ready();
  const document = app.swagger();
  await app.close();
  return document;
}
