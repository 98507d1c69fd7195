import { afterEach, describe, expect, it } from 'vitest';
import { buildHandshakeContent, newNonce } from '../../lib/peer/handshake.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { makeEnvelope } from '../../lib/peer/wire/codec.ts';
import { startLinkRelay } from '../support/link-relay.ts';
import { envelope, frame, RawSocket } from '../support/raw-socket.ts';
import type { LinkRelay, RelayMode } from '../support/link-relay.ts';
import { at, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * TCP links between two nodes run TLS 1.3 after the plain handshake, and each side proves its peer id
 * inside it over the TLS exporter and both handshake frames (docs/PROTOCOL.md, "Encrypted TCP links").
 * A relay between the nodes (tests/support/link-relay.ts) plays eavesdropper and man in the middle.
 */

const nodes: TestNode[] = [];
const relays: LinkRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

/** Node A listens; node B reaches it only through a relay in `mode`. */
async function nodesThroughRelay(mode: RelayMode) {
  const a = await startTestNode({ name: 'A' });
  const b = await startTestNode({ name: 'B' });
  nodes.push(a, b);
  const relay = await startLinkRelay(a.tcpPort, mode);
  relays.push(relay);
  return { a, b, relay };
}

const metadataOf = async (node: TestNode, peerId: string) =>
  ((await node.api('/api/peers')).body.peers as any[]).find((p) => p.peer_id === peerId)?.metadata;

const received = (node: TestNode, text: string) =>
  node.history.list(500).some((e) => e.direction === 'incoming' && (e.payload as any).content?.text === text);

const refusedInsideTls = (line: Record<string, unknown>) =>
  line.msg === 'refusing connection: identity check failed' && /inside TLS/.test(String(line.reason));

/**
 * Both sides send their proofs at once, so whichever verifies first refuses and hangs up; the other
 * may see the hang-up before it gets to verify. At least one of them logs the refusal.
 */
const refusalLogged = (...sides: TestNode[]) =>
  waitFor(() => sides.some((n) => n.logs.some(refusedInsideTls)), 10_000, 'a logged refusal');

describe('encrypted TCP links between nodes', () => {
  it('marks a link between two nodes encrypted on both sides', async () => {
    const a = await startTestNode({ name: 'A' });
    const b = await startTestNode({ name: 'B', connect: [at(a)] });
    nodes.push(a, b);
    await waitFor(
      async () => (await metadataOf(a, b.peer.id))?.encrypted,
      10_000,
      'A to list B as encrypted',
    );
    expect(await metadataOf(a, b.peer.id)).toMatchObject({ kind: 'node', transport: 'tcp', encrypted: true });
    expect(await metadataOf(b, a.peer.id)).toMatchObject({ kind: 'node', transport: 'tcp', encrypted: true });
  });

  it('shows an eavesdropper the plain handshake but not a chat text', async () => {
    const { a, b, relay } = await nodesThroughRelay('tap');
    const connect = await b.api('/api/peers/connect', { body: { host: '127.0.0.1', port: relay.port } });
    expect(connect.status).toBe(200);
    const secret = 'the launch code is 0000, tell nobody';
    const sent = await b.api('/api/messages', { body: { recipient_id: a.peer.id, text: secret } });
    expect(sent.status).toBe(200);
    await waitFor(() => received(a, secret), 10_000, 'the text at A');

    const wire = Buffer.concat(relay.seen);
    // The tap works: the plain standard handshake (with B's id) went through it...
    expect(wire.includes(Buffer.from(b.peer.id))).toBe(true);
    // ... and so did the text, but only as ciphertext.
    expect(wire.includes(Buffer.from(secret))).toBe(false);
    expect(wire.includes(Buffer.from('launch code'))).toBe(false);
  });

  it('refuses a man in the middle that runs TLS itself on both legs, and logs why', async () => {
    const { a, b, relay } = await nodesThroughRelay('terminate-tls');
    const connect = await b.api('/api/peers/connect', { body: { host: '127.0.0.1', port: relay.port } });
    expect(connect.status).toBe(400);
    await refusalLogged(a, b);
    expect(a.peer.connectedPeerIds()).toEqual([]);
    expect(b.peer.connectedPeerIds()).toEqual([]);
    // All it could read were the two proofs, which it cannot reuse; no other message flowed.
    const decrypted = Buffer.concat(relay.seen).toString('latin1');
    expect(decrypted).toContain('"swarm_auth"');
    expect(decrypted).not.toMatch(/"type":\s*"(?!swarm_auth|handshake)/);
  });

  it('refuses a link whose plain handshake was edited on the way', async () => {
    const { a, b, relay } = await nodesThroughRelay('edit-hello');
    const connect = await b.api('/api/peers/connect', { body: { host: '127.0.0.1', port: relay.port } });
    expect(connect.status).toBe(400);
    await refusalLogged(a, b);
    expect(a.peer.connectedPeerIds()).toEqual([]);
    expect((await metadataOf(a, b.peer.id))?.name).not.toBe('renamed by the relay');
  });

  it('drops a link whose encrypted bytes were altered, and the altered text never arrives', async () => {
    const { a, b, relay } = await nodesThroughRelay('tamper');
    expect(
      (await b.api('/api/peers/connect', { body: { host: '127.0.0.1', port: relay.port } })).status,
    ).toBe(200);
    await waitFor(() => a.peer.connectedPeerIds().includes(b.peer.id), 10_000, 'A to see B');
    const closedBefore = a.logs.length;
    relay.tamperNext();
    const text = 'this text is altered on the way';
    expect((await b.api('/api/messages', { body: { recipient_id: a.peer.id, text } })).status).toBe(200);
    const closed = await a.waitForLog(
      (line) =>
        a.logs.indexOf(line) >= closedBefore &&
        line.msg === 'connection closed' &&
        line.code === 'TRANSPORT_ERROR',
    );
    expect(String(closed.reason)).toMatch(/decrypt|bad record mac/i);
    await new Promise((r) => setTimeout(r, 300));
    expect(received(a, text)).toBe(false);
  });

  it('refuses a swarm peer that goes on in plain text after the handshake: no downgrade', async () => {
    const a = await startTestNode({ name: 'A' });
    nodes.push(a);
    const identity = await Identity.generate();
    const content = buildHandshakeContent({
      identity,
      address: 'localhost',
      port: 1,
      kind: 'node',
      name: 'plain talker',
      nonce: newNonce(),
      response: false,
    });
    const raw = await RawSocket.connect(a.tcpPort);
    await raw.write(frame(JSON.stringify(makeEnvelope('handshake', identity.peerId, { content }))));
    await waitFor(() => raw.frames.length > 0, 10_000, 'the handshake response');
    // The acceptor proves itself only inside TLS: its plain response carries no proof.
    expect(raw.frames[0].content.swarm.proof).toBeUndefined();
    const text = 'sent in the clear where TLS was due';
    await raw.write(frame(JSON.stringify(envelope('text', identity.peerId, { content: { text } }))));
    expect(await raw.closedWithin(10_000)).toBe(true);
    await a.waitForLog((line) => line.msg === 'connection closed' && line.code === 'ENCRYPTION_FAILED');
    expect(a.peer.connectedPeerIds()).toEqual([]);
    expect(received(a, text)).toBe(false);
  });
});
