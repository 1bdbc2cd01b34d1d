import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeCluster, startCluster, type Cluster } from '../../scripts/cluster.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, DEMO_TEMPORAL_UI_CLIENT } from '../../scripts/identity-provider.js';
import { PROJECT_ROOT } from '../../scripts/temporal-cli.js';
import { launchChromium } from '../browser.js';
import { sampleTip } from '../engine.js';
import { codeFlowTokens } from '../oidc.js';
import { sleep } from './topologies.js';

/**
 * The Temporal Web UI on the cluster signs people in at the identity provider (its own OIDC client) and asks the
 * codec server to decode with the signed-in person's access token: in headless Chromium the coordinator of the
 * operation's municipality sees its tip decoded, the operator and another municipality's coordinator see the
 * workflow with the tip sealed. No token is typed, minted or put in a URL: the provider's form, and nothing else.
 * Screenshots go to the run's scratch directory (kept; its path is printed), and to docs/screenshots with
 * LOS_UPDATE_SCREENSHOTS=1.
 */
const NAME = 'MARK-CLUSTER-UI AB';
const prefix = `los_ui_${randomBytes(4).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), 'los-cluster-ui-'));
const dataDir = join(scratch, 'cluster');
const shots = join(scratch, 'screenshots');
/** How the UI shows a payload nobody decoded for this reader: the encrypted bytes, base64 in quotes. */
const CIPHERTEXT = /^"[A-Za-z0-9+/]{200,}={0,2}"$/;

describe('the Temporal UI on the cluster, signing people in at the provider', () => {
  let cluster: Cluster;
  let browser: Browser;
  let ui: string;
  let operationId: string;

  beforeAll(async () => {
    try {
      cluster = await startCluster({ prefix, dataDir, workers: 1, bridges: 1, api: {}, ui: true, engineEnv: { LOG_LEVEL: 'info' }, log: () => undefined });
    } catch (err) {
      await removeCluster(prefix, dataDir).catch(() => undefined);
      throw err;
    }
    if (!cluster.ui || !('url' in cluster.ui)) throw new Error(`the Temporal UI did not start: ${JSON.stringify(cluster.ui)}`);
    ui = cluster.ui.url;
    expect(cluster.codec?.url).toMatch(/^https:\/\//);
    // The engine's processes start on their own: ready once the API and the codec server answer.
    const deadline = Date.now() + 90_000;
    const answers = (url: string, init?: RequestInit) =>
      fetch(url, init).then(
        () => true,
        () => false,
      );
    while (
      !(await answers(`${cluster.api!.url}/v1/openapi.json`)) ||
      !(await codecStatus().then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) {
        const logs = cluster.engine.filter((p) => p.role === 'api' || p.role === 'codec').map((p) => readFileSync(p.logFile, 'utf8').slice(-1_500));
        throw new Error(`the API or the codec server did not answer: ${logs.join('\n')}`);
      }
      await sleep(500);
    }
    // Anna, Umeå's coordinator, registers a tip about a business in Umeå through the API.
    const anna = await codeFlowTokens(
      cluster.api!.issuer,
      { clientId: 'los-api', clientSecret: DEMO_API_CLIENT_SECRET, redirectUri: `${cluster.api!.url}/auth/callback`, audience: `${cluster.api!.url}/v1` },
      'anna',
      DEMO_PASSWORD,
    );
    const registered = await fetch(`${cluster.api!.url}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anna.tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleTip({ entity: { orgNumber: '556036-0793', name: NAME, address: 'Storgatan 1, Umeå', municipality: 'Umeå' } })),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    operationId = ((await registered.json()) as { operationId: string }).operationId;
    // The codec server's certificate is signed by the cluster's own CA: the browser trusts that key, and nothing else.
    const spki = new X509Certificate(readFileSync(cluster.codec!.certFile)).publicKey.export({ type: 'spki', format: 'der' });
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`]);
    mkdirSync(shots, { recursive: true });
  });

  /** The codec server's answer to a decode as the UI sends it, without a token, trusting the cluster's CA. */
  const codecStatus = () =>
    new Promise<number>((resolveStatus, reject) => {
      const req = request(
        `${cluster.codec!.url}/decode?preserveStorageRefs=true`,
        { method: 'POST', ca: readFileSync(cluster.natsCaFile), headers: { 'content-type': 'application/json', origin: ui } },
        (res) => {
          res.resume();
          resolveStatus(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end(JSON.stringify({ payloads: [] }));
    });

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    await removeCluster(prefix, dataDir).catch(() => undefined);
    // The screenshots stay: they are the run's output.
    console.info(`Temporal UI screenshots: ${shots}`);
  });

  /** Opens the operation's page in a fresh browser, signing in at the provider's form as `username`. */
  async function operationPageAs(username: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${ui}/namespaces/default/workflows/${operationId}`);
    // No page of the UI's own: the provider's form at once.
    await page.waitForURL((url) => url.origin === cluster.api!.issuer && url.pathname.startsWith('/interaction/'));
    expect(page.url()).not.toMatch(/token=/);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Logga in' }).click();
    await page.waitForURL((url) => url.origin === ui);
    // The workflow itself: Temporal let the person's token read it.
    await page.getByText('losOperation', { exact: true }).first().waitFor({ timeout: 120_000 });
    await page.getByText(operationId, { exact: true }).first().waitFor();
    return page;
  }

  async function photograph(page: Page, name: string): Promise<void> {
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (process.env.LOS_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(PROJECT_ROOT, 'docs', 'screenshots'), { recursive: true });
      copyFileSync(file, join(PROJECT_ROOT, 'docs', 'screenshots', `${name}.png`));
    }
  }

  const pageText = async (page: Page) => (await page.content()) + (await page.innerText('body'));

  it('shows the coordinator of the operation’s municipality the tip, decoded with her token', async () => {
    const page = await operationPageAs('anna');
    await page.getByText(NAME, { exact: false }).first().waitFor({ timeout: 60_000 });
    await photograph(page, 'temporal-ui-coordinator');
    expect(await page.getByText(CIPHERTEXT).count()).toBe(0);
    // Her token reached the codec server, never a URL.
    expect(page.url()).not.toMatch(/token=/);
    await page.context().close();
  });

  for (const [who, username, shot] of [
    ['the operator', 'erik', 'temporal-ui-operator'],
    ['another municipality’s coordinator', 'bertil', 'temporal-ui-other-municipality'],
  ] as const)
    it(`shows ${who} the workflow with the tip sealed`, async () => {
      const page = await operationPageAs(username);
      // The codec server refused the tip: the input stays the ciphertext the history holds.
      await page.getByText(CIPHERTEXT).first().waitFor({ timeout: 60_000 });
      await photograph(page, shot);
      expect(await pageText(page)).not.toContain(NAME);
      await page.context().close();
    });

  it('lets the token the UI gets for the operator read the operation, and nothing more', async () => {
    // The same sign-in the UI makes, as its client, through the provider's form.
    const { tokens } = await codeFlowTokens(
      cluster.api!.issuer,
      { ...DEMO_TEMPORAL_UI_CLIENT, redirectUri: `${ui}/auth/sso/callback`, scope: 'openid profile los temporal' },
      'erik',
      DEMO_PASSWORD,
    );
    const tls = cluster.temporalAccess.tls!;
    const connection = await Connection.connect({
      address: cluster.temporalAddress,
      tls: { serverRootCACertificate: readFileSync(tls.caFile), serverNameOverride: tls.serverName },
      apiKey: tokens.access_token,
    });
    try {
      const handle = new Client({ connection, namespace: cluster.namespace }).workflow.getHandle(operationId);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      for (const act of [() => handle.signal('losNoSuchSignal'), () => handle.cancel(), () => handle.terminate('the UI’s operator may not')]) {
        const err = await act().then(
          () => undefined,
          (e: unknown) => e as Error & { cause?: Error },
        );
        expect(`${err?.message} ${err?.cause?.message ?? ''}`).toMatch(/permission ?denied|unauthori[sz]ed/i);
      }
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
  });

  it('has the codec server refuse a decode without a token at once, and log the refusal', async () => {
    const codecLog = () => readFileSync(cluster.engine.find((p) => p.role === 'codec')!.logFile, 'utf8');
    expect(await codecStatus()).toBe(401);
    expect(codecLog()).toMatch(/"msg":"refused".*"who":"unauthenticated"|"who":"unauthenticated".*"msg":"refused"/);
  });
});
