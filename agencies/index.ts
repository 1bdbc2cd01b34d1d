/** The agency side of the contract: the client an agency system uses, and simulated agencies. */
export { connectAgency } from './client.js';
export type { AgencyClient, AgencyCredentials, AnswerFields, ConnectAgencyOptions, EventHandler, ReceivedEvent, RequestFor } from './client.js';
export { DEMO_BEHAVIOURS, defaultBehaviour, startSimulatedAgency } from './simulated.js';
export type { AgencyBehaviour, SimulatedAgency, SimulatedAgencyOptions } from './simulated.js';
