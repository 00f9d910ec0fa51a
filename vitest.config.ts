import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault, fuzz and load tests have their own run: npm run test:stress.
    exclude: ['test/system/stress/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn real servers; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
