import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';

/** What the Temporal workers of this test process log at WARN and above (the workflow's refusals among it), newest last. */
export const workerLog: LogEntry[] = [];

let installed = false;

/**
 * Temporal's native runtime, installed once per test process (a second `Runtime.install` throws): test files share
 * a process when they run one after another in a pool worker, so every file that starts a worker calls this.
 */
export function installTestRuntime(): void {
  if (installed) return;
  const printer = new DefaultLogger('WARN');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      workerLog.push(entry);
      printer.log(entry.level, entry.message, entry.meta);
    }),
  });
  installed = true;
}
