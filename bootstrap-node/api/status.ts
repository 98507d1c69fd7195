import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './server.ts';

export const VERSION = '0.1.0';

export function registerStatusRoutes(app: FastifyInstance, { peer, library, transfers }: ApiContext): void {
  app.get('/api/status', async () => ({
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
    name: peer.name,
    kind: peer.kind,
    version: VERSION,
  }));
}
