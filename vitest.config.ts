import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault, fuzz and load tests have their own run (npm run test:stress), and so do browser tests (npm run test:browser).
    exclude: ['test/system/stress/**', 'test/browser/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn real servers; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
