import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs for the engine's processes. What goes in: operation IDs (hashes), phases, agencies,
 * event names, counts. What never goes in: tip descriptions, org numbers, names, addresses, answer texts,
 * dead-letter reasons (they may quote agency input). GDPR art. 10 and Brottsdatalagen apply to logs too.
 */
export type EngineLogger = Logger;

export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): EngineLogger {
  return pino({ name: options.name ?? 'los-engine', level: options.level ?? 'info', base: { pid: process.pid } }, options.destination);
}
