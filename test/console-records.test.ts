import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../scripts/generate-contract.js';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { stockholmWallTime } from '../domain/index.js';
import { stateQuery } from '../workflows/definitions.js';
import { axeViolations, launchChromium } from './browser.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { codeFlowTokens } from './oidc.js';

/**
 * The records in the console, in headless Chromium with everything real (the identity provider as its own process,
 * the engine with its API, Temporal, nats-server, the simulated agencies answering through NATS): the disclosure
 * register after a real operation's fan-outs, same business on the operation page, the auditors' access log, the
 * steering group's escalations. Each page passes axe-core and is photographed like the console's other pages.
 */

const PASSWORD = DEMO_PASSWORD;
const API_CLIENT_SECRET = DEMO_API_CLIENT_SECRET;

let idp: IdentityProvider;
let engine: TestEngine;
let browser: Browser;
let api: string;
let audience: string;
let shots: string;
const tokens: Record<string, string> = {};
const subs: Record<string, string> = {};
/** Anna's operation, past its mandate requests; another of hers and one of Malmö's about the same business. */
let operationId: string;
let sameBusinessId: string;
let malmoId: string;

const subOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;

async function register(username: string, tip: ReturnType<typeof sampleTip>, config?: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${api}/v1/operations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[username]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...tip, ...(config ? { config } : {}) }),
  });
  const body = (await response.json()) as { operationId: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body.operationId;
}

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  audience = `${api}/v1`;
  const scratch = inject('scratchDir');
  shots = join(scratch, 'console-screenshots');
  mkdirSync(shots, { recursive: true });
  idp = await startIdentityProvider({ scratchDir: join(scratch, `console-records-idp-${process.pid}`), audience, apiUrls: [api] });
  engine = await startTestEngine('console-records', {
    api: { port, issuer: idp.issuer, clientSecret: API_CLIENT_SECRET, sessionSecret: 'a session secret for the console records test, 32+' },
  });
  await engine.startAgencies();
  browser = await launchChromium();
  for (const username of ['anna', 'bertil', 'david']) {
    const { tokens: set } = await codeFlowTokens(
      idp.issuer,
      { clientId: 'los-api', clientSecret: API_CLIENT_SECRET, redirectUri: `${api}/auth/callback`, audience },
      username,
      PASSWORD,
    );
    tokens[username] = set.access_token;
    subs[username] = subOf(set.access_token);
  }
  // A real operation: assessed, its mandate requests fanned out to the agencies, which answer through NATS.
  operationId = await register('anna', sampleTip());
  const assessed = await fetch(`${api}/v1/operations/${operationId}/decisions/assess`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.anna}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'proceed' }),
  });
  expect(assessed.status).toBe(200);
  await eventually(
    () => engine.client.workflow.getHandle(operationId).query(stateQuery),
    (state) => state.stage === 'schedule_decision',
    60_000,
  );
  sameBusinessId = await register('anna', sampleTip());
  malmoId = await register(
    'bertil',
    sampleTip({ entity: { orgNumber: '556703-7485', name: 'Norrsken Syd AB', address: 'Södra Förstadsgatan 3, Malmö', municipality: 'Malmö' } }),
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  await idp?.stop();
});

async function contextFor(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  return { context, page: await context.newPage() };
}

async function signIn(page: Page, username: string, path = '/konsol'): Promise<void> {
  await page.goto(`${api}${path}`);
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.getByLabel('Användarnamn').fill(username);
  await page.getByLabel('Lösenord').fill(PASSWORD);
  await page.getByRole('button', { name: 'Logga in' }).click();
  await page.waitForURL((url) => url.origin === api && url.pathname === path);
}

/** Checks the page with axe-core and photographs it (the main ones also into docs/screenshots with LOS_UPDATE_SCREENSHOTS=1). */
async function check(page: Page, name: string, copyToDocs = false): Promise<void> {
  expect(await axeViolations(page), `axe on ${name}`).toEqual([]);
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (copyToDocs && process.env.LOS_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(PROJECT_ROOT, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(file, join(PROJECT_ROOT, 'docs', 'screenshots', `${name}.png`));
  }
}

function stockholmLocal(msFromNow: number): string {
  const wall = stockholmWallTime(Date.now() + msFromNow);
  return `${wall.date}T${wall.time}`;
}

describe('the records in the console', () => {
  it('shows Anna, on her operation’s page, the other operations about the same business and the link to its register', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'anna', `/konsol/operationer/${operationId}`);
    await page.getByRole('heading', { name: 'Samma verksamhet' }).waitFor();
    // Her own municipality's, as links; Malmö's only as a count, never its id.
    await page.getByRole('link', { name: sameBusinessId }).waitFor();
    const content = await page.content();
    expect(content).not.toContain(malmoId);
    await expect(page.locator('main').innerText()).resolves.toMatch(/1 operation\(er\) i andra kommuner \(1 bedömning\)/);
    await check(page, 'operation-same-business');
    await context.close();
  }, 60_000);

  it('names in the register the personal fields, the agencies, the events and the legal ground after the fan-outs, and says where none is given', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'anna', `/konsol/operationer/${operationId}`);
    await page.getByRole('link', { name: /Utlämnanderegistret/ }).click();
    await page.waitForURL(`${api}/konsol/operationer/${operationId}/utlamnanden`);
    await page.getByRole('heading', { name: `Utlämnanden i operation ${operationId}` }).waitFor();
    const polisen = page.getByRole('row', { name: /Polismyndigheten/ }).filter({ hasText: 'mandate_requested' });
    const row = await polisen.innerText();
    for (const text of [
      'Mandatförfrågan',
      'Organisationsnummer',
      'entity.orgNumber',
      'Företagets namn',
      'Lokalens adress',
      'se.los.mandate.requested.v1',
      '2 § lag (2016:774)',
    ])
      expect(row).toContain(text);
    expect(row).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CES?T/);
    expect(row).toContain(`${operationId}.mandate-1-polisen.mandate_requested`);
    const kronofogden = await page
      .getByRole('row', { name: /Kronofogdemyndigheten/ })
      .filter({ hasText: 'mandate_requested' })
      .innerText();
    expect(kronofogden).toContain('ingen rättslig grund angiven');
    // Names, never values.
    const content = await page.content();
    for (const value of ['Restaurang Norrsken', '556703-7485', 'Storgatan 12', 'Serves alcohol', 'SECRET-SOURCE-REF']) expect(content).not.toContain(value);
    await check(page, 'disclosure-register', true);
    await page.goto(`${api}/konsol/operationer/${operationId}/utlamnanden?lang=en`);
    await page.getByRole('heading', { name: `Disclosures in operation ${operationId}` }).waitFor();
    await check(page, 'disclosure-register-en');
    await context.close();
  }, 60_000);

  it('gives Bertil of Malmö the 403 page for Umeå’s register, and an auditor finds that refusal by filtering the access log by person', async () => {
    const bertil = await contextFor();
    await signIn(bertil.page, 'bertil');
    const refused = await bertil.page.goto(`${api}/konsol/operationer/${operationId}/utlamnanden`);
    expect(refused?.status()).toBe(403);
    await bertil.page.getByRole('heading', { name: 'Du har inte tillgång till detta' }).waitFor();
    for (const secret of ['Polismyndigheten', 'entity.orgNumber', 'Restaurang']) expect(await bertil.page.content()).not.toContain(secret);
    await check(bertil.page, 'disclosure-register-forbidden');
    await bertil.context.close();

    const { context, page } = await contextFor();
    await signIn(page, 'david');
    await page.getByRole('link', { name: 'Åtkomstloggen: läsningar och nekade begäranden' }).click();
    await page.getByRole('heading', { name: 'Åtkomstlogg' }).waitFor();
    await check(page, 'access-log-search');
    await page.getByLabel('Person').fill(subs.bertil!);
    await page.getByLabel('Utfall').selectOption('false');
    await page.getByLabel('Från').fill(stockholmLocal(-3_600_000));
    await page.getByRole('button', { name: 'Sök', exact: true }).click();
    await page.getByRole('heading', { name: 'Poster' }).waitFor();
    const rows = page.locator('table.access-log tbody tr');
    const texts = await rows.allInnerTexts();
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(text).toContain(subs.bertil!);
    const refusal = texts.find((text) => text.includes(operationId) && text.includes('utlämnanderegistret'));
    expect(refusal, texts.join('\n')).toContain('nekad');
    expect(refusal).toContain('GET /konsol/operationer/:id/utlamnanden');
    expect(refusal).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CES?T/);
    // The range searched, shown as Stockholm time with its zone; what was typed stays in the form.
    await expect(page.locator('main').innerText()).resolves.toMatch(/Tidsintervall: från \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CES?T/);
    await expect(page.getByLabel('Person').inputValue()).resolves.toBe(subs.bertil);
    await check(page, 'access-log', true);

    // The operation links to its register, which an auditor may read (and the read is on the log).
    await page.getByRole('link', { name: operationId }).first().click();
    await page.getByRole('heading', { name: `Utlämnanden i operation ${operationId}` }).waitFor();
    await context.close();
  }, 90_000);

  it('lets an auditor read the security log page by page and refuses a time that is not one, next to its field', async () => {
    // More refusals than one page holds (100): the second page is the endpoint's `next`.
    const unsigned = await Promise.all(Array.from({ length: 120 }, () => fetch(`${api}/v1/operations`)));
    expect(unsigned.map((r) => r.status)).toEqual(unsigned.map(() => 401));
    const { context, page } = await contextFor();
    await signIn(page, 'david', '/konsol/atkomstlogg');
    await page.getByLabel('Endast säkerhetsloggen').check();
    await page.getByRole('button', { name: 'Sök', exact: true }).click();
    await page.getByRole('heading', { name: 'Poster' }).waitFor();
    const texts = await page.locator('table.access-log tbody tr').allInnerTexts();
    expect(texts.some((text) => text.includes('unauthenticated') && text.includes('GET /v1/operations'))).toBe(true);
    for (const text of texts) expect(text).toContain('nekad');
    expect(texts).toHaveLength(100);
    await page.getByRole('link', { name: 'Nästa sida' }).click();
    await page.getByRole('heading', { name: 'Poster' }).waitFor();
    expect(new URL(page.url()).searchParams.get('security')).toBe('true');
    const second = await page.locator('table.access-log tbody tr').allInnerTexts();
    // The 120 refusals and the earlier ones: the rest after the first 100.
    expect(second.length).toBeGreaterThanOrEqual(20);
    for (const text of second) expect(text).toContain('nekad');
    await expect(page.getByLabel('Endast säkerhetsloggen').isChecked()).resolves.toBe(true);
    // At 200 % zoom (a 640 px wide window) the page reflows; the wide table scrolls in its own focusable region.
    await page.setViewportSize({ width: 640, height: 900 });
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await check(page, 'access-log-200-percent');
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByLabel('Till').fill('2026-03-29T02:30:00');
    await page.getByRole('button', { name: 'Sök', exact: true }).click();
    await expect(page.locator('#f-to-error').innerText()).resolves.toBe('Den tiden finns inte i Sverige: klockan hoppar från 02:00 till 03:00 den natten.');
    await expect(page.getByRole('alert').innerText()).resolves.toContain('Till');
    await check(page, 'access-log-invalid');
    await context.close();
  }, 60_000);

  it('refuses the access log to a coordinator with the 403 page', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'anna');
    const response = await page.goto(`${api}/konsol/atkomstlogg`);
    expect(response?.status()).toBe(403);
    await context.close();
  }, 60_000);

  it('shows the steering group the escalations across municipalities, with no personal field, and same business by id and phase', async () => {
    const tip = sampleTip({ entity: { orgNumber: '556703-7485', name: 'Eskaleringen AB', address: 'Hemlig väg 2, Umeå', municipality: 'Umeå' } });
    const overdueId = await register('anna', tip, { assessmentDeadline: '2s' });
    const { context, page } = await contextFor();
    await signIn(page, 'cecilia');
    // An element that is not there yet would be waited for: the probe reads the whole page instead.
    await eventually(
      async () => (await page.reload(), await page.content()),
      (content) => /<table class="escalations">[\s\S]*<\/table>/.exec(content)?.[0].includes(overdueId) ?? false,
      30_000,
    );
    const row = await page.locator('table.escalations tr', { hasText: overdueId }).innerText();
    expect(row).toContain('samordnarens bedömning');
    expect(row).toContain('Umeå');
    expect(row).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CES?T/);
    for (const secret of ['Eskaleringen', 'Hemlig väg', '556703', tip.description, 'SECRET-SOURCE-REF']) expect(await page.content()).not.toContain(secret);
    await check(page, 'steering-group-escalations', true);

    await page.goto(`${api}/konsol/operationer/${overdueId}`);
    await page.getByRole('heading', { name: 'Samma verksamhet' }).waitFor();
    // The steering group may open every one of them: Umeå's and Malmö's are links.
    await page.getByRole('link', { name: malmoId }).waitFor();
    await page.getByRole('link', { name: operationId }).waitFor();
    expect(await page.getByRole('link', { name: /Utlämnanderegistret/ }).count()).toBe(0);
    await check(page, 'steering-group-same-business');
    await context.close();
  }, 90_000);
});
