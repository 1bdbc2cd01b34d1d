import { defineConfig } from 'vitest/config';

/** The chaos suite: its own Temporal dev server and nats-server, which it kills and restarts. */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    reporters: ['verbose'],
  },
});
