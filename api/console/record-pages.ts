import type { z } from 'zod';
import type { AccessLogPage } from '../../vault/index.js';
import type { DisclosureRegisterView, SameBusiness } from '../schemas.js';
import { fieldId, type FieldErrors, type FormValues } from './fields.js';
import { html, raw, time, type Html } from './html.js';
import { ESCALATED_DEADLINES, type EscalatedDeadline } from '../../domain/index.js';
import type { ListedRow } from './pages.js';
import type { Texts } from './texts.js';

/** The records' pages and sections: the disclosure register, same business, the access log, the escalations. */

const phaseName = (phase: string | undefined, t: Texts) => (phase ? (t.phases[phase as keyof Texts['phases']] ?? phase) : '');
const agencyName = (id: string, t: Texts) => t.agencies[id as keyof Texts['agencies']] ?? id;

/** Which personal fields went to which agency, when, in which event and on which legal ground (names only, never values). */
export function disclosuresPage(t: Texts, register: z.infer<typeof DisclosureRegisterView>, back?: { href: string; text: string }): Html {
  const r = t.records;
  return html`<h1>${r.disclosuresTitle(register.operationId)}</h1>
    <p>${r.disclosuresIntro}</p>
    ${register.catalogueNamesGrounds ? '' : html`<p class="notice" role="note"><strong>${r.noGroundsAtAll}</strong></p>`}
    ${
      register.disclosures.length === 0
        ? html`<p>${r.noDisclosures}</p>`
        : html`<div class="table-wrap">
            <table class="disclosures">
              <caption class="visually-hidden">
                ${r.disclosuresTitle(register.operationId)}
              </caption>
              <thead>
                <tr>
                  <th scope="col">${t.columns.at}</th>
                  <th scope="col">${t.columns.agency}</th>
                  <th scope="col">${t.columns.event}</th>
                  <th scope="col">${r.fields}</th>
                  <th scope="col">${r.ground}</th>
                  <th scope="col">${r.status}</th>
                </tr>
              </thead>
              <tbody>
                ${register.disclosures.map(
                  (d) =>
                    html`<tr>
                      <td>${time(d.at)}</td>
                      <th scope="row">${agencyName(d.agency, t)}</th>
                      <td>
                        ${t.events[d.event] ?? d.event} <span class="hint">(<code>${d.event}</code>)</span><br /><span class="hint">${d.eventType}</span
                        ><br /><span class="hint">${r.eventId}: <code>${d.eventId}</code></span>
                      </td>
                      <td>
                        <ul class="plain">
                          ${d.fields.map((path) => html`<li>${t.labels[path] ?? path} <span class="hint">(<code>${path}</code>)</span></li>`)}
                        </ul>
                      </td>
                      <td>${d.legalGround ?? html`<strong class="no-ground">${r.noGround}</strong>`}</td>
                      <td>${r.statuses[d.status] ?? d.status}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    ${back ? html`<p><a href="${back.href}">${back.text}</a></p>` : ''}`;
}

/** Same business on the operation page: links to the operations the reader may open, counts of the rest. */
export function sameBusinessSection(t: Texts, view: z.infer<typeof SameBusiness> | 'unknown'): Html {
  const r = t.records;
  if (view === 'unknown')
    return html`<h2>${r.sameBusiness}</h2>
      <p>${r.sameBusinessUnknown}</p>`;
  const others = view.others;
  const phases = others
    ? Object.entries(others.byPhase)
        .map(([phase, count]) => `${count} ${phaseName(phase, t)}`)
        .join(', ')
    : '';
  return html`<h2>${r.sameBusiness}</h2>
    <p>${r.sameBusinessIntro}</p>
    ${
      view.operations.length === 0 && (others?.count ?? 0) === 0
        ? html`<p>${r.sameBusinessNone}</p>`
        : html`${
            view.operations.length > 0
              ? html`<ul class="same-business">
                  ${view.operations.map(
                    (o) =>
                      html`<li>
                        <a href="/konsol/operationer/${o.operationId}">${o.operationId}</a>${o.municipality ? html`, ${o.municipality}` : ''}:
                        ${phaseName(o.phase, t) || o.status.toLowerCase()}${o.overdue ? html` <span class="badge overdue">${t.overdue}</span>` : ''}
                      </li>`,
                  )}
                </ul>`
              : ''
          }
          ${others && others.count > 0 ? html`<p>${r.othersElsewhere(others.count, phases)}</p>` : ''}`
    }`;
}

export interface EscalationRow {
  operationId: string;
  municipality?: string;
  /** When the missed deadline was due: the engine escalates the moment it passes. */
  at: string;
  deadline: EscalatedDeadline;
}

/**
 * The escalations still open, from visibility alone (no operation is asked, so an operation whose worker is away
 * holds nothing up): the engine escalates exactly the deadlines of the stages STAGES marks `escalated`, sets
 * LosOverdue as it does, and clears it when the stage's deadline is met and the stage moves on. So an operation
 * overdue at an escalated stage is one open escalation (that stage's deadline, due at LosNextDeadline); one whose
 * deadline has since been met, or that has moved on or ended, is none.
 */
export function openEscalations(rows: readonly ListedRow[]): EscalationRow[] {
  return rows
    .flatMap((row) =>
      row.overdue === true && row.stage !== undefined && (ESCALATED_DEADLINES as readonly string[]).includes(row.stage) && row.nextDeadline !== undefined
        ? [
            {
              operationId: row.operationId,
              at: row.nextDeadline,
              deadline: row.stage as EscalatedDeadline,
              ...(row.municipality !== undefined ? { municipality: row.municipality } : {}),
            },
          ]
        : [],
    )
    .sort((a, b) => a.at.localeCompare(b.at));
}

/** The steering group's escalations: which deadline was missed where and when; no personal field exists in them. */
export function escalationsSection(t: Texts, rows: readonly EscalationRow[]): Html {
  const e = t.escalations;
  return html`<h2>${e.title}</h2>
    <p>${e.intro}</p>
    ${
      rows.length === 0
        ? html`<p>${e.none}</p>`
        : html`<div class="table-wrap">
            <table class="escalations">
              <caption class="visually-hidden">
                ${e.title}
              </caption>
              <thead>
                <tr>
                  <th scope="col">${e.dueAt}</th>
                  <th scope="col">${t.columns.operation}</th>
                  <th scope="col">${t.columns.municipality}</th>
                  <th scope="col">${e.deadline}</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (row) =>
                    html`<tr>
                      <td>${time(row.at)}</td>
                      <td><a href="/konsol/operationer/${row.operationId}">${row.operationId}</a></td>
                      <td>${row.municipality ?? ''}</td>
                      <td>${e.deadlines[row.deadline] ?? row.deadline}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }`;
}

/** The access log's search fields, as the form names them. */
export const ACCESS_LOG_FIELDS = ['operation', 'who', 'from', 'to', 'allowed', 'security'] as const;

export interface AccessLogPageInput {
  values: FormValues;
  errors: FieldErrors;
  message?: string;
  page?: AccessLogPage;
  /** The next page's address, when there may be more. */
  nextHref?: string;
  /** The time range searched, as the instants the typed Stockholm times were read as. */
  range?: { from?: string; to?: string };
}

const value = (values: FormValues, name: string) => {
  const v = values[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

/** The auditor's access log: a search form (Stockholm time), then one page of records with a link to the next. */
export function accessLogPage(t: Texts, input: AccessLogPageInput): Html {
  const r = t.records;
  const labels: Record<(typeof ACCESS_LOG_FIELDS)[number], string> = {
    operation: r.operation,
    who: r.who,
    from: r.from,
    to: r.to,
    allowed: r.outcome,
    security: r.security,
  };
  const errorOf = (name: string) => input.errors.get(name) ?? [];
  const aria = (name: string, hint = false) => {
    const ids = [...(hint ? [`${fieldId(name)}-hint`] : []), ...(errorOf(name).length > 0 ? [`${fieldId(name)}-error`] : [])];
    return raw(`${ids.length > 0 ? ` aria-describedby="${ids.join(' ')}"` : ''}${errorOf(name).length > 0 ? ' aria-invalid="true"' : ''}`);
  };
  const error = (name: string) => (errorOf(name).length > 0 ? html`<p class="error" id="${fieldId(name)}-error">${errorOf(name).join(' ')}</p>` : '');
  const textField = (name: 'operation' | 'who') =>
    html`<div class="field${errorOf(name).length > 0 ? ' invalid' : ''}">
      <label for="${fieldId(name)}">${labels[name]}</label>${error(name)}<input
        type="text"
        id="${fieldId(name)}"
        name="${name}"
        value="${value(input.values, name)}"
        ${aria(name)}
      />
    </div>`;
  const timeField = (name: 'from' | 'to') =>
    html`<div class="field${errorOf(name).length > 0 ? ' invalid' : ''}">
      <label for="${fieldId(name)}">${labels[name]}</label>
      <p class="hint" id="${fieldId(name)}-hint">${t.form.timeHint}</p>
      ${error(name)}<input type="datetime-local" step="1" id="${fieldId(name)}" name="${name}" value="${value(input.values, name)}" ${aria(name, true)} />
    </div>`;
  const allowed = value(input.values, 'allowed');
  const records = input.page?.records ?? [];
  return html`<h1>${r.accessLogTitle}</h1>
    <p>${r.accessLogIntro}</p>
    ${
      input.message !== undefined || input.errors.size > 0
        ? html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary">
            <h2>${r.invalidSearch}</h2>
            ${input.message ? html`<p>${input.message}</p>` : ''}
            <ul>
              ${[...input.errors.entries()].map(
                ([name, messages]) => html`<li><a href="#${fieldId(name)}">${labels[name as keyof typeof labels] ?? name}: ${messages.join(' ')}</a></li>`,
              )}
            </ul>
          </div>`
        : ''
    }
    <form class="access-log" method="get" action="/konsol/atkomstlogg" role="search" aria-label="${r.filters}">
      <fieldset>
        <legend>${r.filters}</legend>
        ${textField('operation')} ${textField('who')} ${timeField('from')} ${timeField('to')}
        <div class="field${errorOf('allowed').length > 0 ? ' invalid' : ''}">
          <label for="${fieldId('allowed')}">${labels.allowed}</label>${error('allowed')}<select id="${fieldId('allowed')}" name="allowed" ${aria('allowed')}>
            ${(['', 'true', 'false'] as const).map(
              (option) => html`<option value="${option}" ${option === allowed ? raw(' selected') : ''}>${r.outcomes[option === '' ? 'all' : option]}</option>`,
            )}
          </select>
        </div>
        <div class="field choice${errorOf('security').length > 0 ? ' invalid' : ''}">
          <input
            type="checkbox"
            id="${fieldId('security')}"
            name="security"
            value="true"
            ${value(input.values, 'security') === 'true' ? raw(' checked') : ''}${aria('security')}
          /><label for="${fieldId('security')}">${labels.security}</label>${error('security')}
        </div>
        <p><button type="submit">${r.search}</button> <a href="/konsol/atkomstlogg">${r.clear}</a></p>
      </fieldset>
    </form>
    ${
      input.page === undefined
        ? ''
        : html`<h2>${r.records}</h2>
            ${
              input.range?.from !== undefined || input.range?.to !== undefined
                ? html`<p>
                    ${r.range}: ${input.range.from !== undefined ? html`${r.from.toLowerCase()} ${time(input.range.from)}` : ''}
                    ${input.range.to !== undefined ? html`${r.to.toLowerCase()} ${time(input.range.to)}` : ''}
                  </p>`
                : ''
            }
            <p role="status">${r.scanned(records.length, input.page.scanned)}</p>
            ${
              records.length === 0
                ? html`<p>${r.noRecords}</p>`
                : html`<div class="table-wrap" role="region" aria-labelledby="access-log-caption" tabindex="0">
                    <table class="access-log">
                      <caption id="access-log-caption" class="visually-hidden">
                        ${r.records}
                      </caption>
                      <thead>
                        <tr>
                          <th scope="col">${r.columns.at}</th>
                          <th scope="col">${r.columns.who}</th>
                          <th scope="col">${r.columns.role}</th>
                          <th scope="col">${r.columns.operation}</th>
                          <th scope="col">${r.columns.action}</th>
                          <th scope="col">${r.columns.outcome}</th>
                          <th scope="col">${r.columns.detail}</th>
                          <th scope="col">${r.columns.address}</th>
                          <th scope="col">${r.columns.asked}</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${records.map(
                          (record) =>
                            html`<tr${record.allowed ? '' : raw(' class="refused-row"')}>
                              <td>${time(record.at)}</td>
                              <td><a href="/konsol/atkomstlogg?who=${encodeURIComponent(record.who)}">${record.who}</a></td>
                              <td>${t.roles[record.role as keyof Texts['roles']] ?? record.role}</td>
                              <td>
                                ${record.operationId ? html`<a href="/konsol/operationer/${record.operationId}/utlamnanden">${record.operationId}</a>` : ''}
                              </td>
                              <td>${r.actions[record.action] ?? record.action}</td>
                              <td>${record.allowed ? r.allowed : html`<strong class="overdue">${r.refused}</strong>`}</td>
                              <td>${record.detail}</td>
                              <td>${record.address ?? ''}</td>
                              <td><code>${record.asked ?? ''}</code></td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
            }
            ${input.nextHref ? html`<p><a href="${input.nextHref}" rel="next">${r.next}</a></p>` : ''}`
    }`;
}
