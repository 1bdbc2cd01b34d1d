import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/common';
import type { EngineLogger } from './logger.js';

/*
 * Apart from logger.ts, so that a process refused at start (workers/main.ts) exits before it has loaded the Temporal
 * worker's SDK.
 */

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
