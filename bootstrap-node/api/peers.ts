import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseOr400 } from './http-errors.ts';
import type { ApiContext } from './server.ts';
import { SwarmError } from '../../lib/peer/errors.ts';
import type { PeerRecord } from '../../lib/peer/registry.ts';

const connectBody = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
});

/** REST-API.md's peer shape; extra per-peer figures go in `metadata`. */
export function peerJson(record: PeerRecord) {
  return {
    peer_id: record.peerId,
    address: record.address,
    port: record.port,
    public_key: record.publicKey,
    last_seen: record.lastSeen === null ? null : new Date(record.lastSeen).toISOString(),
    status: record.status,
    metadata: {
      kind: record.kind === 'unknown' ? null : record.kind,
      transport: record.transport,
      via: record.via,
      encrypted: record.encrypted,
      name: record.name,
      rtt_ms: record.rttMs,
      bytes_in: record.bytesIn,
      bytes_out: record.bytesOut,
    },
  };
}

export function registerPeerRoutes(app: FastifyInstance, { peer, registry }: ApiContext): void {
  const others = () => registry.list().filter((r) => r.peerId !== peer.id);

  app.get('/api/peers', async () => ({ peers: others().map(peerJson) }));

  app.get('/api/peers/connected', async () => {
    const connected = new Set(peer.connectedPeerIds());
    return { peers: others().filter((r) => connected.has(r.peerId)).map(peerJson) };
  });

  app.post('/api/peers/connect', async (request) => {
    const { host, port } = parseOr400(connectBody, request.body, 'body (expected {"host": str, "port": 1..65535})');
    try {
      const remote = await peer.connect(host, port);
      return { status: 'connected', host, port, peer_id: remote.peerId };
    } catch (err) {
      const reason = err instanceof SwarmError ? err.message : `could not connect: ${(err as Error).message}`;
      throw new HttpError(400, reason);
    }
  });
}
