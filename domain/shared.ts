/**
 * The domain's zod schemas, each built once per process, or once per workflow thread in the worker, however
 * many operations that thread holds.
 *
 * The worker's sandbox evaluates every module of the workflow bundle again for each operation it caches,
 * so a schema written as `export const X = z.object(…)` is built again per cached operation: about 0.6 MiB of
 * schemas per operation, and most of the CPU of taking one into the cache. This module is preloaded
 * (workflows/shared-modules.ts): the sandbox evaluates it once per thread and every operation's modules
 * see the same `built` map, so `export const X = shared('module.X', () => z.object(…))` builds the schema
 * for the first operation and hands the same one to every later operation. Outside the worker (the client,
 * the bridge, tests) each module runs once anyway and `shared` simply builds.
 *
 * Sharing is safe because a schema holds no per-operation state: parsing is a pure function of the schema
 * and the input (zod's own caches are keyed by schema, and compute the same answer whoever asks first).
 * Builders must keep it so: no state of their own, no global regex (`/…/g`) read with `test` or `exec`
 * inside a refinement, and a default value an operation may change must be a function that returns a fresh
 * one.
 *
 * The map lives in this module's closure: the sandbox deep-freezes what preloaded modules export, which a zod
 * schema does not survive (zod defines a schema's methods on it when first used), but it cannot reach, and so
 * does not freeze, what a closure holds.
 */
const built = new Map<string, { definition: string; value: unknown }>();

/**
 * The schema `build` returns, built on the first call for `key` and the same object on every later call.
 * `key` is `<module>.<name>`; two different builders under one key are a programming error, found on the
 * second call (the source text of the builder tells them apart).
 */
export function shared<T>(key: string, build: () => T): T {
  const definition = build.toString();
  const held = built.get(key);
  if (held) {
    if (held.definition !== definition) throw new Error(`shared schema "${key}" is defined twice, differently`);
    return held.value as T;
  }
  const value = build();
  built.set(key, { definition, value });
  return value;
}
