import { defineConfig } from 'vitest/config';

/**
 * The unit tier, `npm run test:unit`: every test that needs no server (the domain rules, the visibility
 * queries, the static checks of docker-compose.yml and package.json), without the Temporal dev server of test/globalSetup.ts.
 * `npm test` runs these too, with everything else. A test that calls inject() or starts a server belongs there.
 */
export const UNIT_TESTS = [
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
  'test/api-failures.test.ts',
  'test/console-words.test.ts',
  'test/temporal-refusals.test.ts',
  'test/shared-look.test.ts',
];

/**
 * Pure tests share one module graph per pool worker (no isolation): they hold no state between files, and importing
 * the domain, zod and the SDKs' type modules once instead of once per file is most of this tier's time.
 */
export const UNIT_TIER = { include: UNIT_TESTS, pool: 'threads', isolate: false, poolOptions: { threads: { isolate: false } }, testTimeout: 10_000 } as const;

export default defineConfig({
  test: { ...UNIT_TIER, reporters: ['default'] },
});
