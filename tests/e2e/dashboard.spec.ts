import { dashboard, TEST_IDS } from './dashboard.ts';
import { expect, test } from './fixtures.ts';

/**
 * The page the node serves renders the dashboard, and whatever happens to the browser peer's start
 * reaches the person as a notice in plain words (with the placeholder runtime of lib/browser/start.browser.ts
 * the start always fails; with the real one this test still holds for an unreachable bootstrap).
 */
test('the node serves the dashboard and an unreachable bootstrap is told in plain words', async ({
  openPeer,
}) => {
  // Port 9 (discard) on loopback: nothing listens there, so the start fails for any runtime.
  const { page, pageErrors } = await openPeer('alone', '?bootstrap=ws://127.0.0.1:9/signal');
  await expect(dashboard.root(page)).toBeVisible();
  for (const panel of [
    TEST_IDS.panelStatus,
    TEST_IDS.panelPeers,
    TEST_IDS.panelChat,
    TEST_IDS.panelFiles,
    TEST_IDS.panelTransfers,
    TEST_IDS.panelSettings,
  ]) {
    await expect(page.getByTestId(panel), panel).toBeVisible();
  }
  const notice = dashboard.notices(page).first();
  await expect(notice).toBeVisible({ timeout: 30_000 });
  await expect(notice).toHaveAttribute('data-level', 'error');
  await expect(page.getByTestId(TEST_IDS.bootstrapState)).toHaveAttribute('data-state', 'unreachable');
  // The settings panel shows the overriding bootstrap from the query string.
  await expect(page.getByTestId(TEST_IDS.bootstrapInput)).toHaveValue('ws://127.0.0.1:9/signal');
  await page.getByTestId(TEST_IDS.noticeDismiss).first().click();
  await expect(dashboard.notices(page)).toHaveCount(0);
  expect(pageErrors).toEqual([]);
});

test('by default the tab bootstraps from the node that served it', async ({ node, openPeer }) => {
  const { page } = await openPeer('default');
  await expect(dashboard.root(page)).toBeVisible();
  const expected = `${node.apiUrl.replace(/^http/, 'ws')}/signal`;
  await expect(page.getByTestId(TEST_IDS.bootstrapInput)).toHaveValue(expected);
});

test('a bootstrap chosen in settings is used, remembered across a reload, and can be reset', async ({
  node,
  openPeer,
}) => {
  const { page, pageErrors } = await openPeer('settings');
  const input = page.getByTestId(TEST_IDS.bootstrapInput);
  const servingNode = `${node.apiUrl.replace(/^http/, 'ws')}/signal`;
  await expect(input).toHaveValue(servingNode);
  await input.fill('http://not-a-signal-endpoint');
  await expect(page.getByTestId(TEST_IDS.bootstrapApply)).toBeDisabled();
  const other = 'ws://127.0.0.1:9/signal';
  await input.fill(other);
  await page.getByTestId(TEST_IDS.bootstrapApply).click();
  await expect(page.getByTestId(TEST_IDS.bootstrapState)).toHaveAttribute(
    'data-state',
    /connecting|unreachable/,
  );
  await page.reload();
  await expect(page.getByTestId(TEST_IDS.bootstrapInput)).toHaveValue(other);
  await page.getByTestId(TEST_IDS.bootstrapReset).click();
  await expect(page.getByTestId(TEST_IDS.bootstrapInput)).toHaveValue(servingNode);
  await page.reload();
  await expect(page.getByTestId(TEST_IDS.bootstrapInput)).toHaveValue(servingNode);
  expect(pageErrors).toEqual([]);
});
