/**
 * Modules evaluated once per workflow thread and shared by every workflow in it, instead of once per
 * workflow: the workflow bundle preloads this file (`WORKFLOW_BUNDLER_OPTIONS` in
 * workers/workflowBundle.ts). Without it each cached operation evaluates zod (about 0.7 MiB) and the ed25519
 * and SHA-256 code again, and builds the domain's schemas again (another 0.6 MiB, which domain/shared.ts
 * keeps once per thread): most of what an operation costs the worker in memory, and most of the CPU of
 * taking one into the cache.
 *
 * The sandbox deep-freezes what preloaded modules export and the globals they set, right after they run.
 * That is safe for these libraries, which hold no per-workflow state: their functions and classes work
 * frozen (the workflow and replay tests run them in the sandbox, preloaded). Two rules follow:
 * - Only stateless libraries belong here. Never a module of this engine whose exports hold zod schemas: zod
 *   defines a schema's methods on it the first time they are used, which a frozen schema refuses.
 * - zod records its default locale and memoizer in a global on the first schema it builds, and that global
 *   is frozen with the rest; so a first schema is built here, before the freeze.
 */
import { z } from 'zod';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { shared } from '../domain/shared.js';

const first = z.object({ at: z.iso.datetime({ offset: true }), n: z.number().int() });

/** Read by nothing: it makes the bundler keep the imports above (the libraries declare no side effects). */
export const sharedModulesLoaded =
  typeof shared === 'function' &&
  first.safeParse({ at: '2026-01-01T00:00:00Z', n: 1 }).success &&
  typeof ed25519.verify === 'function' &&
  bytesToHex(sha256(utf8ToBytes(''))).length === 64;
