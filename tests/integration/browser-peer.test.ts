import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { until, useChromiumPeers, view } from '../support/browser-pages.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { seededBytes } from '../support/seeded-bytes.ts';
import { makeTempDir, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';
import type { TestWindow } from '../support/browser-peer-entry.ts';

/**
 * A real Chromium tab as a peer: it joins a real node through the node's /signal, links over WebRTC,
 * chats both ways, downloads what the node shares into IndexedDB (resuming after a reload), and
 * keeps one identity per tab across reloads.
 */
/** Big enough that a reload lands mid-download at the node's capped upload rate. */
const FILE_BYTES = 6 * 1024 * 1024;
/** A file picked in the tab: several requests' worth, with a short last piece. */
const TAB_FILE_BYTES = 5 * 1024 * 1024 + 123;
const SEED = 42;
/** The node's upload cap: the download takes a few seconds, so the test can reload in the middle. */
const NODE_UPLOAD_LIMIT = 1024 * 1024;

let node: TestNode;
const tabs = useChromiumPeers(async () => node?.close());

describe('browser peer in Chromium', () => {
  it('joins a node through /signal, links over WebRTC and chats both ways', async () => {
    node = await startTestNode({ noTcp: true, name: 'node-a' });
    const page = await tabs.newPage();
    const tabId = await tabs.openPeer(page, node.signalUrl);

    const linked = await until(page, (v) => v.peers.find((p) => p.peerId === node.peer.id && p.status === 'online'), 'the node online');
    expect(linked.transport).toBe('webrtc');
    // The tab may finish its side of the handshake a moment before the node does.
    await waitFor(() => node.peer.connectionTo(tabId)?.transport.kind === 'webrtc', 10_000, 'the node linked to the tab');
    const self = (await view(page)).self;
    expect(self.bootstrapState).toBe('joined');

    await page.evaluate(() => (window as unknown as TestWindow).peer.sendMessage('hello from the tab', null));
    await waitFor(() => node.history.list(50).find((e) => (e.payload as any).content?.text === 'hello from the tab'), 10_000, 'the tab message at the node');

    await node.messaging.send('hello tab', tabId);
    const incoming = await until(page, (v) => v.messages.find((m) => m.text === 'hello tab'), 'the node message in the tab');
    expect(incoming).toMatchObject({ direction: 'incoming', conversation: node.peer.id, senderId: node.peer.id });
    // Our direct reply is acknowledged by the node: delivered.
    await page.evaluate((to) => (window as unknown as TestWindow).peer.sendMessage('hi node', to), node.peer.id);
    await until(page, (v) => v.messages.find((m) => m.text === 'hi node' && m.status === 'delivered'), 'the reply delivered');
  });

  it('keeps its identity across a reload, and a second tab is another peer', async () => {
    node = await startTestNode({ noTcp: true });
    const first = await tabs.newPage();
    const id = await tabs.openPeer(first, node.signalUrl);
    const second = await tabs.newPage();
    const otherId = await tabs.openPeer(second, node.signalUrl);
    expect(otherId).not.toBe(id);
    // The two tabs find each other through the node's endpoint and link directly.
    await until(first, (v) => v.peers.find((p) => p.peerId === otherId && p.status === 'online' && p.transport === 'webrtc'), 'the other tab linked');
    await first.reload();
    expect(await tabs.openPeer(first, node.signalUrl)).toBe(id);
    // The reloaded tab is a new incarnation of the same peer: the other tab links to it again.
    await until(first, (v) => v.peers.find((p) => p.peerId === otherId && p.status === 'online' && p.transport === 'webrtc'), 'the other tab linked again');
  });

  it('downloads a file the node shares into IndexedDB, resumes after a reload, and saves it byte-identical', async () => {
    const dir = await makeTempDir();
    const { data, fileId } = randomFile(FILE_BYTES);
    await putShared(dir, 'shared.bin', data);
    node = await startTestNode({ dir, noTcp: true, uploadLimit: NODE_UPLOAD_LIMIT });
    const page = await tabs.newPage();
    const tabId = await tabs.openPeer(page, node.signalUrl);

    await until(page, (v) => v.swarmFiles.find((f) => f.fileId === fileId && f.sources.includes(node.peer.id)), 'the node file in the swarm list');
    await page.evaluate((id) => (window as unknown as TestWindow).peer.download(id), fileId);
    const partial = await until(page, (v) => v.transfers.find((t) => t.fileId === fileId && t.bytesReceived >= FILE_BYTES / 4), 'a quarter of the file');
    expect(partial.status).toBe('running');
    expect(partial.peers.map((p) => p.peerId)).toEqual([node.peer.id]);

    await page.evaluate((id) => (window as unknown as TestWindow).peer.pause(id), partial.transferId);
    await until(page, (v) => v.transfers.find((t) => t.transferId === partial.transferId && t.status === 'paused'), 'the transfer paused');
    await page.evaluate((id) => (window as unknown as TestWindow).peer.resume(id), partial.transferId);
    await until(page, (v) => v.transfers.find((t) => t.transferId === partial.transferId && t.bytesReceived >= FILE_BYTES / 3 && t.status === 'running'), 'a third of the file after resuming');

    await page.reload();
    expect(await tabs.openPeer(page, node.signalUrl)).toBe(tabId);
    const done = await until(page, (v) => v.transfers.find((t) => t.fileId === fileId && t.status === 'completed' && t.canSave), 'the download complete', 60_000);
    // Pieces stored before the reload count as the tab's own in the chunk map: it resumed.
    const ownIndex = done.chunkSources.indexOf(tabId);
    const resumedPieces = done.chunkMap.filter((source) => source === ownIndex).length;
    expect(resumedPieces).toBeGreaterThan(0);
    expect(resumedPieces).toBeLessThan(done.chunkCount);
    expect(done.chunkMap.every((source) => source >= 0)).toBe(true);
    expect(done.canSave).toBe(true);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((id) => (window as unknown as TestWindow).peer.saveToDisk(id), done.transferId),
    ]);
    const saved = await readFile((await download.path())!);
    expect(createHash('sha256').update(saved).digest('hex')).toBe(fileId);
    // The finished file is shared from the tab now.
    await until(page, (v) => v.swarmFiles.length === 0 || v.shared.find((f) => f.fileId === fileId && f.state === 'shared'), 'the file shared by the tab');
  });

  it('shares a picked file (hashed in a worker, kept in IndexedDB) that a node downloads after the tab reloaded', async () => {
    node = await startTestNode({ noTcp: true });
    const page = await tabs.newPage();
    const tabId = await tabs.openPeer(page, node.signalUrl);
    const fileId = createHash('sha256').update(seededBytes(TAB_FILE_BYTES, SEED)).digest('hex');
    const hashMs = await page.evaluate(({ size, seed }) => (window as unknown as TestWindow).shareSeeded('from-tab.bin', size, seed), { size: TAB_FILE_BYTES, seed: SEED });
    console.log(`hashed ${TAB_FILE_BYTES} bytes in the tab in ${Math.round(hashMs)} ms`);
    const shared = await until(page, (v) => v.shared.find((f) => f.state === 'shared'), 'the file shared');
    expect(shared).toMatchObject({ fileId, size: TAB_FILE_BYTES, name: 'from-tab.bin' });

    await page.reload();
    expect(await tabs.openPeer(page, node.signalUrl)).toBe(tabId);
    await waitFor(() => node.transfers.catalog.get(fileId)?.sources.has(tabId), 30_000, 'the tab file offered to the node');
    const record = await node.transfers.download(fileId);
    await waitFor(() => node.transfers.get(record.transfer_id)?.status === 'completed', 30_000, 'the node download complete');
    expect(node.transfers.get(record.transfer_id)!.peers_used).toEqual([tabId]);
    expect(createHash('sha256').update(await readShared(node.dir, 'from-tab.bin')).digest('hex')).toBe(fileId);
  });

  it('says in plain words when the bootstrap node cannot be reached', async () => {
    node = await startTestNode({ noTcp: true });
    const closedUrl = node.signalUrl;
    await node.close();
    const page = await tabs.newPage();
    await tabs.openPeer(page, closedUrl);
    const v = await until(page, (v) => v.self.bootstrapState === 'unreachable' && v, 'the bootstrap unreachable');
    expect(v.self.bootstrapError).toContain('Could not reach the bootstrap node');
    expect(v.notices.find((n) => n.level === 'error')?.text).toContain('Check that the node is running');
  });

  it('downloads from another tab and the node at once', async () => {
    const dir = await makeTempDir();
    const bytes = seededBytes(TAB_FILE_BYTES, SEED + 1);
    const fileId = createHash('sha256').update(bytes).digest('hex');
    await putShared(dir, 'both.bin', Buffer.from(bytes));
    node = await startTestNode({ dir, noTcp: true, uploadLimit: NODE_UPLOAD_LIMIT });
    const seeder = await tabs.newPage();
    const seederId = await tabs.openPeer(seeder, node.signalUrl);
    await seeder.evaluate(({ size, seed }) => (window as unknown as TestWindow).shareSeeded('both.bin', size, seed), { size: TAB_FILE_BYTES, seed: SEED + 1 });
    const leecher = await tabs.newPage();
    await tabs.openPeer(leecher, node.signalUrl);

    await until(leecher, (v) => v.swarmFiles.find((f) => f.fileId === fileId && f.sources.length === 2), 'both sources offering the file');
    await leecher.evaluate((id) => (window as unknown as TestWindow).peer.download(id), fileId);
    const done = await until(leecher, (v) => v.transfers.find((t) => t.fileId === fileId && t.status === 'completed'), 'the download complete', 60_000);
    expect(new Set(done.chunkSources)).toEqual(new Set([node.peer.id, seederId]));
    expect(done.peers.find((p) => p.peerId === seederId)!.bytes).toBeGreaterThan(0);
  });
});
