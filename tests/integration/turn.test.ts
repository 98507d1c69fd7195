import { afterEach, describe, expect, it } from 'vitest';
import type { WebRtcTransport } from '../../lib/peer/transport-webrtc.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { IN_NETNS, blockBetween, udpReaches } from '../support/netns-firewall.ts';
import type { BlockedPath } from '../support/netns-firewall.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';
import { startTurnServer } from '../support/turn-server.ts';
import type { TurnServer } from '../support/turn-server.ts';

/**
 * B and C sit on loopback addresses of their own, coturn on 127.0.0.1, and iptables drops every
 * packet between B and C: the relay is the only path, so a link that works is a relayed one. That
 * needs the loopback-only network namespace of scripts/loopback-netns.sh (npm test runs in it);
 * outside it the host's firewall is never touched and the test is skipped.
 */
const B_ADDRESS = '127.0.0.2';
const C_ADDRESS = '127.0.0.3';

const nodes: TestNode[] = [];
let turn: TurnServer | undefined;
let blocked: BlockedPath | undefined;
// No node-datachannel cleanup() after this file, unlike the other WebRTC tests: once in a full CI run it
// never returned (main thread in a futex wait, libjuice's poll thread still alive after a TURN
// allocation), hanging the suite. The peer connections are closed with their nodes; the test worker
// process ends with the file.
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await turn?.close();
  blocked?.remove();
  await removeTempDirs();
});

if (!IN_NETNS) {
  console.warn('turn.test.ts: skipped: it changes iptables, which it does only inside the loopback-only network namespace (run it through scripts/loopback-netns.sh as root)');
}

describe('WebRTC through a TURN relay (coturn on loopback)', () => {
  it.skipIf(!IN_NETNS)('links two relay-only peers whose direct path is blocked, and moves a file through the relay', async () => {
    turn = await startTurnServer();
    blocked = blockBetween(B_ADDRESS, C_ADDRESS);
    expect(await udpReaches(B_ADDRESS, C_ADDRESS)).toBe(false);
    expect(await udpReaches(B_ADDRESS, '127.0.0.1')).toBe(true);

    // A is only the signalling endpoint B and C meet at; its own WebRTC side stays off.
    const a = await startTestNode({ name: 'A' }, { webrtc: false });
    nodes.push(a);
    // --ice-server turn:USER:PASS@host:port, as a user would give it, and --relay-only.
    const relayed = { iceServers: [turn.url], relayOnly: true, noTcp: true, bootstrap: [a.signalUrl] };
    const file = randomFile(2 * 1024 * 1024);
    const dirB = await makeTempDir();
    await putShared(dirB, 'through-turn.bin', file.data);
    const b = await startTestNode({ dir: dirB, name: 'B', host: B_ADDRESS, ...relayed });
    const c = await startTestNode({ name: 'C', host: C_ADDRESS, ...relayed });
    nodes.push(b, c);

    const link = await waitFor(() => c.peer.connectionTo(b.peer.id), 45_000, 'C linked to B');
    expect(link.remote?.verified).toBe(true);
    for (const [from, to] of [[c, b], [b, c]] as const) {
      const end = await waitFor(() => from.peer.connectionTo(to.peer.id), 10_000, `${from.config.name} linked to ${to.config.name}`);
      const pair = await (end.transport as WebRtcTransport).refreshCandidatePair();
      // Both ends on a relay candidate, and both relay addresses are coturn's.
      expect(pair).toMatchObject({ local: { type: 'relay', address: '127.0.0.1' }, remote: { type: 'relay', address: '127.0.0.1' } });
    }

    await waitFor(async () => {
      const { body } = await c.api('/api/files');
      return body.remote.find((f: any) => f.file_id === file.fileId && f.peers.includes(b.peer.id));
    }, 20_000, 'B to offer the file');
    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    const transfer = await waitForTransferDone(c, started.body.transfer.transfer_id, 60_000, 'the download through the relay');
    expect(transfer.peers_used).toEqual([b.peer.id]);
    expect((await readShared(c.dir, 'through-turn.bin')).equals(file.data)).toBe(true);
    // Still relayed after the transfer: the path never switched to a direct one.
    const after = await (link.transport as WebRtcTransport).refreshCandidatePair();
    expect(after?.local.type).toBe('relay');
  });
});
