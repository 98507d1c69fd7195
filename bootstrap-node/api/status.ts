import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './server.ts';

export const VERSION = '0.1.0';

export function registerStatusRoutes(app: FastifyInstance, { peer, library, transfers }: ApiContext): void {
  app.get('/api/status', async (request) => ({
    peer_id: peer.id,
    port: peer.listenPort,
    messages_processed: peer.messagesProcessed,
    messages_failed: peer.messagesFailed,
    queue_size: peer.queueSize,
    active_connections: peer.connectedPeerIds(),
    files_shared_local: library.list().length,
    files_known_remote: transfers.catalog.list().length,
    transfers_active: transfers.activeCount,
    // Extensions:
    api_port: apiPortOf(request.server.server.address()),
    name: peer.name,
    kind: peer.kind,
    version: VERSION,
  }));
}

function apiPortOf(address: ReturnType<import('node:net').Server['address']>): number | null {
  return typeof address === 'object' && address !== null ? address.port : null;
}
