import { defineConfig } from 'vitest/config';

/**
 * The console's tests in a real headless Chromium (Debian's `chromium`):
 * `npm run test:browser`. Kept apart from `npm test` and run one file at a
 * time: a browser beside two workers of integration tests starves a 2-core
 * machine and makes timing-sensitive tests flaky.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
