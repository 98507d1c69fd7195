/**
 * Captures each dashboard panel to docs/screenshots/<panel>.png for the README: a node sharing a file,
 * two browser peers (Alice shares a file and chats, Bob chats and downloads the node's file), and a
 * third tab pointed at a bootstrap nobody answers, for the notices panel. Each step is best effort with
 * a bound, so the script still captures what the page shows when a step cannot happen (it says which).
 * Run with `npm run screenshots` (builds the app when stale, runs in the loopback-only namespace).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from '@playwright/test';
import { TEST_IDS } from '../app/test-ids.ts';
import { startNodeProcess } from '../tests/support/node-process.ts';
import { launchPeerBrowser } from '../tests/e2e/chromium.ts';

const OUT_DIR = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const STEP_TIMEOUT_MS = 20_000;
const MiB = 1024 * 1024;

const PANELS = {
  status: TEST_IDS.panelStatus,
  peers: TEST_IDS.panelPeers,
  chat: TEST_IDS.panelChat,
  files: TEST_IDS.panelFiles,
  transfers: TEST_IDS.panelTransfers,
  settings: TEST_IDS.panelSettings,
} as const;

async function step(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    console.log(`screenshots: ${what}`);
  } catch (err) {
    console.log(`screenshots: skipped "${what}": ${(err as Error).message.split('\n')[0]}`);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'swarmdrop-shots-'));
  const nodeDir = join(work, 'node');
  await mkdir(join(nodeDir, 'shared_files'), { recursive: true });
  await writeFile(join(nodeDir, 'shared_files', 'field-recordings.zip'), randomBytes(24 * MiB));
  const picked = join(work, 'holiday-photos.tar');
  await writeFile(picked, randomBytes(6 * MiB));

  const node = await startNodeProcess(['--dir', nodeDir, '--name', 'home-node']);
  const contexts: BrowserContext[] = [];
  const open = async (name: string, query = ''): Promise<Page> => {
    const context = await launchPeerBrowser(join(work, `profile-${name}`), node.apiUrl);
    contexts.push(context);
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${node.apiUrl}/${query}`);
    await page.getByTestId(TEST_IDS.dashboard).waitFor();
    return page;
  };
  try {
    const alice = await open('alice');
    const bob = await open('bob');
    if (await peersRunning([alice, bob])) await interact(alice, bob, picked);
    else
      console.log(
        'screenshots: the browser peer did not start (the page shows why); capturing the panels as they are',
      );
    await mkdir(OUT_DIR, { recursive: true });
    for (const [name, testId] of Object.entries(PANELS)) {
      await step(`captured ${name}.png`, () =>
        bob.getByTestId(testId).screenshot({ path: join(OUT_DIR, `${name}.png`) }),
      );
    }
    await step('captured dashboard.png', () =>
      bob.screenshot({ path: join(OUT_DIR, 'dashboard.png'), fullPage: true }),
    );
    const stranded = await open('stranded', '?bootstrap=ws://127.0.0.1:9/signal');
    await step('captured notices.png', async () => {
      await stranded.getByTestId(TEST_IDS.notice).first().waitFor({ timeout: STEP_TIMEOUT_MS });
      await stranded.getByTestId(TEST_IDS.panelNotices).screenshot({ path: join(OUT_DIR, 'notices.png') });
    });
  } finally {
    await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    await node.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
}

/** Whether both tabs' peers started (data-phase leaves "starting" for "ready" or "failed"). */
async function peersRunning(pages: Page[]): Promise<boolean> {
  const phases = await Promise.all(
    pages.map(async (page) => {
      const root = page.getByTestId(TEST_IDS.dashboard);
      await root
        .and(page.locator('[data-phase="ready"], [data-phase="failed"]'))
        .waitFor({ timeout: STEP_TIMEOUT_MS })
        .catch(() => undefined);
      return root.getAttribute('data-phase');
    }),
  );
  return phases.every((phase) => phase === 'ready');
}

/** The story the screenshots tell: Alice shares and both chat, Bob downloads what the swarm offers. */
async function interact(alice: Page, bob: Page, picked: string): Promise<void> {
  const joined = (page: Page) =>
    page
      .locator(`[data-testid="${TEST_IDS.bootstrapState}"][data-state="joined"]`)
      .waitFor({ timeout: STEP_TIMEOUT_MS });
  await step('both tabs joined the swarm', () => Promise.all([joined(alice), joined(bob)]));
  await step('Alice shares a file', async () => {
    await alice.getByTestId(TEST_IDS.fileInput).setInputFiles(picked);
    await alice
      .locator(`[data-testid="${TEST_IDS.sharedFileRow}"][data-state="shared"]`)
      .waitFor({ timeout: STEP_TIMEOUT_MS });
  });
  await step('Alice and Bob chat', async () => {
    for (const [page, text] of [
      [alice, 'Hi all, the holiday photos are up.'],
      [bob, 'Thanks! Grabbing the field recordings too.'],
    ] as const) {
      await page.getByTestId(TEST_IDS.chatInput).fill(text);
      await page.getByTestId(TEST_IDS.chatSend).click();
    }
    await bob.getByTestId(TEST_IDS.chatMessage).nth(1).waitFor({ timeout: STEP_TIMEOUT_MS });
  });
  await step('Bob downloads the files', async () => {
    const buttons = bob.getByTestId(TEST_IDS.downloadButton);
    await buttons.first().waitFor({ timeout: STEP_TIMEOUT_MS });
    for (const button of await buttons.all()) await button.click();
    await bob.getByTestId(TEST_IDS.transferRow).first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await bob.waitForTimeout(1500); // let progress and the chunk map fill in
  });
}

await main();
