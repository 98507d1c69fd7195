import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { putShared } from '../support/files.ts';
import { startNodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { launchPeerBrowser } from './chromium.ts';

/**
 * e2e fixtures: `node` is a real headless node as its own process (the CLI, serving the built app from
 * out/ at `/` on its API port, with its own temp data dir); `openPeer` starts a browser peer (its own
 * Chromium and on-disk profile) on that node's page. When a test fails, every open page is
 * screenshotted into the test's output folder under test-results/ and attached to the report.
 */
export interface PeerBrowser {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors the page threw (a hydration mismatch, a crash in a panel): tests expect none. */
  pageErrors: Error[];
  /** console.error lines (React render errors land here), attached to the report when a test fails. */
  consoleErrors: string[];
}

interface Fixtures {
  /** Files the node has in its shared_files/ before it starts (name -> content); set with test.use(). */
  nodeSharedFiles: Record<string, Buffer>;
  node: NodeProcess;
  openPeer(name: string, query?: string): Promise<PeerBrowser>;
}

export const test = base.extend<Fixtures>({
  nodeSharedFiles: [{}, { option: true }],
  node: async ({ nodeSharedFiles }, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-e2e-node-'));
    for (const [name, data] of Object.entries(nodeSharedFiles)) await putShared(dir, name, data);
    const node = await startNodeProcess(['--dir', dir]);
    try {
      await use(node);
    } finally {
      await node.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  },
  openPeer: async ({ node }, use, testInfo) => {
    const peers: PeerBrowser[] = [];
    const profiles: string[] = [];
    await use(async (name, query = '') => {
      const profile = await mkdtemp(join(tmpdir(), `swarmdrop-e2e-${name}-`));
      profiles.push(profile);
      const context = await launchPeerBrowser(profile, node.apiUrl);
      const page = context.pages()[0] ?? (await context.newPage());
      const peer: PeerBrowser = { name, context, page, pageErrors: [], consoleErrors: [] };
      page.on('pageerror', (error) => peer.pageErrors.push(error));
      // React reports render errors (caught by Next's error page) on the console, not as page errors.
      page.on('console', (message) => {
        if (message.type() === 'error') peer.consoleErrors.push(message.text());
      });
      peers.push(peer);
      await page.goto(`${node.apiUrl}/${query}`);
      return peer;
    });
    if (testInfo.status !== testInfo.expectedStatus) {
      for (const { name, page, consoleErrors, pageErrors } of peers) {
        if (pageErrors.length) await testInfo.attach(`${name} page errors`, { body: pageErrors.map((e) => e.stack ?? String(e)).join('\n\n'), contentType: 'text/plain' });
        if (consoleErrors.length) await testInfo.attach(`${name} console errors`, { body: consoleErrors.join('\n'), contentType: 'text/plain' });
        const path = testInfo.outputPath(`failure-${name}.png`);
        await page.screenshot({ path, fullPage: true }).catch(() => undefined);
        await testInfo
          .attach(`${name} at failure`, { path, contentType: 'image/png' })
          .catch(() => undefined);
      }
    }
    await Promise.all(peers.map(({ context }) => context.close().catch(() => undefined)));
    await Promise.all(profiles.map((dir) => rm(dir, { recursive: true, force: true })));
  },
});

export { expect } from '@playwright/test';
