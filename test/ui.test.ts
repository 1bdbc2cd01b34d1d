import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, startTemporalDevServer, type TemporalDevServer } from '../scripts/dev-stack.js';
import { startEmbeddedEngine, type EmbeddedEngine } from '../scripts/embedded-engine.js';
import { createDevIssuer, tokenVerifier, type DevIssuer, AuditLog, generateMasterKey, openKeyStore, readMasterKeyring } from '../vault/index.js';
import { startCodecServer, type CodecServer } from '../workers/codecServer.js';
import { launchChromium } from './browser.js';
import { sampleTip, untilState } from './engine.js';

/**
 * The Temporal Web UI as people use it, in headless Chromium: an operator sees the phase and the summary but
 * no personal data; a coordinator of the municipality, signed in to the codec server, sees the tip.
 */
const NAME = 'MARK-UI-NAME AB';
let temporal: TemporalDevServer;
let engine: EmbeddedEngine;
let codec: CodecServer;
let issuer: DevIssuer;
let closeStore: () => Promise<void>;
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
  const codecUrl = `http://127.0.0.1:${codecPort}`;
  // A dev server of its own: the shared one runs headless.
  temporal = await startTemporalDevServer({
    dbFile: join(scratch, 'temporal.db'),
    uiPort: await freePort(),
    logFile: join(scratch, 'temporal.log'),
    uiCodecEndpoint: codecUrl,
  });
  ui = temporal.uiUrl!.replace('localhost', '127.0.0.1');
  const keyring = readMasterKeyring({ LOS_MASTER_KEY: generateMasterKey() });
  engine = await startEmbeddedEngine({
    temporalAddress: temporal.address,
    scratchDir: scratch,
    taskQueue: 'los-test-ui',
    workflowBundle: { codePath: inject('workflowBundlePath') },
    keyring,
  });
  const store = await openKeyStore({ servers: engine.nats.url, keyring });
  closeStore = store.close;
  issuer = await createDevIssuer();
  codec = await startCodecServer({
    keys: store.keys,
    audit: await AuditLog.open(store.nc),
    verifier: await tokenVerifier(issuer.publicJwk),
    uiOrigin: new URL(ui).origin,
    port: codecPort,
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
  await codec?.close();
  await closeStore?.();
  await engine?.stop();
  await temporal?.stop();
});

/** Opens the operation's page with the UI's codec settings (local storage) and returns its text once loaded. */
async function operationPage(
  settings: { endpoint: string | null; includeCredentials: boolean },
  token?: string,
): Promise<{ page: Page; text: () => Promise<string> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (token) {
    // Sign in to the codec server: an HttpOnly cookie the UI's codec calls carry.
    const login = await page.goto(`${codec.url}/login?token=${token}`);
    expect(login?.status()).toBe(200);
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

  it('shows a coordinator of the municipality the tip through the codec server', async () => {
    const token = await issuer.mint({ sub: 'anna.coordinator@umea', role: 'coordinator', municipality: 'Umeå' });
    const { page } = await operationPage({ endpoint: codec.url, includeCredentials: true }, token);
    await page.getByText(NAME, { exact: false }).first().waitFor({ timeout: 60_000 });
    await page.context().close();
  }, 120_000);
});
