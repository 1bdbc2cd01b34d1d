import { createRequire } from 'node:module';
import type { Result } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium for the tests that need a real browser: Debian's /usr/bin/chromium (no browser is downloaded),
 * driven by playwright-core. `chromium.launch` gives every launch a fresh, temporary user-data-dir of its own and
 * removes it on close, so no test sees another's cookies or storage.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Quiet and offline apart from what the test opens: no QUIC, no first-run pages, no background calls home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `extraArgs`, e.g. `--ignore-certificate-errors-spki-list=<sha256>` to trust one test certificate's key. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** One accessibility violation, as a failing assertion should show it: the rule, its impact and where. */
export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

/**
 * The page's accessibility violations by axe-core (WCAG 2 A/AA and best practice rules). axe is injected as a
 * script tag, so a page whose Content-Security-Policy forbids inline scripts must be opened in a context made with
 * `bypassCSP: true`.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Result[] }> } }).axe;
    const { document } = globalThis as unknown as { document: unknown };
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    targets: violation.nodes.map((node) => node.target.join(' ')),
  }));
}
