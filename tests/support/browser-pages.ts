import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { DashboardView } from '../../lib/browser/view.ts';
import { serveBrowserBundle } from './browser-bundle.ts';
import type { BundleServer } from './browser-bundle.ts';
import { launchChromium } from './chromium.ts';
import type { LaunchedChromium } from './chromium.ts';
import { removeTempDirs, waitFor } from './test-node.ts';
import type { TestWindow } from './browser-peer-entry.ts';

/**
 * Real Chromium tabs as peers, for the tests that drive the browser runtime: one page bundle server
 * and one browser per test file, screenshots of every page when a test fails, pages closed after each
 * test. The page script is browser-peer-entry.ts; a test drives it through page.evaluate.
 */
const ENTRY = fileURLToPath(new URL('./browser-peer-entry.ts', import.meta.url));

export interface ChromiumPeers {
  readonly server: BundleServer;
  readonly browser: LaunchedChromium;
  newPage(): Promise<Page>;
  /** Loads the test page and starts the browser peer on it; resolves to the tab's peer id. */
  openPeer(page: Page, bootstrapUrl: string): Promise<string>;
}

/**
 * Registers the suite hooks and returns the harness (filled in by beforeAll). `afterEachTest` closes
 * what the test started besides the pages (nodes, standard peers).
 */
export function useChromiumPeers(afterEachTest: () => Promise<unknown>): ChromiumPeers {
  const harness = {
    newPage: () => harness.browser.newPage(),
    openPeer: (page: Page, bootstrapUrl: string) => openPeer(page, harness.server.pageUrl, bootstrapUrl),
  } as ChromiumPeers & { server: BundleServer; browser: LaunchedChromium };
  beforeAll(async () => {
    harness.server = await serveBrowserBundle(ENTRY);
    harness.browser = await launchChromium({ origin: harness.server.origin });
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      const shots = await harness.browser.screenshots(context.task.name);
      console.log('screenshots kept:', shots.join(', '));
    }
    for (const page of harness.browser.context.pages()) await page.close().catch(() => {});
    await afterEachTest();
  });
  afterAll(async () => {
    await harness.browser?.close();
    await harness.server?.close();
    await removeTempDirs();
  });
  return harness;
}

/** Pages whose console is already passed on (openPeer runs again after a reload). */
const logged = new WeakSet<Page>();

async function openPeer(page: Page, pageUrl: string, bootstrapUrl: string): Promise<string> {
  if (!logged.has(page)) {
    logged.add(page);
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') console.log('[page]', msg.text());
    });
  }
  await page.goto(pageUrl);
  return page.evaluate((url) => (window as unknown as TestWindow).startPeer({ bootstrapUrl: url }), bootstrapUrl);
}

export function view(page: Page): Promise<DashboardView> {
  return page.evaluate(() => (window as unknown as TestWindow).peer.getSnapshot());
}

/** Waits until `probe` finds what it looks for in the page's dashboard snapshot. */
export async function until<T>(
  page: Page,
  probe: (v: DashboardView) => T | undefined | null | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  try {
    return await waitFor(async () => probe(await view(page)), timeoutMs, what);
  } catch (err) {
    // Say what the tab saw, so a failure in CI can be read without a rerun.
    const seen = await view(page).then(
      (v) => JSON.stringify({ self: v.self, peers: v.peers, notices: v.notices }),
      (e: Error) => `(no snapshot: ${e.message})`,
    );
    throw new Error(`${(err as Error).message}; the tab saw ${seen}`, { cause: err });
  }
}
