import { INLINE_SEALED, formatStockholm, isSealed, type Sealed } from '../../domain/index.js';
import type { Person } from '../auth.js';
import { TEXTS, type Language, type Texts } from './texts.js';

/**
 * Server-rendered HTML: text is escaped where it is put in, a page is one layout (language, skip link, header with
 * who is signed in, one main landmark), and every time reads as Stockholm time with its zone.
 */

/** HTML that is already safe to put in a page (escaped, or written here). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const raw = (value: string) => new Html(value);

export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

type Part = Html | string | number | undefined | null | false | readonly Part[];

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escape(String(part));
}

/** A template whose interpolations are escaped unless they are Html. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((part, i) => (out += render(part) + strings[i + 1]!));
  return new Html(out);
}

/** A time for people: "2026-03-12 19:00:00 CET", in a <time> element carrying the instant. */
export function time(instant: string): Html {
  return html`<time datetime="${instant}">${formatStockholm(instant)}</time>`;
}

/** A value that may still be sealed (for a reader not entitled to it): said so, never shown as ciphertext. */
export function plain(value: string | Sealed | undefined, t: Texts): string {
  if (value === undefined) return '';
  return isSealed(value) ? t.sealed : value;
}

/** Free text of the timeline with sealed tokens said as sealed. */
export function unsealedText(text: string, t: Texts): string {
  return text.replace(INLINE_SEALED, t.sealed);
}

export interface Page {
  lang: Language;
  title: string;
  person?: Person;
  /** The session's CSRF token, for the sign-out form. */
  csrfToken?: string;
  /** This page's path and query, for the language switch. */
  path: string;
  body: Html;
  /** Scripts of the console's own origin. */
  scripts?: string[];
  /** The page's live event stream (server-sent events), which its script listens to. */
  stream?: string;
}

/** The language switch keeps the page and its other query parameters. */
function otherLanguageHref(path: string, lang: Language): string {
  const url = new URL(path, 'http://console');
  url.searchParams.set('lang', lang);
  return `${url.pathname}${url.search}`;
}

export function layout(page: Page): string {
  const t = TEXTS[page.lang];
  const person = page.person;
  return `<!doctype html>${html`<html lang="${page.lang}">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${page.title} – ${t.appName}</title>
      <link rel="stylesheet" href="/konsol/assets/console.css" />
      ${(page.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
    </head>
    <body${page.stream ? html` data-stream="${page.stream}"` : ''}>
      <a class="skip" href="#main">${t.skipToContent}</a>
      <header class="top">
        <p class="brand"><a href="/konsol">${t.appName}</a></p>
        <nav aria-label="${t.appName}">
          <ul>
            <li><a href="/konsol">${t.nav.due}</a></li>
            ${person?.role === 'coordinator' ? html`<li><a href="/konsol/tips/ny">${t.nav.newTip}</a></li>` : ''}
            <li>
              <a href="${otherLanguageHref(page.path, t.otherLanguageCode as Language)}" lang="${t.otherLanguageCode}" hreflang="${t.otherLanguageCode}"
                >${t.otherLanguage}</a
              >
            </li>
          </ul>
        </nav>
        ${
          person
            ? html`<div class="who">
                <p>${t.signedInAs} <strong>${person.name}</strong>, ${t.roles[person.role]}${person.municipality ? html`, ${person.municipality}` : ''}</p>
                <form method="post" action="/konsol/logga-ut">
                  <input type="hidden" name="_csrf" value="${page.csrfToken ?? ''}" /><button type="submit">${t.signOut}</button>
                </form>
              </div>`
            : ''
        }
      </header>
      <main id="main" tabindex="-1">${page.body}</main>
    </body>
  </html>`}`;
}
