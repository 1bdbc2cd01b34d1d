import { defineConfig } from 'vitest/config';
import { UNIT_TESTS, UNIT_TIER } from './vitest.unit.config.js';

export default defineConfig({
  test: {
    reporters: ['verbose'],
    // vitest runs one file at a time on two cores (CPUs − 1), but a server-backed file mostly waits on its servers
    // and timers: three engine files side by side keep both cores busy. Every file has its own nats-server and task queue,
    // and tests that list operations narrow the list to their own, so files do not see each other's operations.
    poolOptions: { forks: { minForks: 1, maxForks: 3 } },
    projects: [
      // The unit tier (vitest.unit.config.ts): pure tests in one shared module graph per worker.
      { test: { name: 'unit', ...UNIT_TIER } },
      {
        test: {
          name: 'engine',
          include: ['test/**/*.test.ts'],
          // The chaos suite kills and restarts its own servers: `npm run test:chaos`. The unit tier runs above.
          exclude: ['test/chaos/**', 'node_modules/**', ...UNIT_TESTS],
          // Temporal's native worker needs real processes, not worker threads, and a process of its own per file.
          pool: 'forks',
          // One Temporal dev server for the whole run; each test file brings its own nats-server and task queue.
          globalSetup: ['test/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
