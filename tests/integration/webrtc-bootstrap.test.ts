import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

describe('nodes that meet through signalling', () => {
  it('link over WebRTC without TCP, chat, and download from two peers', async () => {
    const file = randomFile(6 * 1024 * 1024);
    const dirA = await makeTempDir();
    const dirB = await makeTempDir();
    await putShared(dirA, 'shared.bin', file.data);
    await putShared(dirB, 'shared.bin', file.data);
    // Capped seeders, so that each serves part of the file.
    const a = await startTestNode({ dir: dirA, name: 'A', uploadLimit: 4 * 1024 * 1024 });
    nodes.push(a);
    const b = await startTestNode({ dir: dirB, name: 'B', noTcp: true, bootstrap: [a.signalUrl], uploadLimit: 4 * 1024 * 1024 });
    nodes.push(b);
    const c = await startTestNode({ name: 'C', noTcp: true, bootstrap: [a.signalUrl] });
    nodes.push(c);
    expect(b.tcpPort).toBe(0);

    // B and C are linked to each other directly over WebRTC (not through A), and both to A.
    const bAtC = await waitFor(async () => {
      const { body } = await c.api('/api/peers/connected');
      return body.peers.length === 2 && body.peers.find((p: any) => p.peer_id === b.peer.id);
    }, 45_000, 'C linked to A and B').catch((err) => {
      // Say what each node saw of signalling and WebRTC before giving up.
      for (const n of [a, b, c]) {
        const seen = n.logs.filter((l) => /WebRTC|signal|peer connected|connection closed/i.test(String(l.msg)) && Number(l.level) >= 30);
        console.log(n.config.name, n.peer.id, JSON.stringify(seen.map((l) => [l.msg, l.peer ?? l.url, l.reason ?? l.role])));
      }
      throw err;
    });
    expect(bAtC.metadata).toMatchObject({ transport: 'webrtc', via: null, kind: 'node', name: 'B' });
    expect(c.peer.connectionTo(b.peer.id)?.remote?.verified).toBe(true);

    const hello = await c.api('/api/messages', { body: { recipient_id: b.peer.id, text: 'over WebRTC' } });
    await waitFor(() => b.history.get(hello.body.message_id), 10_000, 'the text at B');
    await waitFor(() => c.history.get(hello.body.message_id)?.status === 'delivered', 10_000, 'the ack at C');

    await waitForOffer(c, file.fileId, 20_000, 'A and B to offer the file', 2);
    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    const transfer = await waitForTransferDone(c, started.body.transfer.transfer_id, 60_000, 'the download');
    expect(transfer.peers_used.sort()).toEqual([a.peer.id, b.peer.id].sort());
    expect((await readShared(c.dir, 'shared.bin')).equals(file.data)).toBe(true);
  });

  it("lets a newcomer reach a peer through a neighbour's relayed signalling after the first endpoint is gone", async () => {
    const a = await startTestNode({ name: 'A' });
    nodes.push(a);
    const b = await startTestNode({ name: 'B', noTcp: true, bootstrap: [a.signalUrl] });
    nodes.push(b);
    const c = await startTestNode({ name: 'C', noTcp: true, bootstrap: [a.signalUrl] });
    nodes.push(c);
    await waitFor(() => b.peer.connectionTo(c.peer.id), 45_000, 'B and C linked');
    await a.close();

    // D knows only B's endpoint. C was never there: D learns of C from B (peer exchange), and the
    // WebRTC offer and answer between D and C travel through B.
    const d = await startTestNode({ name: 'D', noTcp: true, bootstrap: [b.signalUrl] });
    nodes.push(d);
    const link = await waitFor(() => d.peer.connectionTo(c.peer.id), 45_000, 'D linked to C');
    expect(link.transport.kind).toBe('webrtc');
    expect(link.remote?.verified).toBe(true);
    const hello = await d.messaging.send('found you through B', c.peer.id);
    await waitFor(() => c.history.get(hello.payload.message_id), 10_000, 'the text at C');
  });
});
