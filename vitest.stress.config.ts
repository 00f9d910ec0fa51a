import { defineConfig } from 'vitest/config';

/**
 * Fault, fuzz and load tests (issue 7): `npm run test:stress`.
 * One file at a time: each measures latency or counts processes, and they
 * would distort each other on a 2-core machine. Needs `npm run build` first
 * (some tests run the CLI from dist/).
 */
export default defineConfig({
  test: {
    include: ['test/system/stress/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
