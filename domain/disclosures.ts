import type { AgencyId } from './agencies.js';
import { legalGroundFor, type CatalogueSnapshot } from './catalogue.js';
import { eventType } from './contract.js';
import type { OutboundEventName } from './events.js';
import type { TimelineEntry } from './state.js';

/**
 * The disclosure register: every event that took personal data to an agency, which fields it carried (their
 * names, never their values), when, and on which legal ground. Derived from the operation's own timeline, where
 * each fan-out writes the event's CloudEvent id and personal fields as it sends it (workflows/notifier.ts), and
 * from the legal grounds in the catalogue snapshot the operation started with.
 */

/**
 * The personal fields of each event kind to an agency, as paths in the event's data: what the workflow holds
 * sealed (the business's identifiers, the description, the coordinator's free text). Municipality, categories
 * and urgency are not among them: operators see those.
 */
export const PERSONAL_FIELDS = {
  mandate_requested: ['entity.orgNumber', 'entity.name', 'entity.address'],
  information_requested: ['entity.orgNumber', 'entity.name', 'entity.address', 'question'],
  briefing: ['entity.orgNumber', 'entity.name', 'entity.address', 'description', 'action.place'],
  tip_corrected: ['corrected.name', 'corrected.address'],
  action_started: ['action.place'],
  action_rescheduled: ['action.place', 'reason'],
  action_called_off: ['reason'],
  reminder: [],
  second_wave_notice: ['entity.orgNumber', 'entity.name', 'entity.address'],
  findings_requested: [],
  outcome_requested: [],
  operation_closed: ['summary'],
  operation_cancelled: ['reason'],
  // Sent by the bridge about an agency's own answer, never by an operation.
  answer_not_applied: [],
} as const satisfies Record<OutboundEventName, readonly string[]>;

function at(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** The personal fields this event's data carries (a correction carries only the fields it corrects). */
export function personalFieldsIn(event: OutboundEventName, data: unknown): string[] {
  return PERSONAL_FIELDS[event].filter((path) => at(data, path) !== undefined);
}

/** What the register says where the catalogue names no ground. */
export const NO_LEGAL_GROUND = 'ingen rättslig grund angiven';

export interface Disclosure {
  /** When the operation sent it (ISO instant). */
  at: string;
  agency: AgencyId;
  /** The CloudEvent id, also its Nats-Msg-Id. */
  eventId: string;
  /** The CloudEvent type, e.g. se.los.mandate.requested.v1. */
  eventType: string;
  event: OutboundEventName;
  /** Names of the personal fields it carried (paths in its data), never their values. */
  fields: string[];
  /** `sending` until JetStream stored it; `delivered` after. */
  status: 'sending' | 'delivered';
  /** The reference the catalogue names for this agency and event kind; null when it names none. */
  legalGround: string | null;
  /** The reference, or NO_LEGAL_GROUND: what a person reads. */
  legalGroundText: string;
}

export interface DisclosureRegister {
  disclosures: Disclosure[];
  /** False when the operation's catalogue names no legal ground at all. */
  catalogueNamesGrounds: boolean;
}

/** The register of one operation, oldest first. */
export function disclosureRegister(timeline: readonly TimelineEntry[], catalogue: CatalogueSnapshot): DisclosureRegister {
  const disclosures: Disclosure[] = [];
  for (const entry of timeline) {
    if (entry.kind !== 'notified' || entry.eventId === undefined || !entry.fields?.length) continue;
    if (entry.agency === undefined || entry.agency === 'steering_group' || entry.agency === 'coordinator') continue;
    // The event id ends with the event's name: `<operation>.<key>.<event>` (domain/ids.ts).
    const event = entry.eventId.slice(entry.eventId.lastIndexOf('.') + 1) as OutboundEventName;
    const ground = legalGroundFor(catalogue, entry.agency, event);
    disclosures.push({
      at: entry.at,
      agency: entry.agency,
      eventId: entry.eventId,
      eventType: eventType(event),
      event,
      fields: [...entry.fields],
      status: entry.text.endsWith('(sending)') ? 'sending' : 'delivered',
      legalGround: ground ?? null,
      legalGroundText: ground ?? NO_LEGAL_GROUND,
    });
  }
  return { disclosures, catalogueNamesGrounds: catalogue.agencies.some((a) => a.legalGrounds !== undefined && Object.keys(a.legalGrounds).length > 0) };
}
