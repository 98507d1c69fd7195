/**
 * The page script of the browser-peer tests: exposes startBrowserPeer and a few helpers on `window`
 * so a test drives the real runtime through page.evaluate.
 */
import { startBrowserPeer } from '../../lib/browser/start.browser.ts';
import type { DashboardSource } from '../../lib/browser/view.ts';
import { seededBytes } from './seeded-bytes.ts';

export interface TestWindow {
  startPeer(options: { bootstrapUrl: string; name?: string }): Promise<string>;
  peer: DashboardSource;
  /** Shares a file of seededBytes(size, seed), as if the user had picked it; resolves to ms spent. */
  shareSeeded(name: string, size: number, seed: number): Promise<number>;
}

const w = window as unknown as TestWindow;
w.startPeer = async (options) => {
  w.peer = await startBrowserPeer({
    ...options,
    saveMethod: 'link',
    // A second guard besides the loopback-only namespace: only loopback candidates are signalled.
    candidateFilter: (candidate) => candidate.includes(' 127.0.0.1 '),
  });
  return w.peer.getSnapshot().self.peerId;
};
w.shareSeeded = async (name, size, seed) => {
  const file = new File([seededBytes(size, seed) as BlobPart], name);
  const started = performance.now();
  await w.peer.shareFiles([file]);
  return performance.now() - started;
};
