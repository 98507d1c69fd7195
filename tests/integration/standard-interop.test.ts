import { afterEach, describe, expect, it } from 'vitest';
import { capturedFrames, frameShape } from '../support/captured-frames.ts';
import { StandardPeer } from '../support/standard-peer.ts';
import type { StandardPeerDefects } from '../support/standard-peer.ts';
import { removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * Our node against a peer written from STANDARD-PROTOCOL.md alone (tests/support/standard-peer.ts),
 * with the reference peer's observed defects switched off and on.
 */
const captured = capturedFrames.map((c) => c.frame);

function capturedOf(predicate: (f: Record<string, any>) => boolean): Record<string, any> {
  const frame = captured.find(predicate);
  if (!frame) throw new Error('no such captured frame');
  return frame;
}

const FAST = { pingIntervalMs: 300, idleTimeoutMs: 60_000, handshakeTimeoutMs: 2_000 };

let node: TestNode | undefined;
let standard: StandardPeer | undefined;
afterEach(async () => {
  await Promise.all([node?.close(), standard?.close()]);
  node = standard = undefined;
  await removeTempDirs();
});

const ALL_DEFECTS: StandardPeerDefects = {
  acceptorIgnoresHandshake: true,
  dropWhenResponseAdvertisesDialledAddress: true,
  duplicateBroadcasts: true,
};

describe.each([
  ['defects off', {}],
  ['all three reference defects on', ALL_DEFECTS],
  // With the acceptor defect off both links stay up, so duplicate broadcasts really arrive twice.
  ['duplicate broadcasts and the advertised-address defect', { duplicateBroadcasts: true, dropWhenResponseAdvertisesDialledAddress: true }],
] as const)('a standard socket peer with %s', (_label, defects: StandardPeerDefects) => {
  it('dials a node and is dialled by it, handshakes, chats both ways and ping/pongs', async () => {
    node = await startTestNode({ name: 'node' }, { connectionTimings: FAST });
    standard = await StandardPeer.start({ defects, pingIntervalMs: 300 });
    const std = standard;

    // The standard peer dials the node. The node's answer must not advertise the address the peer
    // dialled (127.0.0.1, which is also the node's --advertise here), or the reference would hang up.
    await std.dial('127.0.0.1', node.tcpPort);
    const response = await std.waitFor(
      () => std.received.find((r) => r.envelope.type === 'handshake')?.envelope,
      10_000,
      'the handshake response',
    );
    expect(response.content).toMatchObject({ handshake_response: true, address: 'localhost', port: node.tcpPort });
    expect(frameShape(response)).toEqual(frameShape(capturedOf((f) => f.type === 'handshake' && f.content.handshake_response)));

    // The node dials the standard peer. With the acceptor defect no answer comes: the node gives up on
    // that link after its handshake timeout and keeps using the one the standard peer dialled.
    const dialled = node.api('/api/peers/connect', { body: { host: '127.0.0.1', port: std.port } });
    const result = await dialled;
    if (defects.acceptorIgnoresHandshake) {
      expect(result.status).toBe(400);
      expect(result.body.detail).toMatch(/handshake/);
    } else {
      expect(result).toMatchObject({ status: 200, body: { status: 'connected', peer_id: std.id } });
    }
    const dialHandshake = std.received.find((r) => r.envelope.type === 'handshake' && !r.envelope.content?.handshake_response);
    expect(dialHandshake).toBeDefined();
    // Ours carries the swarm extension in `content.swarm`, which a standard peer ignores; the rest has
    // exactly the shape of the reference's own dialling handshake.
    const { swarm, ...standardPart } = dialHandshake!.envelope.content as Record<string, unknown>;
    expect(swarm).toMatchObject({ version: 1, kind: 'node' });
    expect(frameShape({ ...dialHandshake!.envelope, content: standardPart })).toEqual(
      frameShape(capturedOf((f) => f.type === 'handshake' && !f.content.handshake_response)),
    );

    const peers = (await node.api('/api/peers/connected')).body.peers;
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({ peer_id: std.id, status: 'online', metadata: { kind: 'standard', transport: 'tcp', encrypted: false } });

    // Chat: standard → node, direct and broadcast; node → standard, direct and broadcast.
    const direct = std.sendText('hello node', node.peer.id);
    const broadcast = std.sendText('hello everyone', null);
    await waitFor(() => node!.history.get(direct.message_id) && node!.history.get(broadcast.message_id), 10_000, 'texts at the node');
    const fromNode = await node.api('/api/messages', { body: { recipient_id: std.id, text: 'hello standard peer' } });
    const nodeBroadcast = await node.api('/api/messages', { body: { text: 'node to all' } });
    expect(fromNode.status).toBe(200);
    const texts = await std.waitFor(() => {
      const got = std.texts.filter((t) => t.sender_id === node!.peer.id);
      return got.some((t) => t.message_id === fromNode.body.message_id) && got.some((t) => t.message_id === nodeBroadcast.body.message_id) && got;
    }, 10_000, 'texts at the standard peer');
    const directText = texts.find((t) => t.message_id === fromNode.body.message_id)!;
    const broadcastText = texts.find((t) => t.message_id === nodeBroadcast.body.message_id)!;
    expect(frameShape(directText)).toEqual(frameShape(capturedOf((f) => f.type === 'text' && f.recipient_id)));
    expect(frameShape(broadcastText)).toEqual(frameShape(capturedOf((f) => f.type === 'text' && f.recipient_id === null)));
    expect(broadcastText.recipient_id).toBeNull();

    // Liveness both ways: the node answers pings with pongs, and measures RTT from the peer's pongs.
    const pong = await std.waitFor(
      () => std.received.find((r) => r.envelope.type === 'pong' && r.envelope.sender_id === node!.peer.id)?.envelope,
      10_000,
      'a pong from the node',
    );
    expect(frameShape(pong)).toEqual(frameShape(capturedOf((f) => f.type === 'pong')));
    const ping = await std.waitFor(
      () => std.received.find((r) => r.envelope.type === 'ping' && r.envelope.sender_id === node!.peer.id)?.envelope,
      10_000,
      'a ping from the node',
    );
    expect(frameShape(ping)).toEqual(frameShape(capturedOf((f) => f.type === 'ping')));
    await waitFor(() => node!.registry.get(std.id)?.rttMs !== null, 10_000, 'an RTT measurement');

    // Each message reached the node once, even when the peer sent it on every socket it holds.
    await new Promise((r) => setTimeout(r, 300));
    const incoming = node.history.list(100).filter((e) => e.direction === 'incoming');
    expect(incoming.map((e) => e.payload.message_id).sort()).toEqual([direct.message_id, broadcast.message_id].sort());
    if (defects.duplicateBroadcasts && !defects.acceptorIgnoresHandshake) {
      await node.waitForLog((l) => l.msg === 'dropped a duplicate message' && l.id === broadcast.message_id);
    }
    // The link the standard peer dialled is still up (the node's answer did not make it hang up).
    expect(std.connections.filter((c) => c.role === 'dialler' && c.state === 'open')).toHaveLength(1);
    // Standard peers never acknowledge, so the node's messages to them stay "sent".
    expect(node.history.get(fromNode.body.message_id)?.status).toBe('sent');
  });
});
