import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/fuzz/**/*.test.ts'],
    // Integration tests start real nodes on loopback; 2 cores, so keep parallelism modest.
    maxWorkers: 2,
    // A failed test prints what its nodes logged (tests/support/failure-logs.ts).
    setupFiles: ['tests/support/failure-logs.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
