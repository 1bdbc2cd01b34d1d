import type { AgencyId } from './agencies.js';
import type { CatalogueSnapshot } from './catalogue.js';
import { currentRoundOutcomes, type AgencyStatus } from './state.js';

/**
 * A re-inspection starts a new joint action. This one's final outcomes are settled first, so the outcome
 * sums count each seizure once, and every participant starts the new round unbriefed and unreported.
 */
export function settleRound(record: AgencyStatus): AgencyStatus {
  return {
    ...record,
    settledOutcomes: [...record.settledOutcomes, ...currentRoundOutcomes(record)],
    sanctions: [],
    reportedOutcomes: [],
    findings: 'not_asked',
    outcomes: 'not_asked',
    ready: false,
  };
}

/**
 * The second wave reaches catalogue agencies that were not on site and have not heard of the operation yet,
 * in catalogue order; they get the minimum data only (need to know).
 */
export function secondWaveRecipients(catalogue: CatalogueSnapshot, participants: readonly AgencyId[], alreadyNotified: readonly AgencyId[]): AgencyId[] {
  return catalogue.agencies.map((a) => a.id).filter((agency) => !participants.includes(agency) && !alreadyNotified.includes(agency));
}
