import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../scripts/generate-contract.js';
import { freePort } from '../scripts/dev-stack.js';
import { DEMO_API_CLIENT_SECRET, DEMO_PASSWORD, type IdentityProvider, startIdentityProvider } from '../scripts/identity-provider.js';
import { DECISION_KINDS, stockholmWallTime, type DecisionKind, type OperationState, type TipInput } from '../domain/index.js';
import { axeViolations, launchChromium } from './browser.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';
import { searchAttributes, stateQuery } from '../workflows/definitions.js';
import { codeFlowTokens } from './oidc.js';

/**
 * The coordinator's console in headless Chromium, with everything real: the identity provider as its own process,
 * the engine with its API, Temporal, nats-server and the simulated agencies answering through NATS. Every page is
 * checked with axe-core and photographed into the run's scratch directory (and, with LOS_UPDATE_SCREENSHOTS=1, the
 * main ones into docs/screenshots/ for the README).
 */

const PASSWORD = DEMO_PASSWORD;
const API_CLIENT_SECRET = DEMO_API_CLIENT_SECRET;
const BUSINESS = { orgNumber: '556703-7485', name: 'Restaurang Konsolen AB', address: 'Kungsgatan 7, 903 25 Umeå' };
const DESCRIPTION = 'Late-night alcohol sales and staff paid in cash; seen by neighbours for weeks.';
const SOURCE_REFERENCE = 'CONSOLE-SOURCE-4411';

let idp: IdentityProvider;
let engine: TestEngine;
let browser: Browser;
let api: string;
let audience: string;
let shots: string;
/** The operation Anna carries through the console, once registered. */
let operationId: string;
const violations: Record<string, unknown[]> = {};

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  audience = `${api}/v1`;
  const scratch = inject('scratchDir');
  shots = join(scratch, 'console-screenshots');
  mkdirSync(shots, { recursive: true });
  idp = await startIdentityProvider({ scratchDir: join(scratch, `console-idp-${process.pid}`), audience, apiUrls: [api] });
  engine = await startTestEngine('console', {
    api: { port, issuer: idp.issuer, clientSecret: API_CLIENT_SECRET, sessionSecret: 'a session secret for the console test, 32+ chars' },
  });
  await engine.startAgencies();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  await idp?.stop();
});

/** A browser of one's own (axe is injected as a script, which the console's CSP would forbid). */
async function contextFor(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  return { context, page: await context.newPage() };
}

/** Opens a console page; not signed in, the console sends the browser to sign in and back. */
async function signIn(page: Page, username: string, path = '/konsol'): Promise<void> {
  await page.goto(`${api}${path}`);
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.getByLabel('Användarnamn').fill(username);
  await page.getByLabel('Lösenord').fill(PASSWORD);
  await page.getByRole('button', { name: 'Logga in' }).click();
  await page.waitForURL((url) => url.origin === api && url.pathname === path);
}

/** Checks the page with axe-core and photographs it. */
async function check(page: Page, name: string, copyToDocs = false): Promise<void> {
  violations[name] = await axeViolations(page);
  expect(violations[name], `axe on ${name}`).toEqual([]);
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (copyToDocs && process.env.LOS_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(PROJECT_ROOT, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(file, join(PROJECT_ROOT, 'docs', 'screenshots', `${name}.png`));
  }
}

/** The decisions whose forms a test has rendered and checked: every one of the table, by the last test. */
const formsChecked = new Set<DecisionKind>();

/** A decision's form, open and offered (the operation takes it now): checked with axe-core and photographed. */
async function checkForm(page: Page, kind: DecisionKind, copyToDocs = false): Promise<void> {
  expect(await page.locator('form.decision').count(), `the ${kind} form`).toBe(1);
  await check(page, `decision-${kind.replaceAll(' ', '-')}`, copyToDocs);
  formsChecked.add(kind);
}

/** A date-time field's value in Stockholm time, `ms` from now. */
function stockholmLocal(msFromNow: number): string {
  const wall = stockholmWallTime(Date.now() + msFromNow);
  return `${wall.date}T${wall.time}`;
}

async function fillTip(page: Page, tip: { name: string; receivedAt: string }) {
  await page.getByLabel('Organisationsnummer').fill(BUSINESS.orgNumber);
  await page.getByLabel('Företagets namn').fill(tip.name);
  await page.getByLabel('Lokalens adress').fill(BUSINESS.address);
  for (const category of ['penningtvätt', 'olaglig alkoholförsäljning', 'arbetskraftsexploatering']) await page.getByLabel(category, { exact: true }).check();
  await page.getByLabel('Beskrivning av vad som iakttagits').fill(DESCRIPTION);
  await page.getByLabel('Brådska').selectOption('high');
  await page.getByLabel('allmänheten').check();
  await page.getByLabel('Källans referens').fill(SOURCE_REFERENCE);
  await page.getByLabel('Mottaget').fill(tip.receivedAt);
  await page.getByText('Tidsfrister (valfritt').click();
  await page.getByLabel('Tid för svar på mandatförfrågan').fill('8s');
  await page.getByLabel('Tid för rapport om iakttagelser').fill('8s');
  await page.getByLabel('Uppföljning efter').fill('3s');
  await page.getByLabel('Tid för rapport om utfall').fill('8s');
}

/** The operation's access log as David the auditor reads it. */
async function accessLog(id: string): Promise<{ role: string; allowed: boolean; action: string; asked?: string }[]> {
  const log = await fetch(`${api}/v1/operations/${id}/access-log`, { headers: { authorization: `Bearer ${await tokenOf('david')}` } });
  return ((await log.json()) as { records: { role: string; allowed: boolean; action: string; asked?: string }[] }).records;
}

async function tokenOf(username: string): Promise<string> {
  const { tokens } = await codeFlowTokens(
    idp.issuer,
    { clientId: 'los-api', clientSecret: API_CLIENT_SECRET, redirectUri: `${api}/auth/callback`, audience },
    username,
    PASSWORD,
  );
  return tokens.access_token;
}

/** Registers a tip as `token`'s coordinator through the JSON API, with the operation's deadlines. */
async function registerVia(token: string, tip: TipInput, config: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${api}/v1/operations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...tip, config }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { operationId: string }).operationId;
}

async function decideVia(token: string, id: string, decision: string, body: unknown): Promise<void> {
  const response = await fetch(`${api}/v1/operations/${id}/decisions/${decision}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(200);
}

const until = (id: string, test: (state: OperationState) => boolean, timeoutMs = 60_000) =>
  eventually(() => engine.client.workflow.getHandle(id).query(stateQuery), test, timeoutMs);

describe('the coordinator’s console', () => {
  it('lets Anna carry one operation from tip to closed in the browser, agencies answering through NATS; each page passes axe', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'anna');
    expect(await page.getAttribute('html', 'lang')).toBe('sv');
    await page.getByRole('heading', { name: 'Beslut att fatta' }).waitFor();
    await check(page, 'decisions-due', true);

    await page.getByRole('link', { name: 'Registrera tips' }).click();
    await check(page, 'tip-form', true);
    const receivedAt = stockholmLocal(-60_000);
    await fillTip(page, { name: BUSINESS.name, receivedAt });
    await page.getByRole('button', { name: 'Registrera tipset' }).click();
    await page.waitForURL(/\/konsol\/operationer\/los-umea-/);
    operationId = new URL(page.url()).pathname.split('/').at(-1)!;
    await page.getByText('Tipset är registrerat.').waitFor();
    // The business, for the operation's coordinator: its name, org number, address, what was seen; a protected
    // source is said to be one, and its reference never reaches the page. The view is on the access log.
    const tipFacts = await page.locator('#tip').innerText();
    for (const fact of [BUSINESS.name, '5567037485', BUSINESS.address, DESCRIPTION, 'skyddad källa']) expect(tipFacts).toContain(fact);
    expect(await page.content()).not.toContain(SOURCE_REFERENCE);
    expect(await accessLog(operationId)).toContainEqual(
      expect.objectContaining({ role: 'coordinator', allowed: true, action: 'show', asked: 'GET /konsol/operationer/:id' }),
    );
    await check(page, 'operation-assessment', true);

    // A correction: the same tip with another name shows what changes (old → new, only what changes) before it is
    // sent, and is sent only when confirmed; reading the registered name is a read on the access log.
    const shows = async () => (await accessLog(operationId)).filter((r) => r.action === 'show' && r.allowed && r.role === 'coordinator').length;
    const showsBefore = await shows();
    await page.getByRole('link', { name: 'Registrera tips' }).click();
    await fillTip(page, { name: 'Restaurang Konsolen & Bar AB', receivedAt });
    await page.getByRole('button', { name: 'Registrera tipset' }).click();
    await page.getByRole('heading', { name: 'Bekräfta rättelsen' }).waitFor();
    const changes = page.getByRole('table', { name: 'Bekräfta rättelsen' }).locator('tbody tr');
    expect(await changes.count()).toBe(1);
    await expect(changes.locator('th').innerText()).resolves.toBe('Företagets namn');
    await expect(changes.locator('del').innerText()).resolves.toBe(BUSINESS.name);
    await expect(changes.locator('ins').innerText()).resolves.toBe('Restaurang Konsolen & Bar AB');
    expect(await shows()).toBe(showsBefore + 1);
    await check(page, 'tip-correction-confirm', true);
    await page.getByRole('button', { name: 'Skicka rättelsen' }).click();
    await page.getByText('Rättelsen är skickad.').waitFor();

    // Assessment: proceed. Only what the stage takes is offered; the rest says why not.
    expect(await page.getByRole('link', { name: 'Planera insatsen' }).count()).toBe(0);
    await expect(page.locator('ul.decisions').innerText()).resolves.toContain('Inte nu: Operationen är i fasen bedömning, inte gemensam insats.');
    await page.getByRole('link', { name: 'Bedömning' }).click();
    await checkForm(page, 'assessment', true);
    await page.getByLabel('Gå vidare').check();
    await page.getByRole('button', { name: 'Skicka beslutet' }).click();
    await page.getByText('Beslutet är registrerat.').waitFor();

    // The agencies answer through NATS; the page shows it without a reload (the live stream), and offers the schedule.
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations.push(frame.url()));
    await page.getByRole('link', { name: 'Planera insatsen' }).waitFor({ timeout: 60_000 });
    expect(navigations).toEqual([]);
    await expect(page.locator('#live').innerText()).resolves.toContain('accepterat');

    await page.getByRole('link', { name: 'Planera insatsen' }).click();
    // A time in the past: the operation's own refusal, next to the field it names, with what was typed kept.
    const past = stockholmLocal(-3_600_000);
    await page.locator('#f-at').fill(past);
    await page.locator('#f-place').fill('Kungsgatan 7, entrén mot gården');
    await page.getByLabel('Ledande myndighet').selectOption('polisen');
    await page.getByRole('button', { name: 'Skicka beslutet' }).click();
    const atError = page.locator('#f-at-error');
    // The workflow validator's refusal, by its code, in Swedish.
    await expect(atError.innerText()).resolves.toBe('Tiden har redan passerat: välj en tid framåt.');
    await expect(page.locator('#f-at').getAttribute('aria-describedby')).resolves.toContain('f-at-error');
    await expect(page.locator('#f-place').inputValue()).resolves.toBe('Kungsgatan 7, entrén mot gården');
    await expect(page.getByLabel('Ledande myndighet').inputValue()).resolves.toBe('polisen');
    await check(page, 'decision-refused', true);
    formsChecked.add('schedule');
    await page.locator('#f-at').fill(stockholmLocal(6_000));
    await page.getByRole('button', { name: 'Skicka beslutet' }).click();
    await page.getByText('Beslutet är registrerat.').waitFor();

    // The action starts, findings come in, the follow-up asks for outcomes: then the closing decision is offered.
    await page.getByRole('link', { name: 'Avsluta operationen' }).waitFor({ timeout: 90_000 });
    await check(page, 'operation-follow-up', true);
    // The closing decision owed: a re-inspection is the other answer to it; its form is offered too.
    await page.getByRole('link', { name: 'Beställ ny kontroll' }).click();
    await page.getByLabel('Skäl').waitFor();
    await checkForm(page, 'reinspection');
    await page.getByRole('link', { name: 'Tillbaka till operationen' }).click();
    await page.getByRole('link', { name: 'Avsluta operationen' }).click();
    await checkForm(page, 'close');
    await page.getByLabel('Sammanfattning av resultatet').fill('Licence revoked, tax reassessed, criminal reports filed.');
    await page.getByRole('button', { name: 'Skicka beslutet' }).click();
    await page.getByText('Beslutet är registrerat.').waitFor();
    await eventually(
      async () => (await page.reload(), await page.locator('#live').innerText()),
      (text) => text.includes('avslutad'),
      30_000,
    );
    const closed = await page.locator('#live').innerText();
    expect(closed).toContain('Anna Lindqvist (samordnare)');
    // Personal fields, unsealed for the operation's coordinator (and her read on the access log): an agency's contact, the place, her summary.
    expect(closed).toContain('LOS-samordnare, lokalpolisområde Umeå');
    expect(closed).toContain('Kungsgatan 7, entrén mot gården');
    expect(closed).toContain('Licence revoked, tax reassessed, criminal reports filed.');
    expect(closed).toContain('Polisanmälningar');
    await check(page, 'operation-closed', true);
    await context.close();
  }, 240_000);

  it('shows the domain’s errors in Swedish (English when asked) next to the field they name, keeping what was typed', async () => {
    const { context, page } = await contextFor();
    const token = await tokenOf('anna');
    const response = await fetch(`${api}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleTip()),
    });
    const { operationId: id } = (await response.json()) as { operationId: string };
    await signIn(page, 'anna', `/konsol/operationer/${id}/beslut/assess`);
    await page.getByLabel('Avskriv').check();
    await page.getByLabel('Skäl').fill('no');
    await page.getByRole('button', { name: 'Skicka beslutet' }).click();
    await expect(page.locator('#f-reason-error').innerText()).resolves.toBe('Skriv minst 3 tecken.');
    await expect(page.getByRole('alert').innerText()).resolves.toContain('Skäl: Skriv minst 3 tecken.');
    await expect(page.getByRole('alert').innerText()).resolves.not.toContain('rejected');
    await expect(page.getByLabel('Skäl').inputValue()).resolves.toBe('no');
    await expect(page.getByLabel('Avskriv').isChecked()).resolves.toBe(true);
    await check(page, 'decision-invalid');
    // In English when asked.
    await page.goto(`${api}/konsol/operationer/${id}/beslut/assess?lang=en`);
    await page.getByLabel('Dismiss').check();
    await page.getByLabel('Reason').fill('no');
    await page.getByRole('button', { name: 'Send the decision' }).click();
    await expect(page.locator('#f-reason-error').innerText()).resolves.toBe('Write at least 3 characters.');
    await check(page, 'decision-invalid-en');
    await page.goto(`${api}/konsol?lang=sv`);
    // The tip form: the domain's own checks (the org number's check digit, a time that does not exist in Sweden)
    // and the schema's (no category chosen), each by its code next to its field.
    await page.goto(`${api}/konsol/tips/ny`);
    await page.getByLabel('Organisationsnummer').fill('556703-7486');
    await page.getByLabel('Företagets namn').fill('Felaktiga AB');
    await page.getByLabel('Lokalens adress').fill('Storgatan 1, Umeå');
    await page.getByLabel('Beskrivning av vad som iakttagits').fill(DESCRIPTION);
    await page.getByLabel('Mottaget').fill('2026-03-29T02:30');
    await page.getByRole('button', { name: 'Registrera tipset' }).click();
    await expect(page.locator('#f-entity-orgNumber-error').innerText()).resolves.toBe('Kontrollsiffran stämmer inte: kontrollera numret.');
    await expect(page.locator('#f-categories-error').innerText()).resolves.toBe('Välj minst en misstänkt verksamhet.');
    await expect(page.locator('#f-receivedAt-error').innerText()).resolves.toBe(
      'Den tiden finns inte i Sverige: klockan hoppar från 02:00 till 03:00 den natten.',
    );
    await check(page, 'tip-invalid');
    // A decision the stage does not take now is not offered: its form answers with the domain's reason instead.
    const notNow = await page.goto(`${api}/konsol/operationer/${id}/beslut/schedule`);
    expect(notNow?.status()).toBe(409);
    await expect(page.locator('main').innerText()).resolves.toContain('Operationen är i fasen bedömning, inte gemensam insats.');
    expect(await page.locator('form.decision').count()).toBe(0);
    await check(page, 'decision-not-admissible');
    await context.close();
  }, 60_000);

  it('shows Bertil of Malmö nothing of Umeå’s operation: a 403 page, on the access log', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'bertil');
    expect(await page.content()).not.toContain(operationId);
    const response = await page.goto(`${api}/konsol/operationer/${operationId}`);
    expect(response?.status()).toBe(403);
    const content = await page.content();
    for (const secret of [BUSINESS.name, BUSINESS.address, DESCRIPTION, SOURCE_REFERENCE, 'Restaurang']) expect(content).not.toContain(secret);
    await page.getByRole('heading', { name: 'Du har inte tillgång till detta' }).waitFor();
    await check(page, 'forbidden');
    const log = await fetch(`${api}/v1/operations/${operationId}/access-log`, { headers: { authorization: `Bearer ${await tokenOf('david')}` } });
    const { records } = (await log.json()) as { records: { role: string; allowed: boolean; action: string }[] };
    expect(records).toContainEqual(expect.objectContaining({ role: 'coordinator', allowed: false, action: 'show' }));
    const decide = await page.goto(`${api}/konsol/operationer/${operationId}/beslut/cancel`);
    expect(decide?.status()).toBe(403);
    await context.close();
  }, 60_000);

  it('shows Bertil the 50 most recently started of Malmö’s 52 operations awaiting others, and says how many there are', async () => {
    // Visibility rows of Malmö's operations waiting for agencies, on a task queue no worker polls; ended afterwards.
    const rows = Array.from({ length: 52 }, (_, i) => `los-console-malmo-${process.pid}-${i}`);
    for (const [i, workflowId] of rows.entries())
      await engine.client.workflow.start('losOperation', {
        workflowId,
        taskQueue: `los-console-unpolled-${process.pid}`,
        args: [{}],
        typedSearchAttributes: [
          { key: searchAttributes.municipality, value: 'Malmö' },
          { key: searchAttributes.phase, value: 'joint_action' },
          { key: searchAttributes.stage, value: 'findings' },
          { key: searchAttributes.nextDeadline, value: new Date(Date.now() + (i + 1) * 3_600_000) },
        ],
      });
    const { context, page } = await contextFor();
    try {
      await eventually(
        async () => (await engine.client.workflow.count(`LosMunicipality = 'Malmö' AND LosStage = 'findings' AND ExecutionStatus = 'Running'`)).count,
        (count) => count >= 52,
      );
      await signIn(page, 'bertil');
      await page.getByText('De 50 senast startade av 52 visas.').waitFor();
      const shown = await page.locator('table').last().locator('tbody tr').count();
      expect(shown).toBe(50);
      // The first ones started are the ones left out.
      const content = await page.content();
      expect(content).not.toContain(`${rows[0]}<`);
      expect(content).toContain(`${rows[51]}<`);
    } finally {
      await context.close();
      for (const workflowId of rows) await engine.client.workflow.getHandle(workflowId).terminate('console test done');
    }
  }, 90_000);

  it('shows the steering group overdue operations and open escalations across municipalities with no personal field; a deadline met since is gone', async () => {
    const token = await tokenOf('anna');
    const tip = sampleTip({ entity: { orgNumber: BUSINESS.orgNumber, name: 'Styrgruppsfallet AB', address: 'Hemlig väg 1, Umeå', municipality: 'Umeå' } });
    const response = await fetch(`${api}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...tip, config: { assessmentDeadline: '2s' } }),
    });
    const { operationId: overdueId } = (await response.json()) as { operationId: string };
    const { context, page } = await contextFor();
    await signIn(page, 'cecilia');
    await eventually(
      async () => (await page.reload(), await page.content()),
      (content) => content.includes(overdueId),
      30_000,
    );
    await page.getByRole('heading', { name: 'Försenade operationer' }).waitFor();
    const secrets = ['Styrgruppsfallet', 'Hemlig väg', '556703', tip.description, 'SECRET-SOURCE-REF'];
    for (const secret of secrets) expect(await page.content()).not.toContain(secret);
    // The missed assessment, escalated and still owed, is an open escalation.
    const escalation = page.getByRole('table', { name: 'Eskaleringar' }).getByRole('row', { name: new RegExp(overdueId) });
    await expect(escalation.innerText()).resolves.toContain('samordnarens bedömning');
    await check(page, 'steering-group', true);
    // The overdue table's link (the escalations below link to it too).
    await page.getByRole('table', { name: 'Försenade operationer' }).getByRole('link', { name: overdueId }).click();
    await page.getByRole('heading', { name: `Operation ${overdueId}` }).waitFor();
    for (const secret of secrets) expect(await page.content()).not.toContain(secret);
    expect(await page.locator('ul.decisions').count()).toBe(0);
    expect(await page.locator('#tip').count()).toBe(0);
    await check(page, 'steering-group-operation');
    // Anna decides at last: the deadline is met, so the operation is neither overdue nor an open escalation any more.
    const decided = await fetch(`${api}/v1/operations/${overdueId}/decisions/assess`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'proceed' }),
    });
    expect(decided.status, await decided.text()).toBeLessThan(300);
    await page.goto(`${api}/konsol`);
    await eventually(
      async () => (await page.reload(), await page.locator('main').innerText()),
      (text) => !text.includes(overdueId),
      30_000,
    );
    await check(page, 'steering-group-after');
    await context.close();
  }, 90_000);

  it('offers the quorum, reschedule, call-off and cancel forms where the operation takes them, each passing axe; elsewhere it says why not', async () => {
    const token = await tokenOf('anna');
    // Thirteen participants wanted and never found: a quorum decision is owed once the mandate answers are in.
    const short = await registerVia(token, sampleTip(), { quorum: 13, mandateDeadline: '3s' });
    // An action scheduled two days ahead waits to start: it can be moved or called off.
    const planned = await registerVia(token, sampleTip(), { mandateDeadline: '6s' });
    for (const id of [short, planned]) await decideVia(token, id, 'assess', { decision: 'proceed' });
    const { context, page } = await contextFor();
    await signIn(page, 'anna', `/konsol/operationer/${short}`);
    await page.getByRole('link', { name: 'Avbryt operationen' }).click();
    await checkForm(page, 'cancel');

    await until(short, (s) => s.stage === 'quorum_decision');
    await page.goto(`${api}/konsol/operationer/${short}`);
    await page.getByRole('link', { name: 'Beslut när för få myndigheter accepterat' }).click();
    await checkForm(page, 'quorum decision');

    const ready = await until(planned, (s) => s.stage === 'schedule_decision');
    const lead = ready.agencies.find((a) => a.mandate === 'accepted')!.agency;
    await decideVia(token, planned, 'schedule', { at: new Date(Date.now() + 2 * 86_400_000).toISOString(), place: 'Storgatan 12, Umeå', lead });
    await until(planned, (s) => s.stage === 'action_start');
    // Before the action, the closing decision is not offered: its form answers with the domain's reason instead.
    const notNow = await page.goto(`${api}/konsol/operationer/${planned}/beslut/close`);
    expect(notNow?.status()).toBe(409);
    expect(await page.locator('form.decision').count()).toBe(0);
    await expect(page.locator('main').innerText()).resolves.toContain('Operationen är i fasen gemensam insats, inte uppföljning.');
    await check(page, 'decision-close-not-admissible');
    await page.goto(`${api}/konsol/operationer/${planned}`);
    await page.getByRole('link', { name: 'Flytta insatsen' }).click();
    await checkForm(page, 'reschedule');
    await page.getByRole('link', { name: 'Tillbaka till operationen' }).click();
    await page.getByRole('link', { name: 'Ställ in insatsen' }).click();
    await checkForm(page, 'call off');
    for (const id of [short, planned]) await decideVia(token, id, 'cancel', { reason: 'The test is over.' });
    await context.close();
  }, 150_000);

  it('lists the decisions due soonest deadline first, an overdue one marked; an open page, the list or an operation’s, shows a new tip and a deadline passing without a reload', async () => {
    const token = await tokenOf('anna');
    const later = await registerVia(token, sampleTip(), { assessmentDeadline: '3h' });
    const sooner = await registerVia(token, sampleTip(), { assessmentDeadline: '2h' });
    const missed = await registerVia(token, sampleTip(), { assessmentDeadline: '1s' });
    const { context, page } = await contextFor();
    await signIn(page, 'anna');
    const due = page.getByRole('table', { name: 'Beslut att fatta' });
    const rowOf = (id: string) => due.getByRole('row', { name: new RegExp(id) });
    // Visibility follows the operations within moments: all three listed, the missed one marked.
    await eventually(
      async () => (await page.reload(), await due.innerText()),
      (text) => [later, sooner].every((id) => text.includes(id)) && text.includes(missed) && /Försenad/.test(text),
      30_000,
    );
    await rowOf(missed).locator('.badge.overdue').waitFor();
    const ids = await due.locator('tbody tr td:first-child a').allInnerTexts();
    expect(ids.indexOf(missed)).toBeLessThan(ids.indexOf(sooner));
    expect(ids.indexOf(sooner)).toBeLessThan(ids.indexOf(later));
    // Every row with a deadline in order of it, soonest first; those without come last.
    const rows = due.locator('tbody tr');
    const deadlines: (string | null)[] = [];
    for (let i = 0; i < (await rows.count()); i++) {
      const time = rows.nth(i).locator('time');
      deadlines.push((await time.count()) > 0 ? await time.getAttribute('datetime') : null);
    }
    const dated = deadlines.filter((d): d is string => d !== null);
    expect(dated).toEqual([...dated].sort((a, b) => Date.parse(a) - Date.parse(b)));
    expect(deadlines.slice(dated.length).every((d) => d === null)).toBe(true);
    await expect(rowOf(missed).getAttribute('class')).resolves.toBe('overdue-row');
    await expect(rowOf(missed).innerText()).resolves.toContain('Försenad');
    for (const id of [sooner, later]) await expect(rowOf(id).innerText()).resolves.not.toContain('Försenad');
    await check(page, 'decisions-due-ordered');

    // The page left open: a new tip awaiting assessment appears, and is marked when its deadline passes, without a reload.
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations.push(frame.url()));
    const arriving = await registerVia(token, sampleTip(), { assessmentDeadline: '12s' });
    await rowOf(arriving).waitFor({ timeout: 30_000 });
    await expect(rowOf(arriving).innerText()).resolves.not.toContain('Försenad');
    await rowOf(arriving).locator('.badge.overdue').waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
    await expect(page.locator('#live-status').innerText()).resolves.toMatch(/^Uppdaterad /);
    await check(page, 'decisions-due-live');

    // An operation page left open when its assessment deadline passes: the stream tells it, and it marks itself overdue.
    const passing = await registerVia(token, sampleTip(), { assessmentDeadline: '8s' });
    await page.goto(`${api}/konsol/operationer/${passing}`);
    navigations.length = 0;
    const live = page.locator('#live');
    expect(await live.locator('.badge.overdue').count()).toBe(0);
    await live.locator('.badge.overdue').waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
    await expect(page.locator('#live-status').innerText()).resolves.toMatch(/^Uppdaterad /);
    await check(page, 'operation-overdue-live');
    for (const id of [later, sooner, missed, arriving, passing]) await decideVia(token, id, 'cancel', { reason: 'The test is over.' });
    await context.close();
  }, 120_000);

  it('can be used with the keyboard alone, focus visible: skip link, then a decision through its form', async () => {
    const token = await tokenOf('anna');
    const response = await fetch(`${api}/v1/operations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleTip()),
    });
    const { operationId: id } = (await response.json()) as { operationId: string };
    const { context, page } = await contextFor();
    await signIn(page, 'anna', `/konsol/operationer/${id}`);
    const focused = () =>
      page.evaluate(() => {
        const element = (globalThis as unknown as { document: { activeElement: { textContent: string; tagName: string; id: string; type?: string } | null } })
          .document.activeElement;
        return { text: element?.textContent?.trim() ?? '', tag: element?.tagName ?? '', id: element?.id ?? '', type: element?.type ?? '' };
      });
    const outline = () =>
      page.evaluate(() => {
        const g = globalThis as unknown as { document: { activeElement: unknown }; getComputedStyle(e: unknown): { outlineStyle: string } };
        return g.getComputedStyle(g.document.activeElement).outlineStyle;
      });
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ text: 'Hoppa till innehållet', tag: 'A' });
    expect(await outline()).not.toBe('none');
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('main');
    const tabTo = async (text: string, type?: string) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        const now = await focused();
        if (type !== undefined ? now.type === type : now.text === text) return;
      }
      throw new Error(`no focusable "${text}" reached by Tab`);
    };
    await tabTo('Bedömning');
    expect(await outline()).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/beslut\/assess$/);
    // The first choice of the decision, Gå vidare, is the first radio button.
    await tabTo('', 'radio');
    await page.keyboard.press('Space');
    expect(await page.getByLabel('Gå vidare').isChecked()).toBe(true);
    await tabTo('Skicka beslutet');
    await page.keyboard.press('Enter');
    await page.getByText('Beslutet är registrerat.').waitFor();
    await context.close();
  }, 60_000);

  it('speaks English when asked, remembers it, and reflows at 200 % zoom without sideways scrolling', async () => {
    const { context, page } = await contextFor();
    await signIn(page, 'anna');
    await page.goto(`${api}/konsol?lang=en`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('link', { name: 'Register a tip' }).click();
    await page.getByRole('heading', { name: 'Register a tip' }).waitFor();
    await check(page, 'tip-form-en');
    // 200 % zoom of a 1280 px window is a 640 px wide layout.
    await page.setViewportSize({ width: 640, height: 900 });
    await page.goto(`${api}/konsol/operationer/${operationId}`);
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await check(page, 'operation-200-percent');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${api}/konsol/utloggad`);
    await check(page, 'signed-out');
    await context.close();
  }, 60_000);

  it('has rendered the form of every decision in the table and checked it with axe-core', () => {
    expect([...formsChecked].sort()).toEqual([...DECISION_KINDS].sort());
  });
});
