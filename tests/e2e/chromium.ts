import { chromium } from '@playwright/test';
import type { BrowserContext } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.ts';

/**
 * One browser peer of the e2e tests: its own Debian Chromium process with an on-disk profile (real
 * IndexedDB that survives a reload), launched with the loopback-only flags of tests/support/chromium.ts,
 * and camera/microphone granted for `origin` (Chromium gathers the loopback ICE candidate only then).
 */
export async function launchPeerBrowser(profileDir: string, origin: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  await context.grantPermissions(['camera', 'microphone'], { origin });
  return context;
}
