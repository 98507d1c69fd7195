import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { DashboardView } from '../../lib/browser/view.ts';
import { until, useChromiumPeers, view } from '../support/browser-pages.ts';
import { randomFile } from '../support/files.ts';
import { seededBytes } from '../support/seeded-bytes.ts';
import { StandardPeer } from '../support/standard-peer.ts';
import { startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';
import type { TestWindow } from '../support/browser-peer-entry.ts';

/**
 * Issue 6's must-show with a real browser: one swarm of all three kinds. A standard socket peer S
 * (TCP only), a node N linked to S over TCP, and a Chromium tab P that bootstraps from N's /signal
 * and links to N over WebRTC. P and S never link: N bridges the files both ways and relays the chat.
 */
/**
 * Small files: S sends no chunk hashes, so N passes S's file on only after its whole-file check, and
 * the tab waits for that meanwhile (the known limit of bridging a hash-less standard file).
 */
const FROM_STANDARD_BYTES = 2 * 1024 * 1024 + 4321;
/** Several standard 1 MiB chunks with a short last one, so S asks N for more than one piece. */
const FROM_TAB_BYTES = 3 * 1024 * 1024 + 77;
const TAB_SEED = 606;
/** Generous: N fetches the whole file from S before the tab gets its first byte. */
const DOWNLOAD_TIMEOUT_MS = 90_000;
/** How long to wait after the last delivery for a duplicate that a relay loop would produce. */
const LATE_COPY_GRACE_MS = 1_000;

let node: TestNode | undefined;
let standard: StandardPeer | undefined;
const tabs = useChromiumPeers(async () => {
  await Promise.all([node?.close(), standard?.close()]);
  node = standard = undefined;
});

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('a mixed swarm with a real browser: standard peer, bridging node, Chromium tab', () => {
  it('moves files both ways through the node and carries chat both ways, each message once and unchanged', async () => {
    const fromStandard = randomFile(FROM_STANDARD_BYTES);
    const fromTabBytes = seededBytes(FROM_TAB_BYTES, TAB_SEED);
    const fromTabId = sha256(fromTabBytes);
    standard = await StandardPeer.start({
      sharedFiles: [{ name: 'from-standard.bin', data: fromStandard.data }],
    });
    const s = standard;
    node = await startTestNode({ name: 'N' });
    const n = node;
    await n.peer.connect('127.0.0.1', s.port);
    const page = await tabs.newPage();
    const tabId = await tabs.openPeer(page, n.signalUrl);
    await until(page, (v) => v.peers.find((p) => p.peerId === n.peer.id && p.status === 'online'), 'P linked to N');
    // The tab may finish its side of the handshake a moment before N does.
    await waitFor(() => n.peer.connectionTo(tabId)?.transport.kind === 'webrtc', 10_000, 'N linked to P over WebRTC');

    // P's peers view: S is a standard peer, reached through N; N itself directly over WebRTC.
    const sAtP = await until(page, (v) => v.peers.find((p) => p.peerId === s.id && p.status === 'online'), 'S online in P');
    expect(sAtP).toMatchObject({ kind: 'standard', status: 'online', transport: 'relay', via: n.peer.id });
    const nAtP = (await view(page)).peers.find((p) => p.peerId === n.peer.id);
    expect(nAtP).toMatchObject({ kind: 'node', transport: 'webrtc', via: null });
    expect(s.connections.some((c) => c.remotePeerId === tabId)).toBe(false);

    // standard -> browser: N offers S's file to P, fetches it from S on P's first request, checks
    // the whole file and only then serves it; P stores it in IndexedDB and saves it byte-identical.
    await until(
      page,
      (v) => v.swarmFiles.find((f) => f.fileId === fromStandard.fileId && f.sources.includes(n.peer.id)),
      "S's file offered to P",
    );
    await page.evaluate((id) => (window as unknown as TestWindow).peer.download(id), fromStandard.fileId);
    const done = await until(
      page,
      (v) => {
        const t = v.transfers.find((t) => t.fileId === fromStandard.fileId);
        if (t?.status === 'failed') throw new Error(`P's download failed: ${t.error}`);
        return t?.status === 'completed' && t.canSave && t;
      },
      "P's download of S's file",
      DOWNLOAD_TIMEOUT_MS,
    );
    expect(done.chunkSources).toEqual([n.peer.id]);
    expect(n.logs.some((l) => l.msg === 'fetching a bridged file for a peer that asked for it')).toBe(true);
    const [saving] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((id) => (window as unknown as TestWindow).peer.saveToDisk(id), done.transferId),
    ]);
    const saved = await readFile((await saving.path())!);
    expect(saved.equals(fromStandard.data)).toBe(true);

    // browser -> standard: P shares a file, N announces it to S as a plain standard manifest and
    // serves S's chunk requests with chunks it fetches from P, verified against P's chunk hashes.
    await page.evaluate(
      ({ size, seed }) => (window as unknown as TestWindow).shareSeeded('from-tab.bin', size, seed),
      { size: FROM_TAB_BYTES, seed: TAB_SEED },
    );
    const manifest = await s.waitFor(() => s.manifests.get(fromTabId), 30_000, "P's file announced to S");
    expect(manifest).toMatchObject({ file_id: fromTabId, file_name: 'from-tab.bin', file_size: FROM_TAB_BYTES, owner: n.peer.id });
    const atS = await s.download(fromTabId);
    expect(sha256(atS)).toBe(fromTabId);

    // Chat. P -> S direct, relayed by N with P's sender_id, message_id and timestamp.
    const textsAtS = (id: string) => s.texts.filter((t) => t.message_id === id);
    const sent = async (text: string, to: string | null) => {
      await page.evaluate(({ text, to }) => (window as unknown as TestWindow).peer.sendMessage(text, to), { text, to });
      return until(page, (v) => v.messages.find((m) => m.direction === 'outgoing' && m.text === text), `"${text}" in P`);
    };
    const direct = await sent('hello S from P', s.id);
    await s.waitFor(() => textsAtS(direct.messageId).length > 0, 10_000, "P's direct text at S");
    expect(textsAtS(direct.messageId)).toEqual([
      {
        version: '1.0',
        type: 'text',
        sender_id: tabId,
        message_id: direct.messageId,
        timestamp: direct.timestamp,
        recipient_id: s.id,
        content: { text: 'hello S from P' },
      },
    ]);
    // P broadcast: S gets it once, with P's fields.
    const all = await sent('hello everyone from P', null);
    await s.waitFor(() => textsAtS(all.messageId).length > 0, 10_000, "P's broadcast at S");
    expect(textsAtS(all.messageId)[0]).toMatchObject({
      sender_id: tabId,
      message_id: all.messageId,
      timestamp: all.timestamp,
      recipient_id: null,
      content: { text: 'hello everyone from P' },
    });

    // S -> P direct: addressed to P's id, sent on S's connection to N. Then S's broadcast.
    const nConnAtS = s.connections.find((c) => c.remotePeerId === n.peer.id && c.state === 'open')!;
    const toP = s.createEnvelope('text', { text: 'hello P from S' }, tabId);
    s.sendEnvelope(nConnAtS, toP);
    const sAll = s.sendText('hello everyone from S', null);
    const atP = (v: DashboardView, id: string) => v.messages.filter((m) => m.messageId === id);
    await until(page, (v) => atP(v, toP.message_id).length > 0 && atP(v, sAll.message_id).length > 0, "S's texts in P");

    // Late copies would have arrived by now; everything stayed single and unchanged.
    await new Promise((r) => setTimeout(r, LATE_COPY_GRACE_MS));
    const last = await view(page);
    for (const [env, conversation] of [[toP, s.id], [sAll, null]] as const) {
      expect(atP(last, env.message_id)).toEqual([
        expect.objectContaining({
          direction: 'incoming',
          senderId: s.id,
          conversation,
          timestamp: env.timestamp,
          text: (env.content as { text: string }).text,
        }),
      ]);
    }
    for (const id of [direct.messageId, all.messageId]) expect(textsAtS(id)).toHaveLength(1);
    for (const m of [direct, all]) expect(atP(last, m.messageId)).toHaveLength(1);
  }, 240_000);
});
