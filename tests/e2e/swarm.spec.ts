import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { randomFile } from '../support/files.ts';
import { dashboard, TEST_IDS } from './dashboard.ts';
import { expect, test } from './fixtures.ts';

/**
 * Issue 5's "must show": a node and two browser pages (each its own Chromium with an on-disk profile).
 * Page 1 shares a 10 MB file the node also has; page 2 downloads it from both at once and saves a
 * byte-identical file; chat goes both ways between the pages and reaches the node; page 2 reloaded
 * mid-download resumes and finishes without starting over.
 *
 */

const MiB = 1024 * 1024;
const SHARED = randomFile(10 * MiB);
/** Big enough that a reload lands mid-download at browser speeds (~20 MB/s measured node -> page). */
const LARGE = randomFile(64 * MiB);
const DOWNLOAD_TIMEOUT_MS = 150_000;

test.describe('two browser peers and a node', () => {
  test.use({ nodeSharedFiles: { 'shared-10mb.bin': SHARED.data, 'large-64mb.bin': LARGE.data } });

  test('share, download from page and node at once, save byte-identical; chat both ways and to the node', async ({
    node,
    openPeer,
  }, testInfo) => {
    const peer1 = await openPeer('page1');
    const peer2 = await openPeer('page2', '?save=link'); // a picker dialog cannot be answered here
    const [page1, page2] = [peer1.page, peer2.page];
    const [id1, id2] = await Promise.all([joinedPeerId(page1), joinedPeerId(page2)]);
    expect(id1).not.toBe(id2);

    const picked = testInfo.outputPath('shared-10mb.bin');
    await writeFile(picked, SHARED.data);
    await page1.getByTestId(TEST_IDS.fileInput).setInputFiles(picked);
    await expect(page1.locator(`[data-testid="${TEST_IDS.sharedFileRow}"][data-state="shared"]`)).toHaveCount(
      1,
      { timeout: 60_000 },
    );

    const offer = dashboard.swarmFile(page2, SHARED.fileId);
    await expect(offer).toHaveAttribute('data-sources', new RegExp(`(?=.*${id1})(?=.*${node.peerId})`), {
      timeout: 60_000,
    });
    await offer.getByTestId(TEST_IDS.downloadButton).click();
    const transfer = dashboard.transferFor(page2, SHARED.fileId);
    await expect(transfer).toHaveAttribute('data-status', 'completed', { timeout: DOWNLOAD_TIMEOUT_MS });
    for (const source of [id1, node.peerId]) {
      const chunks = await transfer
        .locator(`[data-testid="${TEST_IDS.transferSource}"][data-peer-id="${source}"]`)
        .getAttribute('data-chunks');
      expect(Number(chunks), `chunks from ${source}`).toBeGreaterThan(0);
    }
    const [download] = await Promise.all([
      page2.waitForEvent('download'),
      transfer.getByTestId(TEST_IDS.saveButton).click(),
    ]);
    const saved = testInfo.outputPath('saved.bin');
    await download.saveAs(saved);
    expect(sha256(await readFile(saved))).toBe(SHARED.fileId);

    await dashboard.sendChat(page1, 'hello from page 1');
    await expect(dashboard.messages(page2).filter({ hasText: 'hello from page 1' })).toHaveCount(1);
    await dashboard.sendChat(page2, 'hello back from page 2');
    await expect(dashboard.messages(page1).filter({ hasText: 'hello back from page 2' })).toHaveCount(1);
    await expect
      .poll(async () => JSON.stringify((await node.api('/api/messages')).body), { timeout: 30_000 })
      .toMatch(/(?=[\s\S]*hello from page 1)(?=[\s\S]*hello back from page 2)/);
    expect([...peer1.pageErrors, ...peer2.pageErrors]).toEqual([]);
  });

  test('a page reloaded mid-download resumes and finishes without starting over', async ({ openPeer }) => {
    const { page, pageErrors } = await openPeer('reloader');
    await joinedPeerId(page);
    const offer = dashboard.swarmFile(page, LARGE.fileId);
    await offer.getByTestId(TEST_IDS.downloadButton).click({ timeout: 60_000 });
    const progress = () => dashboard.transferFor(page, LARGE.fileId).getByTestId(TEST_IDS.transferProgress);
    await expect
      .poll(async () => Number(await progress().getAttribute('aria-valuenow')), { timeout: 60_000 })
      .toBeGreaterThan(0);
    const before = Number(await progress().getAttribute('aria-valuenow'));
    expect(before, 'the reload must land mid-download').toBeLessThan(100);

    await page.reload();
    await expect(progress()).toBeVisible({ timeout: 30_000 });
    const afterReload = Number(await progress().getAttribute('aria-valuenow'));
    expect(afterReload, 'progress kept across the reload').toBeGreaterThanOrEqual(before);
    const row = dashboard.transferFor(page, LARGE.fileId);
    if ((await row.getAttribute('data-status')) === 'paused')
      await row.getByTestId(TEST_IDS.transferResume).click();
    await expect(row).toHaveAttribute('data-status', 'completed', { timeout: DOWNLOAD_TIMEOUT_MS });
    expect(pageErrors).toEqual([]);
  });
});

async function joinedPeerId(page: Page): Promise<string> {
  await expect(dashboard.root(page)).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId(TEST_IDS.bootstrapState)).toHaveAttribute('data-state', 'joined', {
    timeout: 30_000,
  });
  return (await dashboard.selfPeerId(page).textContent())!.trim();
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
