/**
 * The V8 heap settings every engine process runs with (`NODE_OPTIONS`, set by whatever starts the process:
 * the Dockerfile, `npm run worker` and the other package scripts, `npm run cluster`, the bench).
 *
 * Measured with `tsx bench/memory-probe.ts --open 1000,3000` (operations waiting in assessment, cache 100):
 * with Node's defaults the worker's RSS peaked at 532 MiB while operations were being registered (a young
 * generation grown large under load) and settled at 321 and then 476 MiB, growing with every operation that
 * passed through the cache although the cache holds 100 (old-generation garbage V8 saw no reason yet to
 * collect). With these settings: peak 325 MiB, settled 316 and 321 MiB. The limits are per isolate (the main
 * thread and the workflow thread each); a cache of 100 operations uses a fraction of them. A process that
 * needs more (a much larger MAX_CACHED_WORKFLOWS) sets its own: options later in NODE_OPTIONS win. `npm run cluster`
 * gives its processes these alone, never the environment's NODE_OPTIONS (a test runner's, passed on, once stalled
 * the cluster's bridges).
 */
export const ENGINE_NODE_OPTIONS = '--max-old-space-size=192 --max-semi-space-size=8';

/** NODE_OPTIONS for an engine process: these settings first, then whatever the environment adds or overrides. */
export function engineNodeOptions(existing: string | undefined = process.env.NODE_OPTIONS): string {
  return [ENGINE_NODE_OPTIONS, existing ?? ''].join(' ').trim();
}
