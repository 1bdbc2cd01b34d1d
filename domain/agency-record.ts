import type { AgencyId } from './agencies.js';
import type { AgencyAnswer } from './events.js';
import type { AgencyStatus } from './state.js';

/** What is known of an agency before it is asked anything. */
export function newAgencyRecord(agency: AgencyId): AgencyStatus {
  return {
    agency,
    mandate: 'not_asked',
    tools: [],
    ready: false,
    findings: 'not_asked',
    sanctions: [],
    outcomes: 'not_asked',
    reportedOutcomes: [],
    settledOutcomes: [],
  };
}

/**
 * How an applied answer changes the agency's record, and the line it leaves on the timeline. The answer has
 * already been matched to an open request of the right kind from the right agency.
 */
export function applyAnswerToRecord(record: AgencyStatus, answer: AgencyAnswer): { record: AgencyStatus; text: string } {
  switch (answer.name) {
    case 'mandate_accepted':
      return {
        record: { ...record, mandate: 'accepted', tools: [...answer.data.tools], contactFunction: answer.data.contactFunction },
        text: `mandate accepted; brings ${answer.data.tools.join(', ')}`,
      };
    case 'mandate_declined':
      return { record: { ...record, mandate: 'declined', declineReason: answer.data.reason }, text: `mandate declined: ${answer.data.reason}` };
    case 'information_provided':
      return { record, text: `information provided: ${answer.data.answer}` };
    case 'readiness_confirmed':
      return { record: { ...record, ready: true }, text: 'readiness confirmed' };
    case 'findings_reported':
      return {
        record: { ...record, findings: 'reported', sanctions: [...answer.data.sanctions] },
        text: `findings reported; ${answer.data.sanctions.length} sanction(s)`,
      };
    case 'outcome_reported':
      return {
        record: { ...record, outcomes: 'reported', reportedOutcomes: [...answer.data.outcomes] },
        text: `outcomes reported: ${answer.data.outcomes.map((o) => o.kind).join(', ')}`,
      };
  }
}

/** What an unanswered request leaves on the agency's record when its deadline passes. */
export function recordMissing(record: AgencyStatus, awaited: string): AgencyStatus {
  switch (awaited) {
    case 'mandate_answers':
      // No answer counts as no, and is recorded as such.
      return { ...record, mandate: 'no_answer' };
    case 'findings':
      return { ...record, findings: 'missing' };
    case 'outcomes':
      return { ...record, outcomes: 'missing' };
    default:
      return record;
  }
}
