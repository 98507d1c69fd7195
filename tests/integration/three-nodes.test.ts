import { afterEach, describe, expect, it } from 'vitest';
import { at, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

async function connectedTo(node: TestNode, count: number) {
  return waitFor(async () => {
    const { body } = await node.api('/api/peers/connected');
    return body.peers.length === count ? body.peers : null;
  }, 10_000, `${count} connected peers`);
}

function incoming(node: TestNode, messageId: string) {
  return node.history.list(500).filter((e) => e.direction === 'incoming' && e.payload.message_id === messageId);
}

describe('three nodes on loopback', () => {
  it('delivers a broadcast once to each node and a direct message only to its recipient', async () => {
    const a = await startTestNode({ name: 'A' });
    const b = await startTestNode({ name: 'B', connect: [at(a)] });
    nodes.push(a, b);
    await connectedTo(b, 1);
    const c = await startTestNode({
      name: 'C',
      connect: [
        at(a),
        at(b),
      ],
    });
    nodes.push(c);
    for (const node of [a, b, c]) await connectedTo(node, 2);

    const peersOfA = (await a.api('/api/peers')).body.peers;
    expect(peersOfA.map((p: { peer_id: string }) => p.peer_id).sort()).toEqual([b.peer.id, c.peer.id].sort());
    expect(peersOfA.find((p: any) => p.peer_id === c.peer.id).metadata).toMatchObject({ kind: 'node', name: 'C', transport: 'tcp' });

    const broadcast = await a.api('/api/messages', { body: { text: 'hello everyone' } });
    expect(broadcast.status).toBe(200);
    expect(broadcast.body.status).toBe('queued');
    const broadcastId = broadcast.body.message_id as string;
    await waitFor(() => incoming(b, broadcastId).length && incoming(c, broadcastId).length, 10_000, 'the broadcast');

    const direct = await c.api('/api/messages', { body: { recipient_id: a.peer.id, text: 'just for A' } });
    expect(direct.status).toBe(200);
    const directId = direct.body.message_id as string;
    await waitFor(() => incoming(a, directId).length, 10_000, 'the direct message');
    // A acknowledges; C's history then shows the message as delivered.
    await waitFor(() => c.history.get(directId)?.status === 'delivered', 10_000, 'the delivery ack');

    // Give stray copies time to arrive before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect(incoming(b, broadcastId)).toHaveLength(1);
    expect(incoming(c, broadcastId)).toHaveLength(1);
    expect(incoming(a, directId)).toHaveLength(1);
    expect(incoming(b, directId)).toHaveLength(0);

    const listOf = async (node: TestNode) => (await node.api('/api/messages?limit=10')).body.messages as any[];
    const onA = await listOf(a);
    expect(onA.map((m) => [m.direction, m.payload.message_id])).toEqual([
      ['incoming', directId],
      ['outgoing', broadcastId],
    ]);
    expect(onA[0].received_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(onA[1].sent_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(onA[1].payload).toMatchObject({ type: 'text', recipient_id: null, content: { text: 'hello everyone' } });
    const onB = await listOf(b);
    expect(onB.map((m) => [m.direction, m.payload.message_id])).toEqual([['incoming', broadcastId]]);
    const onC = await listOf(c);
    expect(onC.map((m) => [m.direction, m.payload.message_id, m.status])).toEqual([
      ['outgoing', directId, 'delivered'],
      ['incoming', broadcastId, 'received'],
    ]);
    expect(onC[0].payload).toMatchObject({ sender_id: c.peer.id, recipient_id: a.peer.id });
  });
});
