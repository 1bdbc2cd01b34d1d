import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, startTemporalDevServer, type TemporalDevServer } from '../scripts/dev-stack.js';
import { startEmbeddedEngine, type EmbeddedEngine } from '../scripts/embedded-engine.js';
import { DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { generateMasterKey, readMasterKeyring } from '../vault/index.js';
import { launchChromium } from './browser.js';
import { sampleTip, untilState } from './engine.js';

/**
 * The Temporal Web UI as people use it, in headless Chromium: an operator sees the phase and the summary but
 * no personal data; a coordinator of the municipality, signed in at the API (the code flow at the identity
 * provider), sees the tip: the UI's codec calls carry the API's session cookie to the codec server on the same host.
 */
const NAME = 'MARK-UI-NAME AB';
const PASSWORD = DEMO_PASSWORD;
let temporal: TemporalDevServer;
let idp: IdentityProvider;
let engine: EmbeddedEngine;
let codecUrl: string;
let api: string;
let browser: Browser;
let operationId: string;
let ui: string;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already in this process
  }
  const scratch = mkdtempSync(join(inject('scratchDir'), 'ui-'));
  const codecPort = await freePort();
  const apiPort = await freePort();
  codecUrl = `http://127.0.0.1:${codecPort}`;
  api = `http://127.0.0.1:${apiPort}`;
  // A dev server of its own: the shared one runs headless.
  temporal = await startTemporalDevServer({
    dbFile: join(scratch, 'temporal.db'),
    uiPort: await freePort(),
    logFile: join(scratch, 'temporal.log'),
    uiCodecEndpoint: codecUrl,
  });
  ui = temporal.uiUrl!.replace('localhost', '127.0.0.1');
  idp = await startIdentityProvider({ scratchDir: join(scratch, 'idp'), audience: `${api}/v1`, apiUrls: [api] });
  engine = await startEmbeddedEngine({
    temporalAddress: temporal.address,
    scratchDir: scratch,
    taskQueue: 'los-test-ui',
    workflowBundle: { codePath: inject('workflowBundlePath') },
    keyring: readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() }),
    api: { port: apiPort, issuer: idp.issuer, clientSecret: 'demo-secret-los-api', sessionSecret: 'the session secret of the ui test, 32+ characters' },
    codec: { port: codecPort, uiOrigin: new URL(ui).origin },
  });
  const registration = await engine.register(
    sampleTip({ entity: { orgNumber: '556703-7485', name: NAME, address: 'Storgatan 1, Umeå', municipality: 'Umeå' } }),
  );
  operationId = registration.operationId;
  await untilState(registration.handle, (s) => s.phase === 'assessment');
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  await idp?.stop();
  await temporal?.stop();
});

/** Opens the operation's page with the UI's codec settings (local storage), signed in at the API first as `username` if given. */
async function operationPage(
  settings: { endpoint: string | null; includeCredentials: boolean },
  username?: string,
): Promise<{ page: Page; text: () => Promise<string> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (username) {
    // Sign in at the API as a person does: its /auth/login sends the browser to the provider's form and back.
    await page.goto(`${api}/auth/login?returnTo=/auth/session`);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Logga in' }).click();
    await page.waitForURL(`${api}/auth/session`);
    expect(await page.innerText('body')).toContain('"role":"coordinator"');
  }
  await page.goto(ui);
  // The keys the UI keeps its codec settings under (its "Codec Server" dialog writes the same).
  await page.evaluate((s) => {
    const storage = (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage;
    storage.setItem('endpoint', JSON.stringify(s.endpoint));
    storage.setItem('includeCredentials', JSON.stringify(s.includeCredentials));
    storage.setItem('overrideRemoteCodecConfiguration', 'true');
  }, settings);
  await page.goto(`${ui}/namespaces/default/workflows/${operationId}`);
  await page.getByText('LOS operation in Umeå', { exact: false }).first().waitFor({ timeout: 60_000 });
  return { page, text: async () => (await page.content()) + (await page.innerText('body')) };
}

describe('Temporal UI', () => {
  it('shows an operator the phase and the summary, and no personal data', async () => {
    const { page, text } = await operationPage({ endpoint: null, includeCredentials: false });
    await page.getByText('assessment', { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2_000); // give the input panel time to render whatever it would
    const content = await text();
    expect(content).toContain('Umeå');
    expect(content).not.toContain(NAME);
    await page.context().close();
  }, 120_000);

  it('shows a coordinator of the municipality, signed in at the API, the tip through the codec server', async () => {
    const { page } = await operationPage({ endpoint: codecUrl, includeCredentials: true }, 'anna');
    await page.getByText(NAME, { exact: false }).first().waitFor({ timeout: 60_000 });
    await page.context().close();
  }, 120_000);

  it('shows the same coordinator nothing personal without "include cross-origin credentials" (no session reaches the codec server)', async () => {
    const { page, text } = await operationPage({ endpoint: codecUrl, includeCredentials: false }, 'anna');
    await page.getByText('assessment', { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2_000); // give the input panel time to render whatever it would
    expect(await text()).not.toContain(NAME);
    await page.context().close();
  }, 120_000);
});
