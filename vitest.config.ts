import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The chaos suite kills and restarts its own servers: `npm run test:chaos`.
    exclude: ['test/chaos/**', 'node_modules/**'],
    // Temporal's native worker needs real processes, not worker threads.
    pool: 'forks',
    // One Temporal dev server for the whole run; each test file brings its own nats-server and task queue.
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['verbose'],
  },
});
