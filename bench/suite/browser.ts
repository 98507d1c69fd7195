/**
 * browser: a file from a node (this process, node-datachannel) into a Chromium page's IndexedDB (a
 * real on-disk profile), against a raw data-channel pump between the same two endpoints in the same
 * run with the message size of the node's chunk frames on that link; and the tab's peak JS heap
 * during the download. See bench/README.md for what is timed.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CDPSession, Page } from 'playwright-core';
import { CHUNK_FRAME_HEADER_BYTES } from '../../lib/peer/wire/chunk-frame.ts';
import { WEBRTC_ACK_EVERY_BYTES } from '../../lib/peer/webrtc/ack-window.ts';
import { DEFAULT_CHUNK_SIZE } from '../../lib/transfer/manifest.ts';
import { parseBytes } from '../../bootstrap-node/config.ts';
import { serveBrowserBundle } from '../../tests/support/browser-bundle.ts';
import { launchChromium } from '../../tests/support/chromium.ts';
import type { BenchWindow } from '../lib/browser-bench-entry.ts';
import { writeRandomFile } from '../lib/files.ts';
import { mbps, say, sizeLabel } from '../lib/report.ts';
import { rawDataChannelPump } from '../lib/rtc-pump.ts';
import type { PumpReceiver, PumpSignal } from '../lib/rtc-pump.ts';
import type { RunGuard } from '../lib/run-guard.ts';
import { startSeeder } from '../lib/seeder.ts';
import { profileThisProcess, summarizeProfiles } from '../lib/cpu-profile.ts';
import { profileTab } from '../lib/tab-profile.ts';
import { formatUsage, snapshotUsage, usageBetween } from '../lib/process-usage.ts';
import type { PhaseUsage } from '../lib/process-usage.ts';
import type { Benchmark } from '../lib/suite.ts';

const ENTRY = fileURLToPath(new URL('../lib/browser-bench-entry.ts', import.meta.url));
const RATIO_GOAL = 0.7;
const HEAP_GOAL_MB = 300;
/**
 * Chromium's SCTP max-message-size: the node's chunks to a tab are capped to fit one such frame
 * (lib/transfer/download.ts), i.e. a whole number of pieces plus the chunk frame header.
 */
const CHROMIUM_MAX_MESSAGE_BYTES = 256 * 1024;
const CHUNK_BYTES = Math.floor((CHROMIUM_MAX_MESSAGE_BYTES - CHUNK_FRAME_HEADER_BYTES) / DEFAULT_CHUNK_SIZE) * DEFAULT_CHUNK_SIZE;
const MESSAGE_BYTES = CHUNK_BYTES + CHUNK_FRAME_HEADER_BYTES;
/** How often the tab's JS heap is sampled during the download. */
const HEAP_SAMPLE_MS = 100;
const LINK_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 600_000;

type W = BenchWindow;

/** The page as the receiving end of the raw pump: signalling through page.evaluate / an exposed function. */
async function pageReceiver(page: Page, total: number): Promise<PumpReceiver> {
  let handler: (signal: PumpSignal) => void = () => {};
  await page.exposeFunction('pumpSignalOut', (signal: PumpSignal) => handler(signal));
  await page.evaluate(({ total, ack }) => (window as unknown as W).pumpReceive(total, ack), { total, ack: WEBRTC_ACK_EVERY_BYTES });
  let failed: Error | null = null;
  return {
    deliver: (signal) => void page.evaluate((s) => (window as unknown as W).pumpSignalIn(s), signal).catch((err: Error) => (failed ??= err)),
    onSignal: (h) => void (handler = h),
    done: page.evaluate(() => (window as unknown as W).pumpDone()).then(() => {
      if (failed) throw failed;
    }),
    received: () => null,
    close: async () => {},
  };
}

interface HeapUsage {
  /** The JS heap in use. */
  usedSize: number;
  /** ArrayBuffer backing stores (received chunks live here, outside the JS heap); absent in older Chromium. */
  backingStorageSize?: number;
}

/** The tab's peak JS heap and ArrayBuffer memory (main thread, CDP Runtime.getHeapUsage), sampled until `stop`. */
function sampleHeap(cdp: CDPSession): { stop(): Promise<{ heap: number; buffers: number }> } {
  const peak = { heap: 0, buffers: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const usage = (await cdp.send('Runtime.getHeapUsage')) as HeapUsage;
      peak.heap = Math.max(peak.heap, usage.usedSize);
      peak.buffers = Math.max(peak.buffers, usage.backingStorageSize ?? NaN);
      await new Promise((r) => setTimeout(r, HEAP_SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function openBrowser(guard: RunGuard) {
  const server = await serveBrowserBundle(ENTRY);
  guard.onCleanup(() => server.close());
  const browser = await launchChromium({ origin: server.origin, profileDir: join(guard.tempDir, 'chromium-profile') });
  guard.onCleanup(() => browser.close());
  return { server, browser };
}

export const browserBenchmark: Benchmark = {
  name: 'browser',
  timeoutMs: (quick) => (quick ? 240_000 : 900_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '32M' : '256M', 'size');
    const seederDir = join(guard.tempDir, 'seeder');
    say(`writing a ${sizeLabel(size)} random file…`);
    const fileId = await writeRandomFile(join(seederDir, 'shared_files', 'bench-random.bin'), size);
    const seeder = await startSeeder({ dir: seederDir, guard });
    const { server, browser } = await openBrowser(guard);

    // The pump first, in its own page: the same node process and the same Chromium.
    say(`raw data-channel pump node -> page: ${sizeLabel(size)} in ${MESSAGE_BYTES} B messages…`);
    const pumpPage = await browser.newPage();
    await pumpPage.goto(server.pageUrl);
    const pumpStart = snapshotUsage();
    const pump = await rawDataChannelPump(guard, size, MESSAGE_BYTES, (total) => pageReceiver(pumpPage, total));
    const pumpUsage = usageBetween(pumpStart, snapshotUsage());
    await pumpPage.close();
    const pumpRate = mbps(pump.bytes, pump.ms);
    say(`  ${pumpRate.toFixed(0)} MB/s\n${formatUsage(pumpUsage)}`);

    say('download node -> page into IndexedDB…');
    const page = await browser.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') say(`[page] ${msg.text()}`);
    });
    await page.goto(server.pageUrl);
    await page.evaluate((url) => (window as unknown as W).startPeer({ bootstrapUrl: url }), seeder.node.signalUrl);
    await page.waitForFunction(
      ({ fileId, nodeId }) => (window as unknown as W).peer.getSnapshot().swarmFiles.some((f) => f.fileId === fileId && f.sources.includes(nodeId)),
      { fileId, nodeId: seeder.node.peer.id },
      { timeout: LINK_TIMEOUT_MS, polling: 50 },
    );
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize: heapBefore } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    const heap = sampleHeap(cdp);
    // With --profile: the tab (main thread and workers) and this process (the seeder), over the download.
    const tabProfile = profileDir ? await profileTab(cdp, join(profileDir, 'browser-tab')) : null;
    const nodeProfile = profileDir ? await profileThisProcess(join(profileDir, 'browser-seeder')) : null;
    let downloadMs: number;
    let receivedMs: number;
    let verifiedMs: number;
    let peak = { heap: 0, buffers: 0 };
    const downloadStart = snapshotUsage();
    let downloadUsage: PhaseUsage;
    try {
      ({ ms: downloadMs, receivedMs, verifiedMs } = await page.evaluate(({ id, timeout }) => (window as unknown as W).timedDownload(id, timeout), { id: fileId, timeout: DOWNLOAD_TIMEOUT_MS }));
      downloadUsage = usageBetween(downloadStart, snapshotUsage());
    } finally {
      peak = await heap.stop();
      await tabProfile?.stop();
      await nodeProfile?.stop();
    }
    if (profileDir) {
      say(`\nCPU profile of the tab, over the download:\n${await summarizeProfiles(join(profileDir, 'browser-tab'))}`);
      say(`\nCPU profile of the seeder (this process), over the download:\n${await summarizeProfiles(join(profileDir, 'browser-seeder'))}`);
    }
    const transfer = await page.evaluate((id) => (window as unknown as W).peer.getSnapshot().transfers.find((t) => t.fileId === id), fileId);
    const rate = mbps(size, downloadMs);
    say(`  ${rate.toFixed(1)} MB/s (${(downloadMs / 1000).toFixed(1)} s, after the last byte: check ${((verifiedMs - receivedMs) / 1000).toFixed(2)} s, adopt ${((downloadMs - verifiedMs) / 1000).toFixed(2)} s); peak JS heap ${(peak.heap / 1e6).toFixed(0)} MB, ArrayBuffers ${(peak.buffers / 1e6).toFixed(0)} MB\n${formatUsage(downloadUsage)}`);
    await page.close();
    await seeder.node.close();
    return {
      figure: {
        what: `${sizeLabel(size)} node to a Chromium tab's IndexedDB over WebRTC`,
        value: rate,
        unit: 'MB/s',
        reference: { label: `raw data-channel pump node -> same Chromium, ${MESSAGE_BYTES} B messages`, value: pumpRate },
        goal: { on: 'ratio', atLeast: RATIO_GOAL },
      },
      more: [
        { name: 'browser: tab peak JS heap', value: peak.heap / 1e6, unit: 'MB', goal: { on: 'value', below: HEAP_GOAL_MB } },
        { name: 'browser: tab peak ArrayBuffer memory', value: peak.buffers / 1e6, unit: 'MB' },
      ],
      details: { fileBytes: size, downloadMs, allReceivedMs: receivedMs, verifiedMs, pump, heapBeforeBytes: heapBefore, peakHeapBytes: peak.heap, peakArrayBufferBytes: peak.buffers, messageBytes: MESSAGE_BYTES, peers: transfer?.peers, pumpUsage, downloadUsage },
    };
  },
};
