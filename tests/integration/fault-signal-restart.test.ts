import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { attachSignalServer } from '../../bootstrap-node/signal-server.ts';
import type { SignalServer } from '../../bootstrap-node/signal-server.ts';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/** A signalling endpoint of its own (an HTTP server with only /signal), so the test can stop and restart it on one port. */
interface Endpoint {
  http: Server;
  hub: SignalServer;
  port: number;
}

async function startEndpoint(port = 0): Promise<Endpoint> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  const hub = attachSignalServer(http, { log: pino({ level: 'silent' }) });
  return { http, hub, port: (http.address() as AddressInfo).port };
}

async function stopEndpoint(endpoint: Endpoint): Promise<void> {
  await endpoint.hub.close();
  await new Promise<void>((resolve) => endpoint.http.close(() => resolve()));
}

const nodes: TestNode[] = [];
let endpoint: Endpoint | undefined;
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  if (endpoint) await stopEndpoint(endpoint);
  endpoint = undefined;
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

describe('a signalling endpoint that restarts', () => {
  it('is re-joined by its peers by themselves, after a back-off, and links newcomers to them again', async () => {
    endpoint = await startEndpoint();
    const url = `ws://127.0.0.1:${endpoint.port}/signal`;
    const b = await startTestNode({ name: 'B', noTcp: true, bootstrap: [url] });
    nodes.push(b);
    const c = await startTestNode({ name: 'C', noTcp: true, bootstrap: [url] });
    nodes.push(c);
    const present = (e: Endpoint) => new Set(e.hub.peers().map((p) => p.peer_id));
    await waitFor(() => present(endpoint!).has(b.peer.id) && present(endpoint!).has(c.peer.id), 20_000, 'B and C on the endpoint');

    await stopEndpoint(endpoint);
    const port = endpoint.port;
    endpoint = undefined;
    const lost = await b.waitForLog((l) => l.msg === 'lost a signalling endpoint; joining again after a back-off' && l.url === url);
    expect(lost.retryInMs).toBeGreaterThan(0);

    endpoint = await startEndpoint(port);
    await waitFor(() => present(endpoint!).has(b.peer.id) && present(endpoint!).has(c.peer.id), 60_000, 'B and C to re-join');
    // The endpoint lists a peer before that peer has read its `joined` answer: wait for each one's log.
    for (const n of [b, c]) await n.waitForLog((l) => l.msg === 'rejoined a signalling endpoint' && l.url === url);

    // A newcomer that knows only the restarted endpoint reaches B through it.
    const d = await startTestNode({ name: 'D', noTcp: true, bootstrap: [url] });
    nodes.push(d);
    await waitFor(() => d.peer.connectionTo(b.peer.id), 45_000, 'D linked to B over WebRTC');
    expect(d.peer.connectionTo(b.peer.id)?.transport.kind).toBe('webrtc');
  });
});
