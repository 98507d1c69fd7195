import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTempDir } from './test-node.ts';

/**
 * Launches Debian's real Chromium through Playwright with an on-disk profile (real IndexedDB, unlike
 * a default new context) and the flags NOTES-WEBRTC.md measured to keep WebRTC on loopback. Shared by
 * the browser-peer tests and the e2e tests.
 */
export const CHROMIUM_PATH = process.env.SWARMDROP_CHROMIUM ?? '/usr/lib/chromium/chromium';

/**
 * Playwright passes its own --disable-features list and Chromium keeps only the last such flag, so
 * ours (which comes after Playwright's) must repeat the entries of Playwright's list that matter here
 * (no network at start-up, plain HTTP kept plain, unpartitioned storage) beside our own: raw IPs
 * instead of mDNS names in ICE candidates.
 */
const DISABLED_FEATURES = [
  'WebRtcHideLocalIpsWithMdns',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'MediaRouter',
  'DialMediaRouteProvider',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'Translate',
];

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

export interface LaunchedChromium {
  context: BrowserContext;
  /** The profile directory (IndexedDB lives here; reuse it to relaunch with the same storage). */
  profileDir: string;
  /** Where screenshots of failed tests go. */
  artifactsDir: string;
  newPage(): Promise<Page>;
  /** Saves a screenshot of every open page under artifactsDir, named after `label`. */
  screenshots(label: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function launchChromium(options: { origin: string; profileDir?: string; artifactsDir?: string }): Promise<LaunchedChromium> {
  const profileDir = options.profileDir ?? (await makeTempDir('swarmdrop-chromium-'));
  const artifactsDir = options.artifactsDir ?? join(profileDir, 'artifacts');
  await mkdir(artifactsDir, { recursive: true });
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    downloadsPath: join(profileDir, 'downloads'),
  });
  // Chromium gathers the loopback candidate only for pages with camera/microphone permission.
  await context.grantPermissions(['camera', 'microphone'], { origin: options.origin });
  return {
    context,
    profileDir,
    artifactsDir,
    newPage: () => context.newPage(),
    async screenshots(label) {
      const paths: string[] = [];
      for (const [i, page] of context.pages().entries()) {
        const path = join(artifactsDir, `${label.replace(/[^\w.-]+/g, '_')}-${i}.png`);
        await page.screenshot({ path, fullPage: true }).then(() => paths.push(path), () => {});
      }
      return paths;
    },
    close: () => context.close(),
  };
}
