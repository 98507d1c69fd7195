import type { Locator, Page } from '@playwright/test';
import { TEST_IDS } from '../../app/test-ids.ts';

/**
 * How the e2e tests find things on the dashboard: by the stable data-testids of app/test-ids.ts (the
 * list, with the data attributes each row carries, is documented there), never by text or layout.
 */
export { TEST_IDS };

export function byTestId(scope: Page | Locator, id: (typeof TEST_IDS)[keyof typeof TEST_IDS]): Locator {
  return scope.getByTestId(id);
}

export const dashboard = {
  root: (page: Page) => page.getByTestId(TEST_IDS.dashboard),
  selfPeerId: (page: Page) => page.getByTestId(TEST_IDS.selfPeerId),
  notices: (page: Page) => page.getByTestId(TEST_IDS.notice),
  peerRow: (page: Page, peerId: string) =>
    page.locator(`[data-testid="${TEST_IDS.peerRow}"][data-peer-id="${peerId}"]`),
  swarmFile: (page: Page, fileId: string) =>
    page.locator(`[data-testid="${TEST_IDS.swarmFileRow}"][data-file-id="${fileId}"]`),
  transferFor: (page: Page, fileId: string) =>
    page.locator(`[data-testid="${TEST_IDS.transferRow}"][data-file-id="${fileId}"]`),
  messages: (page: Page) => page.getByTestId(TEST_IDS.chatMessage),
  async sendChat(page: Page, text: string): Promise<void> {
    await page.getByTestId(TEST_IDS.chatInput).fill(text);
    await page.getByTestId(TEST_IDS.chatSend).click();
  },
};
