import { defineConfig } from '@playwright/test';

/**
 * e2e: real nodes (child processes) and Debian Chromium (tests/e2e/chromium.ts launches it; nothing is
 * downloaded). Run by `npm run test:e2e`, which builds the app into out/ when stale and runs this inside
 * the loopback-only network namespace. One worker: each test runs browsers and a node on 2 cores.
 */
export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  outputDir: '../../test-results/e2e',
  // Keep a test's folder (screenshots, the files it moved) only when it failed: passing runs would
  // otherwise leave tens of MB of test files behind.
  preserveOutput: 'failures-only',
  workers: 1,
  fullyParallel: false,
  // Generous: WebRTC set-up and a 10 MB transfer between browsers on a busy 2-core machine.
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  // Screenshots on failure are taken by the openPeer fixture (persistent contexts are not Playwright's
  // own `page`, so its `screenshot` option would not cover them); traces would only add size.
  use: { trace: 'off' },
});
