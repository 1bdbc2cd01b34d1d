import {
  INLINE_SEALED,
  formatStockholm,
  type AgencyStatus,
  type OperationState,
  type Outcome,
  type OutcomeSummary,
  type Plain,
  type Sealed,
  type TimelineEntry,
  type TipAsShown,
} from '../domain/index.js';

/** Text the reader is not entitled to (or that was erased) stays sealed; it shows as such, never as ciphertext. */
export function shown(value: string | Sealed | undefined, fallback = '-'): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') return '(sealed)';
  return value.replace(INLINE_SEALED, '(sealed)');
}

/** How the CLI shows an operation to a person: aligned columns, Stockholm local times with how far off they are. */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Whole seconds of Swedish local time, with the zone: "2026-03-12 19:00:00 CET". JSON output keeps the instants. */
export const local = (iso: string) => formatStockholm(iso);

export function relative(iso: string, nowMs: number): string {
  const deltaMs = Date.parse(iso) - nowMs;
  const abs = Math.abs(deltaMs);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ];
  // The two largest units are enough to judge a deadline: "in 1 d 23 h", "5 min 10 s ago".
  const largest = units.findIndex(([size]) => abs >= size);
  const first = largest === -1 ? units.length - 1 : largest;
  const parts = units.slice(first, first + 2).flatMap(([size, unit], i) => {
    const amount = i === 0 ? Math.floor(abs / size) : Math.floor((abs % units[first]![0]) / size);
    return i === 0 || amount > 0 ? [`${amount} ${unit}`] : [];
  });
  return deltaMs >= 0 ? `in ${parts.join(' ')}` : `${parts.join(' ')} ago`;
}

const sek = (amount: number) => `${amount.toLocaleString('en-GB')} SEK`;

export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'fine':
    case 'sanction_fee':
    case 'tax_reassessment':
      return `${outcome.kind.replaceAll('_', ' ')} ${sek(outcome.amountSek)}`;
    case 'assets_seized':
      return `assets seized ${sek(outcome.valueSek)}`;
    default:
      return outcome.kind.replaceAll('_', ' ');
  }
}

function reportColumn(status: AgencyStatus['findings'], outcomes: Outcome[]): string {
  if (status !== 'reported') return status.replaceAll('_', ' ');
  return outcomes.length > 0 ? `reported: ${outcomes.map(describeOutcome).join(', ')}` : 'reported: none';
}

export function agenciesTable(agencies: AgencyStatus[]): string {
  if (agencies.length === 0) return '(no agency involved yet)';
  return table(
    ['AGENCY', 'MANDATE', 'TOOLS', 'CONTACT FUNCTION', 'READY', 'FINDINGS', 'OUTCOMES', 'DECLINE REASON'],
    agencies.map((a) => [
      a.agency,
      a.mandate.replaceAll('_', ' '),
      a.tools.join(', ') || '-',
      shown(a.contactFunction),
      a.ready ? 'yes' : 'no',
      reportColumn(a.findings, a.sanctions),
      reportColumn(a.outcomes, a.reportedOutcomes),
      shown(a.declineReason, ''),
    ]),
  );
}

/** Who took a decision, and in which role: "Anna Lindqvist (coordinator)". */
export function decidedBy(entry: TimelineEntry): string {
  return entry.by ? `${entry.by.name} (${entry.by.role.replaceAll('_', ' ')})` : '';
}

export function timelineTable(timeline: TimelineEntry[]): string {
  if (timeline.length === 0) return '(nothing recorded yet)';
  return table(
    ['AT (Stockholm)', 'KIND', 'AGENCY', 'BY', 'WHAT'],
    timeline.map((entry) => [local(entry.at), entry.kind.replaceAll('_', ' '), entry.agency ?? '', decidedBy(entry), shown(entry.text)]),
  );
}

function describeSummary(summary: OutcomeSummary): string {
  return [
    `participants ${summary.participants.join(', ') || 'none'}`,
    `fines ${sek(summary.finesSek)}`,
    `sanction fees ${sek(summary.sanctionFeesSek)}`,
    `tax reassessed ${sek(summary.taxReassessedSek)}`,
    `assets seized ${sek(summary.assetsSeizedSek)}`,
    `licences revoked ${summary.licencesRevoked}`,
    `closure orders ${summary.closureOrders}`,
    `criminal reports ${summary.criminalReports}`,
  ].join('; ');
}

/** The tip's facts, the business first; a protected source shows as such, its reference never reaching `los`. */
function tipFacts(tip: Plain<TipAsShown>): [string, string][] {
  const source = tip.source;
  const from = `${source.kind.replaceAll('_', ' ')}${source.agency ? ` (${source.agency})` : ''}`;
  return [
    ['Business', `${tip.entity.name}, org. no. ${tip.entity.orgNumber}`],
    ['Address', tip.entity.address],
    ['Description', tip.description],
    ['Urgency', tip.urgency],
    ['Source', source.protected ? `${from}, protected` : `${from}${source.reference !== undefined ? `, reference ${source.reference}` : ''}`],
    ['Received', local(tip.receivedAt)],
  ];
}

/** The operation as `los show` prints it; `tip` only when the reader is entitled to it (the API decides). */
export function operationReport(state: OperationState, timeline: TimelineEntry[], nowMs: number, tip?: Plain<TipAsShown>): string {
  const deadline = state.nextDeadline;
  const facts: [string, string][] = [
    ['Operation', state.operationId],
    ['Municipality', state.municipality],
    ...(tip ? tipFacts(tip) : []),
    ['Suspected', state.categories.join(', ')],
    ['Phase', state.phase],
    ['Waiting for', state.waitingFor],
    ['Next deadline', deadline ? `${deadline.what.replaceAll('_', ' ')} at ${local(deadline.dueAt)} (${relative(deadline.dueAt, nowMs)})` : 'none'],
    ['Overdue', state.overdue ? 'YES: the steering group has been told' : 'no'],
    [
      'Joint action',
      state.action ? `#${state.actionNumber} at ${local(state.action.at)}, ${shown(state.action.place)}, lead ${state.action.lead}` : 'not scheduled',
    ],
  ];
  if (state.secondWave.length > 0) facts.push(['Second wave', state.secondWave.join(', ')]);
  if (state.endReason !== undefined) facts.push(['Ended', shown(state.endReason)]);
  if (state.outcome) facts.push(['Outcome', describeSummary(state.outcome)]);
  const width = Math.max(...facts.map(([label]) => label.length));
  return [
    ...facts.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
    '',
    'Agencies',
    agenciesTable(state.agencies),
    '',
    'Timeline',
    timelineTable(timeline),
  ].join('\n');
}

export interface ListedOperation {
  operationId: string;
  status: string;
  phase?: string;
  overdue?: boolean;
  nextDeadline?: string;
  municipality?: string;
  agencies: string[];
  startedAt: string;
}

export function operationsTable(operations: ListedOperation[], nowMs: number): string {
  if (operations.length === 0) return '(no operations match)';
  return table(
    ['OPERATION', 'STATUS', 'PHASE', 'OVERDUE', 'NEXT DEADLINE (Stockholm)', 'MUNICIPALITY', 'STARTED (Stockholm)', 'AGENCIES'],
    operations.map((op) => [
      op.operationId,
      op.status.toLowerCase(),
      op.phase ?? '-',
      op.overdue ? 'yes' : 'no',
      op.nextDeadline ? `${local(op.nextDeadline)} (${relative(op.nextDeadline, nowMs)})` : '-',
      op.municipality ?? '-',
      local(op.startedAt),
      op.agencies.join(', ') || '-',
    ]),
  );
}
