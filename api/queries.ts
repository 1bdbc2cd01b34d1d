import type { AgencyId, Phase } from '../domain/index.js';
import { SEARCH_ATTRIBUTE_FLAGS, searchAttributes } from '../workflows/definitions.js';

/**
 * Temporal visibility queries over the operation's search attributes. `los list`, the operator guide's saved
 * views and their test are all built from these, so the queries an operator is told to paste are the ones
 * that are run and tested.
 */

/**
 * A string literal in Temporal's list filter. Backslash escaping is what the server's SQL-like parser
 * understands; doubling a quote is not portable across visibility stores.
 */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const inPhase = (phase: Phase) => `${searchAttributes.phase.name} = ${quote(phase)}`;
export const inMunicipality = (municipality: string) => `${searchAttributes.municipality.name} = ${quote(municipality)}`;
/** LosAgencies is a keyword list: `=` matches when the agency is anywhere in it. */
export const involvingAgency = (agency: AgencyId) => `${searchAttributes.agencies.name} = ${quote(agency)}`;
/** Operations about the same business: the same pseudonymous entity reference. */
export const aboutEntity = (entityRef: string) => `${searchAttributes.entityRef.name} = ${quote(entityRef)}`;
export const OVERDUE = `${searchAttributes.overdue.name} = true`;
export const onTaskQueue = (taskQueue: string) => `TaskQueue = ${quote(taskQueue)}`;
/** Every LOS operation; what `los list` asks for when given no filter. */
export const ALL_OPERATIONS = `WorkflowType = 'losOperation'`;

/** Each clause is a single comparison, so joining with AND needs no parentheses. */
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

/** The same query as a `temporal` CLI command line, double-quoted for a POSIX shell. */
export function temporalCliCommand(query: string, namespace: string): string {
  const shellQuoted = `"${query.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
  return `temporal workflow list --namespace ${namespace} --query ${shellQuoted}`;
}

/** The `temporal` command that registers search attributes on a namespace (all of LOS's, or those named). */
export function searchAttributesCreateCommand(namespace: string, address: string, names: string[] = Object.keys(SEARCH_ATTRIBUTE_FLAGS)): string {
  const pairs = names.map((name) => `--name ${name} --type ${SEARCH_ATTRIBUTE_FLAGS[name] ?? 'Keyword'}`).join(' ');
  return `temporal operator search-attribute create --address ${address} --namespace ${namespace} ${pairs}`;
}
