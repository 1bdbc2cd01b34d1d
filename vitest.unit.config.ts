import { defineConfig } from 'vitest/config';

/**
 * The unit tier, `npm run test:unit`: every test that needs no server (the domain rules, the visibility
 * queries, the static checks of docker-compose.yml and package.json), without the Temporal dev server of test/globalSetup.ts.
 * `npm test` runs these too, with everything else. A test that calls inject() or starts a server belongs there.
 */
export default defineConfig({
  test: {
    include: [
      'test/domain/**/*.test.ts',
      'test/queries.test.ts',
      'test/client.test.ts',
      'test/compose.test.ts',
      'test/workflow-bundle.test.ts',
      'test/package.test.ts',
      'test/codec.test.ts',
      'test/dev-stack.test.ts',
      'test/history-shape.test.ts',
      'test/api-contract.test.ts',
      'test/console-words.test.ts',
      'test/temporal-refusals.test.ts',
    ],
    testTimeout: 10_000,
    reporters: ['default'],
  },
});
