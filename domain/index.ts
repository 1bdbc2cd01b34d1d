/**
 * The functional core: pure rules and the one schema per message. Importable from workflow code, so
 * nothing here touches Node built-ins, I/O or the clock.
 *
 * Glossary (Swedish terms appear only here):
 * - LOS, lokal operativ samverkan: local operational cooperation between a municipality and agencies.
 * - tips / underrättelse: the tip that starts an operation.
 * - bedömning: the coordinator's assessment of the tip.
 * - mandatmatchning: matching the tip to the agencies whose legal tools apply.
 * - gemensam insats / myndighetsgemensam kontroll: the joint action.
 * - uppföljning: follow-up of outcomes.
 * - styrgrupp: the LOS steering group, which hears of missed deadlines.
 * - organisationsnummer: the Swedish company registration number, with a Luhn check digit.
 * - svensk tid (Europe/Stockholm): the local time every time shown to a person is given in.
 * - allmänna helgdagar: Swedish public holidays, which working-day deadlines skip.
 */
export * from './agencies.js';
export * from './answers.js';
export * from './catalogue.js';
export * from './config.js';
export * from './corrections.js';
export * from './deadlines.js';
export * from './decisions.js';
export * from './durations.js';
export * from './events.js';
export * from './localTime.js';
export * from './needToKnow.js';
export * from './orgNumber.js';
export * from './outcomes.js';
export * from './phases.js';
export * from './sealed.js';
export * from './state.js';
export * from './text.js';
export * from './tip.js';
export * from './validation.js';
export * from './workingDays.js';
export * from './admissibility.js';
export * from './decision-table.js';
export * from './agency-record.js';
export * from './ids.js';
export * from './requests.js';
export * from './rounds.js';
export * from './stages.js';
export * from './operation-memory.js';
export * from './operation-transitions.js';
export * from './start.js';
export * from './contract.js';
export * from './queries.js';
export * from './authorship.js';
export * from './disclosures.js';
