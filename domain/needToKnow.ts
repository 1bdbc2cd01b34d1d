import type { ActivityCategory, AgencyId } from './agencies.js';
import type { ActionPlan, Correlation, OutboundDataOf } from './events.js';
import type { Tip } from './tip.js';
import { stockholmIso } from './localTime.js';

/**
 * Need to know (lag 2016:774): agencies in the cooperation may share information despite secrecy, but only
 * with agencies that need it. These functions are the only way tip content reaches an outbound event.
 * None of them ever reads `tip.source`: a protected source never leaves the workflow.
 */

function minimumCase(tip: Tip, correlation: Correlation) {
  return {
    correlation,
    entity: { orgNumber: tip.entity.orgNumber, name: tip.entity.name, address: tip.entity.address },
    categories: [...tip.categories] as ActivityCategory[],
    municipality: tip.entity.municipality,
  };
}

export function mandateRequest(tip: Tip, correlation: Correlation, tools: string[], answerBy: string): OutboundDataOf<'mandate_requested'> {
  return { ...minimumCase(tip, correlation), tools, answerBy };
}

export function informationRequest(tip: Tip, correlation: Correlation, question: string, answerBy: string): OutboundDataOf<'information_requested'> {
  return { ...minimumCase(tip, correlation), question, answerBy };
}

/** Only agencies that accepted a mandate are briefed, and only the briefing carries the description. */
export function briefing(tip: Tip, correlation: Correlation, action: ActionPlan, participants: AgencyId[]): OutboundDataOf<'briefing'> {
  return {
    ...minimumCase(tip, correlation),
    description: tip.description,
    urgency: tip.urgency,
    action,
    actionLocalTime: stockholmIso(action.at),
    participants,
  };
}

/** Second wave: agencies that were not on site learn only what a mandate request would have told them. */
export function secondWaveNotice(tip: Tip, correlation: Correlation, actionDate: string): OutboundDataOf<'second_wave_notice'> {
  return { ...minimumCase(tip, correlation), actionDate };
}
