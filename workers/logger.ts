import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/common';
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

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal runtime's own log lines (worker, workflows, activities) into the same JSON stream. */
export function temporalLogger(logger: EngineLogger, level: LogLevel = 'INFO'): DefaultLogger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    const { message, meta } = entry;
    logger[PINO_LEVEL[entry.level]]({ ...(meta ?? {}), source: 'temporal' }, message);
  });
}
