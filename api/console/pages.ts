import type { Stage } from '../../domain/index.js';
import {
  AGENCY_IDS,
  DECISIONS,
  DECISION_KINDS,
  type AnyDecisionRow,
  type DecisionContext,
  type DecisionKind,
  type OperationState,
  type Plain,
  type Refusal,
  type TimelineEntry,
  type TipAsShown,
} from '../../domain/index.js';
import { decisionPathName } from '../schemas.js';
import { errorSummary, renderField, type Field, type FieldErrors, type FormValues } from './fields.js';
import { html, plain, raw, time, unsealedText, type Html } from './html.js';
import type { Texts } from './texts.js';

/** The console's pages as HTML, from what the engine answered; no page holds more than its reader may read. */

export interface ListedRow {
  operationId: string;
  municipality?: string;
  phase?: string;
  nextDeadline?: string;
  overdue?: boolean;
  /** The stage, from visibility (LosStage). */
  stage?: Stage;
  waitingFor?: string;
}

const phaseName = (phase: string | undefined, t: Texts) => (phase ? (t.phases[phase as keyof Texts['phases']] ?? phase) : '');

function deadlineCell(row: { nextDeadline?: string; overdue?: boolean }, t: Texts): Html {
  return html`${row.nextDeadline ? time(row.nextDeadline) : t.noDeadline}${row.overdue ? html` <span class="badge overdue">${t.overdue}</span>` : ''}`;
}

export function operationsTable(rows: readonly ListedRow[], t: Texts, caption: string, withMunicipality: boolean, withWaiting: boolean): Html {
  return html`<div class="table-wrap">
    <table>
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          <th scope="col">${t.columns.operation}</th>
          ${withMunicipality ? html`<th scope="col">${t.columns.municipality}</th>` : ''}
          <th scope="col">${t.columns.phase}</th>
          ${withWaiting ? html`<th scope="col">${t.columns.waitingFor}</th>` : ''}
          <th scope="col">${t.columns.deadline}</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) =>
            html`<tr${row.overdue ? raw(' class="overdue-row"') : ''}><td><a href="/konsol/operationer/${row.operationId}">${row.operationId}</a></td>${withMunicipality ? html`<td>${row.municipality ?? ''}</td>` : ''}<td>${phaseName(row.phase, t)}</td>${withWaiting ? html`<td>${row.waitingFor ?? ''}</td>` : ''}<td>${deadlineCell(row, t)}</td></tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** The coordinator's start page: what needs their decision, then the rest; it updates itself as the operation page does. */
export function duePage(
  t: Texts,
  municipality: string,
  due: readonly ListedRow[],
  others: { rows: readonly ListedRow[]; all: number },
  updatedAt: string,
): Html {
  return html`<h1>${t.due.title}</h1>
    <p>${t.due.intro(municipality)}</p>
    ${liveHint(t)}
    <div id="live">
      <p class="visually-hidden" id="live-status-text">${t.operation.updated(updatedAt)}</p>
      ${due.length > 0 ? operationsTable(due, t, t.due.title, false, true) : html`<p>${t.due.none}</p>`}
      <h2>${t.due.others}</h2>
      ${others.rows.length > 0 ? operationsTable(others.rows, t, t.due.others, false, true) : html`<p>${t.due.noOthers}</p>`}
      ${others.all > others.rows.length ? html`<p>${t.due.othersShown(others.rows.length, others.all)}</p>` : ''}
    </div>`;
}

/** That the page updates itself, and where the script says it did (politely, to a screen reader). */
const liveHint = (t: Texts) => html`<p class="hint">${t.operation.live} <span id="live-status" role="status" aria-live="polite"></span></p>`;

/** The steering group's start page: overdue operations everywhere, from visibility only (no personal field exists there). */
export function steeringPage(t: Texts, rows: readonly ListedRow[]): Html {
  return html`<h1>${t.steering.title}</h1>
    <p>${t.steering.intro}</p>
    ${rows.length > 0 ? operationsTable(rows, t, t.steering.title, true, false) : html`<p>${t.steering.none}</p>`}`;
}

/** The probe decisions ask only whether the stage takes the decision now; what the person types is the validator's call. */
function probe(kind: DecisionKind, ctx: DecisionContext): unknown {
  const later = new Date(ctx.now + 86_400_000).toISOString();
  switch (kind) {
    case 'assessment':
    case 'quorum decision':
      return { decision: 'proceed' };
    case 'schedule':
      return { at: later, place: 'x', lead: ctx.participants[0] ?? AGENCY_IDS[0] };
    case 'reschedule':
      return { at: later, reason: 'xxx' };
    case 'close':
      return { summary: 'xxx' };
    default:
      return { reason: 'xxx' };
  }
}

/** The decision context as far as the state shows it (decisions recorded and not yet acted on are the validator's to see). */
export function contextOf(state: OperationState, now: number): DecisionContext {
  return {
    phase: state.phase,
    stage: state.stage,
    intended: new Set(),
    participants: state.agencies.filter((a) => a.mandate === 'accepted').map((a) => a.agency),
    catalogue: AGENCY_IDS,
    now,
    waitingFor: state.waitingFor,
  };
}

/** Why the operation does not take this decision now (coded, for the reader's words), or undefined when it does. */
export function refusalNow(kind: DecisionKind, ctx: DecisionContext): Refusal {
  const row: AnyDecisionRow = DECISIONS[kind];
  return row.admissible(probe(kind, ctx), ctx);
}

export interface OperationPageInput {
  state: OperationState;
  timeline: TimelineEntry[];
  /** The tip, the business first: only for the operation's coordinator. */
  tip?: Plain<TipAsShown>;
  /** Decisions offered: only for the operation's coordinator. */
  decisions?: { kind: DecisionKind; refusal?: string }[];
  notice?: string;
  updatedAt: string;
}

/** The tip as its coordinator reads it; a protected source is said to be one, its reference never reaching the page. */
function tipFacts(t: Texts, tip: Plain<TipAsShown>): Html {
  const { source } = tip;
  const from = `${t.values[source.kind] ?? source.kind}${source.agency ? ` (${t.agencies[source.agency]})` : ''}`;
  return html`<h2>${t.operation.tip}</h2>
    <dl class="facts" id="tip">
      <dt>${t.labels['entity.name']}</dt>
      <dd>${tip.entity.name}</dd>
      <dt>${t.labels['entity.orgNumber']}</dt>
      <dd>${tip.entity.orgNumber}</dd>
      <dt>${t.labels['entity.address']}</dt>
      <dd>${tip.entity.address}</dd>
      <dt>${t.labels.categories}</dt>
      <dd>${tip.categories.map((category) => t.categories[category]).join(', ')}</dd>
      <dt>${t.labels.description}</dt>
      <dd>${tip.description}</dd>
      <dt>${t.labels.urgency}</dt>
      <dd>${t.values[tip.urgency] ?? tip.urgency}</dd>
      <dt>${t.labels['source.kind']}</dt>
      <dd>${source.protected ? `${from}, ${t.operation.protectedSource}` : from}</dd>
      ${
        source.reference !== undefined && !source.protected
          ? html`<dt>${t.labels['source.reference']}</dt>
              <dd>${source.reference}</dd>`
          : ''
      }
      <dt>${t.labels.receivedAt}</dt>
      <dd>${time(tip.receivedAt)}</dd>
    </dl>`;
}

export function operationPage(t: Texts, input: OperationPageInput): Html {
  const { state, timeline } = input;
  const o = t.operation;
  const sums = state.outcome;
  const sumKeys = ['finesSek', 'sanctionFeesSek', 'taxReassessedSek', 'assetsSeizedSek', 'licencesRevoked', 'closureOrders', 'criminalReports'] as const;
  const agencyName = (id: string) => t.agencies[id as keyof Texts['agencies']] ?? id;
  return html`<h1>${o.title(state.operationId)}</h1>
    ${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''} ${liveHint(t)}
    <div id="live">
      <p class="visually-hidden" id="live-status-text">${o.updated(input.updatedAt)}</p>
      <h2>${o.status}</h2>
      <dl class="facts">
        <dt>${o.phase}</dt>
        <dd>${phaseName(state.phase, t)}</dd>
        <dt>${t.columns.municipality}</dt>
        <dd>${state.municipality}</dd>
        <dt>${o.waitingFor}</dt>
        <dd>${t.stages[state.stage]}${state.waitingFor !== '' ? html` <span class="hint">(${state.waitingFor})</span>` : ''}</dd>
        <dt>${o.deadline}</dt>
        <dd>${deadlineCell({ ...(state.nextDeadline ? { nextDeadline: state.nextDeadline.dueAt } : {}), overdue: state.overdue }, t)}</dd>
      </dl>
      ${input.tip ? tipFacts(t, input.tip) : ''}
      ${
        input.decisions
          ? html`<h2>${o.decisions}</h2>
              <p>${o.decisionsIntro}</p>
              <ul class="decisions">
                ${input.decisions.map((d) =>
                  d.refusal === undefined
                    ? html`<li>
                        <a class="button" href="/konsol/operationer/${state.operationId}/beslut/${decisionPathName(d.kind)}">${t.decisionNames[d.kind]}</a>
                      </li>`
                    : html`<li><span>${t.decisionNames[d.kind]}</span>: <span class="reason">${o.notNow}: ${d.refusal}</span></li>`,
                )}
              </ul>`
          : ''
      }
      <h2>${o.agencies}</h2>
      ${
        state.agencies.length === 0
          ? html`<p>${o.noAgencies}</p>`
          : html`<div class="table-wrap">
              <table>
                <caption class="visually-hidden">
                  ${o.agencies}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">${t.columns.agency}</th>
                    <th scope="col">${t.columns.mandate}</th>
                    <th scope="col">${t.columns.tools}</th>
                    <th scope="col">${t.columns.contact}</th>
                    <th scope="col">${t.columns.ready}</th>
                    <th scope="col">${t.columns.findings}</th>
                    <th scope="col">${t.columns.outcomes}</th>
                  </tr>
                </thead>
                <tbody>
                  ${state.agencies.map(
                    (a) =>
                      html`<tr>
                        <th scope="row">${agencyName(a.agency)}</th>
                        <td>${t.mandates[a.mandate]}${a.declineReason !== undefined ? html`: ${plain(a.declineReason, t)}` : ''}</td>
                        <td>${a.tools.join(', ')}</td>
                        <td>${plain(a.contactFunction, t)}</td>
                        <td>${a.ready ? t.yes : t.no}</td>
                        <td>${t.reports[a.findings]}</td>
                        <td>${t.reports[a.outcomes]}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
      <h2>${o.action}</h2>
      ${
        state.action
          ? html`<dl class="facts">
              <dt>${o.actionNumber}</dt>
              <dd>${state.actionNumber}</dd>
              <dt>${o.actionAt}</dt>
              <dd>${time(state.action.at)}</dd>
              <dt>${o.actionPlace}</dt>
              <dd>${plain(state.action.place, t)}</dd>
              <dt>${o.actionLead}</dt>
              <dd>${agencyName(state.action.lead)}</dd>
            </dl>`
          : html`<p>${o.noAction}</p>`
      }
      <h2>${o.outcome}</h2>
      ${
        sums
          ? html`<dl class="facts">
              <dt>${t.sums.participants}</dt>
              <dd>${sums.participants.map(agencyName).join(', ')}</dd>
              <dt>${t.sums.declined}</dt>
              <dd>${sums.declined.map(agencyName).join(', ')}</dd>
              <dt>${t.sums.noAnswer}</dt>
              <dd>${sums.noAnswer.map(agencyName).join(', ')}</dd>
              ${sumKeys.map(
                (key) =>
                  html`<dt>${t.sums[key]}</dt>
                    <dd>${sums[key].toLocaleString(t === undefined ? 'sv' : 'sv-SE')}</dd>`,
              )}
              <dt>${t.sums.agenciesWithoutOutcomeReport}</dt>
              <dd>${sums.agenciesWithoutOutcomeReport.map(agencyName).join(', ')}</dd>
              ${
                sums.coordinatorSummary !== undefined
                  ? html`<dt>${t.sums.coordinatorSummary}</dt>
                      <dd>${plain(sums.coordinatorSummary, t)}</dd>`
                  : ''
              }
            </dl>`
          : html`<p>${o.noOutcome}</p>`
      }
      <h2>${o.timeline}</h2>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">
            ${o.timeline}
          </caption>
          <thead>
            <tr>
              <th scope="col">${t.columns.at}</th>
              <th scope="col">${t.columns.agency}</th>
              <th scope="col">${t.columns.text}</th>
              <th scope="col">${t.columns.by}</th>
            </tr>
          </thead>
          <tbody>
            ${timeline.map(
              (entry) =>
                html`<tr>
                  <td>${time(entry.at)}</td>
                  <td>${entry.agency ? agencyName(entry.agency) : ''}</td>
                  <td>${unsealedText(entry.text, t)}</td>
                  <td>${entry.by ? html`${entry.by.name} (${t.roles[entry.by.role as keyof Texts['roles']] ?? entry.by.role})` : ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </div>`;
}

export interface FormPage {
  title: string;
  intro?: Html;
  action: string;
  fields: readonly Field[];
  values: FormValues;
  errors: FieldErrors;
  message?: string;
  csrfToken: string;
  submit: string;
  cssClass: string;
  /** Fields shown folded (the tip's deadlines). */
  folded?: { title: string; prefix: string };
  back?: { href: string; text: string };
}

export function formPage(t: Texts, page: FormPage): Html {
  const open = page.folded ? page.fields.filter((f) => !f.path.startsWith(page.folded!.prefix)) : page.fields;
  const folded = page.folded ? page.fields.filter((f) => f.path.startsWith(page.folded!.prefix)) : [];
  const foldedHasError = folded.some((f) => page.errors.has(f.path));
  return html`<h1>${page.title}</h1>
    ${page.intro ?? ''} ${errorSummary(page.message, page.errors, t)}
    <form class="${page.cssClass}" method="post" action="${page.action}" novalidate>
      <input type="hidden" name="_csrf" value="${page.csrfToken}" />
      ${open.map((field) => renderField(field, page.values, page.errors, t))}
      ${folded.length > 0 ? html`<details${foldedHasError ? raw(' open') : ''}><summary>${page.folded!.title}</summary>${folded.map((field) => renderField(field, page.values, page.errors, t))}</details>` : ''}
      <p><button type="submit">${page.submit}</button></p>
    </form>
    ${page.back ? html`<p><a href="${page.back.href}">${page.back.text}</a></p>` : ''}`;
}

/** One change a correction makes: the field, what is registered now and what the correction sends. */
export interface CorrectionChange {
  field: string;
  before: unknown;
  after: unknown;
}

/**
 * Before a correction is sent: each field it changes, what is registered now and what replaces it (fields it
 * leaves alone are not listed), and the whole form again, hidden. The registered values are personal data,
 * read as the operation's coordinator may and on the access log.
 */
export function confirmCorrectionPage(t: Texts, operationId: string, values: FormValues, changes: readonly CorrectionChange[], csrfToken: string): Html {
  const shown = (value: unknown) => {
    if (typeof value === 'boolean') return value ? t.yes : t.no;
    if (typeof value === 'string') return t.values[value] ?? value;
    return t.sealed;
  };
  const hidden = Object.entries(values).flatMap(([name, value]) =>
    name === '_csrf' || name === 'confirm' || name === 'edit'
      ? []
      : (Array.isArray(value) ? value : [value ?? '']).map((v) => html`<input type="hidden" name="${name}" value="${v}" />`),
  );
  return html`<h1>${t.form.confirmTitle}</h1>
    <p>${t.form.confirmIntro(operationId)}</p>
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">
          ${t.form.confirmTitle}
        </caption>
        <thead>
          <tr>
            <th scope="col">${t.form.field}</th>
            <th scope="col">${t.form.oldValue}</th>
            <th scope="col">${t.form.newValue}</th>
          </tr>
        </thead>
        <tbody>
          ${changes.map(
            (change) =>
              html`<tr>
                <th scope="row">${t.labels[change.field] ?? change.field}</th>
                <td><del>${shown(change.before)}</del></td>
                <td><ins>${shown(change.after)}</ins></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <form method="post" action="/konsol/tips/ny">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      ${hidden}
      <p>
        <button type="submit" name="confirm" value="yes">${t.form.confirmSend}</button>
        <button type="submit" name="edit" value="yes" class="secondary">${t.form.confirmBack}</button>
      </p>
    </form>`;
}

export function messagePage(title: string, message: string, link?: { href: string; text: string }): Html {
  return html`<h1>${title}</h1>
    <p>${message}</p>
    ${link ? html`<p><a href="${link.href}">${link.text}</a></p>` : ''}`;
}

export { DECISION_KINDS };
