import type { AgencyId } from './agencies.js';
import type { Phase } from './phases.js';

/**
 * Temporal visibility queries over the operation's search attributes. The API's list (`los list`), the
 * operator guide's saved views and their test are all built from these, so the queries an operator is told to
 * paste are the ones that are run and tested. Plain strings: the API builds them, `los` only prints them.
 */

/** The search attributes' names; workflows/definitions.ts gives each its Temporal type. */
export const SEARCH_ATTRIBUTE_NAMES = {
  phase: 'LosPhase',
  municipality: 'LosMunicipality',
  agencies: 'LosAgencies',
  nextDeadline: 'LosNextDeadline',
  overdue: 'LosOverdue',
  entityRef: 'LosEntityRef',
  stage: 'LosStage',
} as const;
const names = SEARCH_ATTRIBUTE_NAMES;

/**
 * A string literal in Temporal's list filter. Backslash escaping is what the server's SQL-like parser
 * understands; doubling a quote is not portable across visibility stores.
 */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const inPhase = (phase: Phase) => `${names.phase} = ${quote(phase)}`;
export const inMunicipality = (municipality: string) => `${names.municipality} = ${quote(municipality)}`;
/** LosAgencies is a keyword list: `=` matches when the agency is anywhere in it. */
export const involvingAgency = (agency: AgencyId) => `${names.agencies} = ${quote(agency)}`;
/** Operations about the same business: the same pseudonymous entity reference. */
export const aboutEntity = (entityRef: string) => `${names.entityRef} = ${quote(entityRef)}`;
export const OVERDUE = `${names.overdue} = true`;
/** Operations in any of these stages (e.g. those that await a coordinator's decision): one parenthesised clause. */
export const inStages = (stages: readonly string[]) => `(${stages.map((stage) => `${names.stage} = ${quote(stage)}`).join(' OR ')})`;
export const onTaskQueue = (taskQueue: string) => `TaskQueue = ${quote(taskQueue)}`;
/** Every LOS operation; what `los list` asks for when given no filter. */
export const ALL_OPERATIONS = `WorkflowType = 'losOperation'`;

/** Each clause is a single comparison or parenthesised (inStages), so joining with AND needs no more parentheses. */
export function allOf(...clauses: string[]): string {
  return clauses.join(' AND ');
}

export interface ListFilter {
  phase?: Phase;
  overdue?: boolean;
  municipality?: string;
  agency?: AgencyId;
  /** The pseudonymous entity reference (`los list --same-business` looks it up from an operation). */
  entityRef?: string;
}

export function operationsQuery(filter: ListFilter): string {
  const clauses = [
    ...(filter.phase ? [inPhase(filter.phase)] : []),
    ...(filter.overdue ? [OVERDUE] : []),
    ...(filter.municipality !== undefined ? [inMunicipality(filter.municipality)] : []),
    ...(filter.agency ? [involvingAgency(filter.agency)] : []),
    ...(filter.entityRef !== undefined ? [aboutEntity(filter.entityRef)] : []),
  ];
  return clauses.length > 0 ? allOf(...clauses) : ALL_OPERATIONS;
}

/** The saved views the operator guide documents, for the Temporal UI and `temporal workflow list --query`. */
export const OPERATOR_VIEWS = {
  overdue: { title: 'Overdue operations', query: operationsQuery({ overdue: true }) },
  inAssessment: { title: 'Operations in assessment', query: operationsQuery({ phase: 'assessment' }) },
  involvingPolisen: { title: 'Operations involving Polisen', query: operationsQuery({ agency: 'polisen' }) },
} as const;

/** The same query as a `temporal` CLI command line, double-quoted for a POSIX shell; without a namespace, the CLI's own default. */
export function temporalCliCommand(query: string, namespace?: string): string {
  const shellQuoted = `"${query.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
  return `temporal workflow list${namespace === undefined ? '' : ` --namespace ${namespace}`} --query ${shellQuoted}`;
}

/** The `temporal` command that registers search attributes on a namespace: name → type, as in SEARCH_ATTRIBUTE_FLAGS. */
export function searchAttributesCreateCommand(namespace: string, address: string, attributes: Record<string, string>): string {
  const pairs = Object.entries(attributes)
    .map(([name, type]) => `--name ${name} --type ${type}`)
    .join(' ');
  return `temporal operator search-attribute create --address ${address} --namespace ${namespace} ${pairs}`;
}
