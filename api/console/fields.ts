import type { z } from 'zod';
import { AGENCY_IDS, Instant, PHASES, STAGES, describeIssues } from '../../domain/index.js';
import { fieldErrors, type FieldError } from '../problems.js';
import { html, raw, type Html } from './html.js';
import { ISSUE_CODES, type IssueCode, type IssueFacts, type Texts } from './texts.js';

/**
 * A form built from the domain's zod schema: each field's control from its type (an enum is a choice, a list of
 * an enum is a set of checkboxes, a boolean a checkbox, a time a date-time field read as Stockholm time), a
 * discriminated union as a choice with the fields of each option marked with the options they belong to. What
 * the person typed goes back through the same schema; its errors land next to the field they name.
 */

export type Control = 'text' | 'textarea' | 'datetime' | 'select' | 'radio' | 'checkboxes' | 'checkbox' | 'number';

export interface Field {
  /** The dotted path in the input, also the form field's name: `entity.orgNumber`. */
  path: string;
  control: Control;
  required: boolean;
  options?: readonly string[];
  /** Only when the union's discriminator at `path` has one of `values`. */
  when?: { path: string; values: string[] };
  step?: string;
}

/** Free text that is written in paragraphs rather than on one line (the schema's Text, sealed, reads alike). */
const MULTILINE = new Set(['description', 'reason', 'summary', 'question', 'note']);

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  element?: z.ZodType;
  entries?: Record<string, string>;
  values?: unknown[];
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

export function fieldsOf(schema: z.ZodType, prefix = '', required = true, when?: Field['when']): Field[] {
  const def = defOf(schema);
  const at = prefix;
  const last = at.split('.').at(-1) ?? '';
  const base = { path: at, required, ...(when ? { when } : {}) };
  if (schema === (Instant as unknown)) return [{ ...base, control: 'datetime' }];
  switch (def.type) {
    case 'optional':
    case 'default':
      return fieldsOf(def.innerType!, prefix, false, when);
    case 'object':
      return Object.entries(def.shape!).flatMap(([key, inner]) => fieldsOf(inner, prefix ? `${prefix}.${key}` : key, required, when));
    case 'union': {
      const key = def.discriminator;
      if (!key) return [{ ...base, control: 'text' }];
      const discriminatorPath = prefix ? `${prefix}.${key}` : key;
      const byPath = new Map<string, Field>();
      const values: string[] = [];
      for (const option of def.options!) {
        const value = String(defOf(defOf(option).shape![key]!).values![0]);
        values.push(value);
        for (const field of fieldsOf(option, prefix, required, when)) {
          if (field.path === discriminatorPath) continue;
          const known = byPath.get(field.path);
          if (known) known.when!.values.push(value);
          else byPath.set(field.path, { ...field, when: { path: discriminatorPath, values: [value] } });
        }
      }
      const optionFields = [...byPath.values()].map((field) => {
        if (field.when!.values.length !== values.length) return field;
        // A field every option has applies whatever is chosen.
        const { when: _ignored, ...rest } = field;
        return when ? { ...rest, when } : rest;
      });
      return [{ path: discriminatorPath, control: 'radio', required, options: values, ...(when ? { when } : {}) }, ...optionFields];
    }
    case 'enum':
      return [
        { ...base, control: def.entries && Object.keys(def.entries).length <= 4 && last === 'kind' ? 'radio' : 'select', options: Object.values(def.entries!) },
      ];
    case 'array': {
      const element = defOf(def.element!);
      if (element.type === 'enum') return [{ ...base, control: 'checkboxes', options: Object.values(element.entries!) }];
      return [{ ...base, control: 'text' }];
    }
    case 'boolean':
      return [{ ...base, control: 'checkbox' }];
    case 'number':
      return [{ ...base, control: 'number', step: 'any' }];
    default:
      return [{ ...base, control: MULTILINE.has(last) ? 'textarea' : 'text' }];
  }
}

/** What the form sent: the name of each field and its value, or values for a set of checkboxes. */
export type FormValues = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const all = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function applies(field: Field, values: FormValues): boolean {
  return field.when === undefined || field.when.values.includes(first(values[field.when.path]) ?? '');
}

function setAt(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

/**
 * The input the form's values stand for, ready for the schema: an empty optional field is left out, an empty
 * required one is sent empty so that the schema says what it needs; a field of an option not chosen is left out.
 */
export function inputFrom(fields: readonly Field[], values: FormValues): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const field of fields) {
    if (!applies(field, values)) continue;
    const value = values[field.path];
    switch (field.control) {
      case 'checkboxes':
        setAt(input, field.path, all(value));
        break;
      case 'checkbox':
        setAt(input, field.path, first(value) === 'true');
        break;
      case 'number': {
        const text = first(value)?.trim() ?? '';
        if (text !== '') setAt(input, field.path, Number(text.replace(',', '.')));
        else if (field.required) setAt(input, field.path, undefined);
        break;
      }
      default: {
        const text = first(value) ?? '';
        if (text !== '' || (field.required && field.control !== 'select' && field.control !== 'radio')) setAt(input, field.path, text);
      }
    }
  }
  return input;
}

/** A field's errors by its path, from the schema's issues or a problem's `errors[]`. */
export type FieldErrors = Map<string, string[]>;

/** The field a path points into (`agencies.0` is in `agencies`), or undefined when the form has none. */
export function fieldFor(fields: readonly Field[], path: string): string | undefined {
  const matches = fields.filter((f) => path === f.path || path.startsWith(`${f.path}.`));
  return matches.sort((a, b) => b.path.length - a.path.length)[0]?.path;
}

/**
 * The issues in the reader's language, each next to the field it names: worded by its code at that field
 * (`categories:too_small`), else by its code, else by a sentence naming the field. Never by the English
 * message, which is the JSON API's and the logs'. Issues that name no field of the form are `unplaced`.
 */
export function errorsOf(fields: readonly Field[], issues: readonly FieldError[], t: Texts): { byField: FieldErrors; unplaced: string[] } {
  const byField: FieldErrors = new Map();
  const unplaced: string[] = [];
  for (const issue of issues) {
    const path = fieldFor(fields, issue.field);
    const text = wordedIssue(t, path, issue);
    if (path === undefined) unplaced.push(text);
    else byField.set(path, [...(byField.get(path) ?? []), text]);
  }
  return { byField, unplaced };
}

const isIssueCode = (code: string | undefined): code is IssueCode => code !== undefined && (ISSUE_CODES as readonly string[]).includes(code);

/** One issue in the reader's language; `path` is the form's field it is shown at, if any. */
export function wordedIssue(t: Texts, path: string | undefined, issue: Pick<FieldError, 'code' | 'params'>): string {
  const words = t.issues;
  const code = issue.code;
  const worded = (path !== undefined && code !== undefined ? words.at[`${path}:${code}`] : undefined) ?? (isIssueCode(code) ? words.codes[code] : undefined);
  if (worded) return worded(factsOf(t, issue.params ?? {}));
  return path !== undefined ? words.fallback(t.labels[path] ?? path) : words.unknown;
}

/** An issue's facts as the reader reads them: a phase, stage, agency or field by its name in the reader's language. */
function factsOf(t: Texts, params: Record<string, string>): IssueFacts {
  const agency = (id: string | undefined) => (id === undefined ? undefined : (t.agencies[id as keyof Texts['agencies']] ?? id));
  const phase = (id: string | undefined) => (id !== undefined && (PHASES as readonly string[]).includes(id) ? t.phases[id as keyof Texts['phases']] : id);
  const facts: IssueFacts = { ...params };
  for (const [key, value] of Object.entries({
    phase: phase(params.phase),
    expected: phase(params.expected),
    agency: agency(params.agency),
    lead: agency(params.lead),
    participants: params.participants?.split(',').filter(Boolean).map(agency).join(', '),
    stage: params.stage !== undefined && params.stage in STAGES ? t.stages[params.stage as keyof Texts['stages']] : params.stage,
    fields: params.fields
      ?.split(',')
      .map((f) => t.labels[f] ?? f)
      .join(', '),
  }))
    if (value !== undefined) facts[key as keyof IssueFacts] = value;
  return facts;
}

/** A domain refusal names its field after "… rejected: " (or first): `schedule rejected: lead "x" has not accepted…`. */
export function fieldNamedIn(fields: readonly Field[], message: string): string | undefined {
  const match = /^(?:[a-z ]+ rejected: )?([A-Za-z][\w.]*)[ :"]/.exec(message);
  return match ? fieldFor(fields, match[1]!) : undefined;
}

/** The schema's verdict on the input: the value, or the domain's message (for the log) and one coded entry per issue. */
export function parseForm<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): { ok: true; value: z.output<S> } | { ok: false; message: string; issues: FieldError[] } {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: `${what} rejected: ${describeIssues(result.error, input)}`, issues: fieldErrors(result.error) };
}

const idOf = (path: string) => `f-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
export const fieldId = idOf;

function optionLabel(field: Field, value: string, t: Texts): string {
  const agencyField = field.path === 'lead' || field.path === 'agencies' || field.path.endsWith('.agency');
  if (agencyField && (AGENCY_IDS as readonly string[]).includes(value)) return t.agencies[value as keyof Texts['agencies']];
  if (field.path === 'categories') return t.categories[value as keyof Texts['categories']] ?? value;
  return t.values[value] ?? value;
}

/** One field: its label, hint, the error next to it, and the control holding what was typed. */
export function renderField(field: Field, values: FormValues, errors: FieldErrors, t: Texts): Html {
  const id = idOf(field.path);
  const label = t.labels[field.path] ?? field.path;
  const problems = errors.get(field.path) ?? [];
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const hints = [
    ...(field.when ? [t.form.usedWhen(field.when.values.map((v) => t.values[v] ?? v).join(', '))] : []),
    ...(field.control === 'datetime' ? [t.form.timeHint] : []),
  ];
  const describedBy = [...(hints.length > 0 ? [hintId] : []), ...(problems.length > 0 ? [errorId] : [])].join(' ');
  const aria = raw(`${describedBy ? ` aria-describedby="${describedBy}"` : ''}${problems.length > 0 ? ' aria-invalid="true"' : ''}`);
  const requiredMark = field.required && !field.when ? html` <span class="req">(${t.form.required})</span>` : '';
  const hint = hints.length > 0 ? html`<p class="hint" id="${hintId}">${hints.join(' ')}</p>` : '';
  const error = problems.length > 0 ? html`<p class="error" id="${errorId}">${problems.join(' ')}</p>` : '';
  const value = first(values[field.path]) ?? '';
  const classes = `field${problems.length > 0 ? ' invalid' : ''}`;
  switch (field.control) {
    case 'radio':
    case 'checkboxes': {
      const type = field.control === 'radio' ? 'radio' : 'checkbox';
      const chosen = all(values[field.path]);
      return html`<fieldset class="${classes}" id="${id}" ${aria}>
        <legend>${label}${requiredMark}</legend>
        ${hint}${error}
        ${(field.options ?? []).map(
          (option, i) =>
            html`<div class="choice">
              <input type="${type}" id="${id}-${i}" name="${field.path}" value="${option}" ${chosen.includes(option) ? raw(' checked') : ''} /><label
                for="${id}-${i}"
                >${optionLabel(field, option, t)}</label
              >
            </div>`,
        )}
      </fieldset>`;
    }
    case 'checkbox':
      return html`<div class="${classes} choice">
        <input type="checkbox" id="${id}" name="${field.path}" value="true" ${value === 'true' ? raw(' checked') : ''}${aria} /><label for="${id}"
          >${label}</label
        >${hint}${error}
      </div>`;
    case 'select':
      return html`<div class="${classes}">
        <label for="${id}">${label}${requiredMark}</label>${hint}${error}<select id="${id}" name="${field.path}" ${aria}>
          <option value="">${t.form.chooseOne}</option>
          ${(field.options ?? []).map((option) => html`<option value="${option}" ${option === value ? raw(' selected') : ''}>${optionLabel(field, option, t)}</option>`)}
        </select>
      </div>`;
    case 'textarea':
      return html`<div class="${classes}">
        <label for="${id}">${label}${requiredMark}</label>${hint}${error}<textarea id="${id}" name="${field.path}" rows="4" ${aria}>${value}</textarea>
      </div>`;
    case 'datetime':
      return html`<div class="${classes}">
        <label for="${id}">${label}${requiredMark}</label>${hint}${error}<input
          type="datetime-local"
          step="1"
          id="${id}"
          name="${field.path}"
          value="${value}"
          ${aria}
        />
      </div>`;
    case 'number':
      return html`<div class="${classes}">
        <label for="${id}">${label}${requiredMark}</label>${hint}${error}<input
          type="number"
          step="${field.step ?? 'any'}"
          id="${id}"
          name="${field.path}"
          value="${value}"
          ${aria}
        />
      </div>`;
    default:
      return html`<div class="${classes}">
        <label for="${id}">${label}${requiredMark}</label>${hint}${error}<input type="text" id="${id}" name="${field.path}" value="${value}" ${aria} />
      </div>`;
  }
}

/** The summary at the top of a refused form: the domain's message, and a link to each field it names. */
export function errorSummary(message: string | undefined, errors: FieldErrors, t: Texts): Html {
  if (message === undefined && errors.size === 0) return html``;
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary">
    <h2>${t.form.errorSummary}</h2>
    ${message ? html`<p>${message}</p>` : ''}
    <ul>
      ${[...errors.entries()].map(([path, messages]) => html`<li><a href="#${idOf(path)}">${t.labels[path] ?? path}: ${messages.join(' ')}</a></li>`)}
    </ul>
  </div>`;
}
