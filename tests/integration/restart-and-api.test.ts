import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

describe('a node restarted with the same --dir', () => {
  it('keeps its peer id and message history, and redials the peers it knew', async () => {
    const a = await startTestNode({ name: 'A' });
    nodes.push(a);
    const dirB = await makeTempDir();
    const b1 = await startTestNode({ dir: dirB, name: 'B', connect: [at(a)] });
    await waitFor(() => b1.peer.connectionTo(a.peer.id), 10_000, 'B connected to A');
    const out = await b1.api('/api/messages', { body: { recipient_id: a.peer.id, text: 'before the restart' } });
    const inbound = await a.messaging.send('to B before the restart', b1.peer.id);
    await waitFor(() => b1.history.get(inbound.payload.message_id), 10_000, 'the message to B');
    await waitFor(() => b1.history.get(out.body.message_id)?.status === 'delivered', 10_000, 'the ack');
    const idBefore = b1.peer.id;
    expect((await stat(join(dirB, 'identity.json'))).mode & 0o777).toBe(0o600);
    await b1.close();

    // No --connect this time: B finds A again from its saved peer list.
    const b2 = await startTestNode({ dir: dirB, name: 'B' });
    nodes.push(b2);
    expect(b2.peer.id).toBe(idBefore);
    const history = (await b2.api('/api/messages')).body.messages;
    expect(history.map((m: any) => [m.direction, m.payload.content.text, m.status])).toEqual([
      ['incoming', 'to B before the restart', 'received'],
      ['outgoing', 'before the restart', 'delivered'],
    ]);
    await waitFor(() => b2.peer.connectionTo(a.peer.id), 15_000, 'B redialled A');
    const status = (await b2.api('/api/status')).body;
    expect(status).toMatchObject({ peer_id: idBefore, port: b2.tcpPort, api_port: b2.apiPort, active_connections: [a.peer.id] });
  });
});

describe('REST API requests', () => {
  it('answers a connect to a closed port with 400 saying it was refused, within a few seconds', async () => {
    const a = await startTestNode();
    const closed = await startTestNode();
    const closedPort = closed.tcpPort;
    await closed.close();
    nodes.push(a);
    const started = Date.now();
    const res = await a.api('/api/peers/connect', { body: { host: '127.0.0.1', port: closedPort } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/refused/);
  });

  it('connects on request and lists the peer', async () => {
    const a = await startTestNode({ name: 'A' });
    const b = await startTestNode({ name: 'B' });
    nodes.push(a, b);
    const res = await a.api('/api/peers/connect', { body: { host: '127.0.0.1', port: b.tcpPort } });
    expect(res).toMatchObject({ status: 200, body: { status: 'connected', host: '127.0.0.1', port: b.tcpPort, peer_id: b.peer.id } });
    const connected = (await a.api('/api/peers/connected')).body.peers;
    expect(connected).toHaveLength(1);
    expect(connected[0]).toMatchObject({
      peer_id: b.peer.id,
      address: '127.0.0.1',
      port: b.tcpPort,
      status: 'online',
      metadata: { kind: 'node', transport: 'tcp', via: null, name: 'B' },
    });
    expect(connected[0].public_key).toMatch(/BEGIN PUBLIC KEY/);
    expect(new Date(connected[0].last_seen).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('rejects bad bodies and queries with 400 and a detail', async () => {
    const a = await startTestNode();
    nodes.push(a);
    const cases: [string, unknown, RegExp][] = [
      ['/api/peers/connect', { host: '127.0.0.1' }, /port/],
      ['/api/peers/connect', { host: '127.0.0.1', port: 70000 }, /port/],
      ['/api/messages', { text: '' }, /empty/],
      ['/api/messages', { text: 'x'.repeat(10_001) }, /10000 characters/],
      ['/api/messages', { text: 5 }, /text/],
      ['/api/messages', { recipient_id: 'nobody', text: 'hi' }, /not connected/],
    ];
    for (const [path, body, detail] of cases) {
      const res = await a.api(path, { body });
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(400);
      expect(res.body.detail).toMatch(detail);
    }
    const badJson = await fetch(`${a.apiUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":',
    });
    expect(badJson.status).toBe(400);
    expect((await badJson.json()).detail).toMatch(/JSON/);
    expect((await a.api('/api/messages?limit=0')).status).toBe(400);
    expect((await a.api('/api/messages?limit=501')).status).toBe(400);
    expect((await a.api('/api/nothing-here')).status).toBe(404);
  });
});
