import type { InboundEventName, OutboundEventName } from './events.js';

/**
 * The requests an agency must answer, each written once: what an open request of that kind waits for (the
 * stage that collects it, or a request of its own kind), which answers close it, and the prefix of its id.
 * Answer matching, the agency client's reply helpers, request ids and the generated asyncapi.yaml all read
 * this table.
 */
export const REQUESTS = {
  mandate_requested: { awaiting: 'mandate_answers', answers: ['mandate_accepted', 'mandate_declined'], idPrefix: 'mandate' },
  information_requested: { awaiting: 'information', answers: ['information_provided'], idPrefix: 'info' },
  briefing: { awaiting: 'readiness', answers: ['readiness_confirmed'], idPrefix: 'briefing' },
  findings_requested: { awaiting: 'findings', answers: ['findings_reported'], idPrefix: 'findings' },
  outcome_requested: { awaiting: 'outcomes', answers: ['outcome_reported'], idPrefix: 'outcome' },
} as const satisfies { [E in OutboundEventName]?: { awaiting: string; answers: readonly InboundEventName[]; idPrefix: string } };

/** The outbound events that open a request an agency must answer. */
export type RequestEventName = keyof typeof REQUESTS;
/** What an open request to one agency waits for. */
export type Awaiting = (typeof REQUESTS)[RequestEventName]['awaiting'];

type AnswerTo = { [A in InboundEventName]: { [R in RequestEventName]: A extends (typeof REQUESTS)[R]['answers'][number] ? R : never }[RequestEventName] };
// Every answer an agency can send closes some request: an answer missing from the table fails the typecheck here.
type AnswerWithoutRequest = Exclude<InboundEventName, (typeof REQUESTS)[RequestEventName]['answers'][number]>;
const everyAnswerClosesARequest: [AnswerWithoutRequest] extends [never] ? true : AnswerWithoutRequest = true;
void everyAnswerClosesARequest;

/** Which request each answer replies to, from the table. */
export const ANSWER_TO = Object.fromEntries(
  Object.entries(REQUESTS).flatMap(([request, { answers }]) => answers.map((answer) => [answer, request])),
) as AnswerTo;
