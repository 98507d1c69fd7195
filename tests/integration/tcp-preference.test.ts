import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

/** Starts A alone, then B and C that know only A's signalling endpoint (no --connect). */
async function meetThroughA(
  cOptions: { noTcp?: boolean } = {},
  bcOptions: { advertise?: string; host?: string } = {},
): Promise<{ a: TestNode; b: TestNode; c: TestNode }> {
  const a = await startTestNode({ name: 'A' });
  nodes.push(a);
  const b = await startTestNode({ name: 'B', bootstrap: [a.signalUrl], ...bcOptions });
  nodes.push(b);
  const c = await startTestNode({ name: 'C', bootstrap: [a.signalUrl], ...bcOptions, ...cOptions });
  nodes.push(c);
  return { a, b, c };
}

/** The transports of the open links between two nodes, as seen from `from`. */
const linkKinds = (from: TestNode, to: TestNode): string[] => from.peer.connectionsTo(to.peer.id).map((c) => c.transport.kind);

describe('TCP preferred between nodes that met through signalling', () => {
  it('links B and C over TCP once peer exchange gives them each other\'s TCP address', async () => {
    const { b, c } = await meetThroughA();
    // Only TCP left between them, on both sides (a WebRTC link made first through A's endpoint is closed).
    await waitFor(
      () => [linkKinds(b, c), linkKinds(c, b)].every((kinds) => kinds.length > 0 && kinds.every((k) => k === 'tcp')),
      45_000,
      'B and C linked over TCP alone',
    ).catch((err) => {
      for (const n of [b, c]) {
        const seen = n.logs.filter((l) => /TCP|WebRTC|peer connected|peer disconnected/.test(String(l.msg)));
        console.log(n.config.name, n.peer.id, JSON.stringify(seen.map((l) => [l.msg, l.peer, l.target ?? l.reason])));
      }
      throw err;
    });
    const { body } = await c.api('/api/peers/connected');
    expect(body.peers.find((p: any) => p.peer_id === b.peer.id)?.metadata).toMatchObject({ transport: 'tcp', name: 'B' });
    expect(b.peer.connectionTo(c.peer.id)?.remote?.verified).toBe(true);
    // The dial went to the address peer exchange gave: C's own listener.
    const dialler = b.peer.id < c.peer.id ? b : c;
    const other = dialler === b ? c : b;
    expect(dialler.logs.some((l) => l.msg === 'linked over TCP (preferred to WebRTC between nodes)' && l.target === `127.0.0.1:${other.tcpPort}`)).toBe(true);
    const hello = await c.messaging.send('over TCP', b.peer.id);
    await waitFor(() => b.history.get(hello.payload.message_id), 10_000, 'the text at B');
  });

  it('links B and C over WebRTC when C has no TCP', async () => {
    const { b, c } = await meetThroughA({ noTcp: true });
    await waitFor(() => linkKinds(c, b).length > 0 && linkKinds(b, c).length > 0, 45_000, 'B and C linked');
    expect(linkKinds(c, b)).toEqual(['webrtc']);
    expect(linkKinds(b, c)).toEqual(['webrtc']);
    const { body } = await b.api('/api/peers/connected');
    expect(body.peers.find((p: any) => p.peer_id === c.peer.id)?.metadata).toMatchObject({ transport: 'webrtc', name: 'C' });
    // Nobody tried to dial C over TCP: it has no listener.
    expect(b.logs.some((l) => /over TCP/.test(String(l.msg)) && l.peer === c.peer.id)).toBe(false);
  });

  it('keeps B and C on WebRTC when the TCP address they were given does not answer', async () => {
    // Both announce an address where nothing listens, so whichever of them dials is refused. They
    // listen on 127.0.0.2 alone: a neighbour passes on the address it saw a TCP link come from
    // (127.0.0.1, the kernel's source address) rather than the announced one, and that must not answer either.
    const { b, c } = await meetThroughA({}, { advertise: '127.0.0.9', host: '127.0.0.2' });
    const dialler = b.peer.id < c.peer.id ? b : c;
    const other = dialler === b ? c : b;
    const failed = await dialler.waitForLog(
      (l) => l.msg === 'could not dial a peer over TCP; WebRTC instead' && l.peer === other.peer.id,
      45_000,
    );
    expect([`127.0.0.9:${other.tcpPort}`, `127.0.0.1:${other.tcpPort}`]).toContain(failed.target);
    await waitFor(() => linkKinds(b, c).length > 0 && linkKinds(c, b).length > 0, 45_000, 'B and C linked');
    expect(linkKinds(b, c)).toEqual(['webrtc']);
    const hello = await b.messaging.send('still over WebRTC', c.peer.id);
    await waitFor(() => c.history.get(hello.payload.message_id), 10_000, 'the text at C');
  });
});
