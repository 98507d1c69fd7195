import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WebRtcTransport } from '../../lib/peer/transport-webrtc.ts';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';
import { startTurnServer } from '../support/turn-server.ts';
import type { TurnServer } from '../support/turn-server.ts';

const nodes: TestNode[] = [];
let turn: TurnServer | undefined;
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await turn?.close();
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

describe('WebRTC through a TURN relay (coturn on loopback)', () => {
  it('links two peers forced to relay and moves a file through it', async () => {
    turn = await startTurnServer();
    const relayed = { iceServers: [turn.url], relayOnly: true };
    const file = randomFile(2 * 1024 * 1024);
    const a = await startTestNode({ name: 'A', ...relayed });
    nodes.push(a);
    const dirB = await makeTempDir();
    await putShared(dirB, 'through-turn.bin', file.data);
    const b = await startTestNode({ dir: dirB, name: 'B', noTcp: true, bootstrap: [a.signalUrl], ...relayed });
    const c = await startTestNode({ name: 'C', noTcp: true, bootstrap: [a.signalUrl], ...relayed });
    nodes.push(b, c);

    const link = await waitFor(() => c.peer.connectionTo(b.peer.id), 45_000, 'C linked to B');
    // The selected pair as the native stack reports it settles shortly after the channel opens: poll it.
    const pair = await waitFor(async () => {
      const current = await (link.transport as WebRtcTransport).refreshCandidatePair();
      return current?.local.type === 'relay' && current.remote.type === 'relay' ? current : null;
    }, 10_000, 'a relay-to-relay candidate pair');
    expect(pair.local.address).toBe('127.0.0.1');

    await waitFor(async () => {
      const { body } = await c.api('/api/files');
      return body.remote.find((f: any) => f.file_id === file.fileId && f.peers.includes(b.peer.id));
    }, 20_000, 'B to offer the file');
    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    const transfer = await waitFor(async () => {
      const { body } = await c.api(`/api/files/transfers/${started.body.transfer.transfer_id}`);
      if (body.transfer.status === 'failed') throw new Error(body.transfer.error);
      return body.transfer.status === 'completed' ? body.transfer : null;
    }, 60_000, 'the download through the relay');
    expect(transfer.peers_used).toContain(b.peer.id);
    expect((await readShared(c.dir, 'through-turn.bin')).equals(file.data)).toBe(true);
  });
});
