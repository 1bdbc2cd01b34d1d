import { defineConfig } from 'vitest/config';

/**
 * The chaos suite: its own servers and engine processes, which it kills and restarts (the dev stack, or the
 * cluster with LOS_CHAOS_TOPOLOGY=cluster), and `npm run cluster` itself (cluster-cli.test.ts).
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    // One file at a time: each starts its own Temporal server on the machine's PostgreSQL (about 36 connections
    // each, of its default 100) and kills processes on a timetable that a second suite's load would skew.
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    reporters: ['verbose'],
  },
});
