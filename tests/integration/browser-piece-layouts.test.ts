import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveBrowserBundle } from '../support/browser-bundle.ts';
import type { BundleServer } from '../support/browser-bundle.ts';
import { launchChromium } from '../support/chromium.ts';
import type { LaunchedChromium } from '../support/chromium.ts';

/**
 * The chunk database layouts in real Chromium IndexedDB: pieces a tab stored whole or in parts (the
 * earlier layouts) read back beside pieces in run records, across the boundaries between them, and a
 * file's pieces in every layout deleted together.
 */
const ENTRY = fileURLToPath(new URL('../support/idb-pieces-entry.ts', import.meta.url));

let server: BundleServer;
let browser: LaunchedChromium;

beforeAll(async () => {
  server = await serveBrowserBundle(ENTRY);
  browser = await launchChromium({ origin: server.origin });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('chunk database layouts', () => {
  it('reads pieces stored whole, in parts and in runs, and deletes them all', async () => {
    const page = await browser.newPage();
    await page.goto(server.pageUrl);
    await page.waitForFunction(() => 'checkLayouts' in window);
    const problems = await page.evaluate(() => (window as unknown as { checkLayouts(): Promise<string[]> }).checkLayouts());
    expect(problems).toEqual([]);
  });
});
