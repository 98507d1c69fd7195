import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseOr400 } from './http-errors.ts';
import type { Library } from '../../lib/transfer/library.ts';
import { localFileManifest } from '../../lib/transfer/library.ts';
import { chunkCount } from '../../lib/transfer/manifest.ts';
import { TransferError } from '../../lib/transfer/transfer-service.ts';
import type { TransferService } from '../../lib/transfer/transfer-service.ts';

const downloadBody = z.object({ file_id: z.string().regex(/^[0-9a-f]{64}$/, 'file_id must be 64 lowercase hex characters') });

/** GET /api/files(+/list), downloads and transfers, with REST-API.md's shapes. */
export function registerTransferRoutes(app: FastifyInstance, ctx: { transfers: TransferService; library: Library; peerId: string }): void {
  const { transfers, library, peerId } = ctx;

  const files = async () => ({
    local: library.list().map((f) => localFileManifest(f, peerId)),
    remote: transfers.catalog.list().map((f) => {
      const sources = [...f.sources.values()];
      const chunkSize = Math.min(...sources.map((s) => s.chunkSize));
      return {
        file_id: f.fileId,
        file_name: f.fileName,
        file_size: f.fileSize,
        chunk_size: chunkSize,
        chunk_count: chunkCount(f.fileSize, chunkSize),
        checksum: f.fileId,
        owner: sources[0]!.peerId,
        peers: sources.map((s) => s.peerId),
      };
    }),
  });
  app.get('/api/files', files);
  app.get('/api/files/list', files);

  app.post('/api/files/download', async (request) => {
    const { file_id } = parseOr400(downloadBody, request.body, 'body (expected {"file_id": str})');
    try {
      return { transfer: await transfers.download(file_id) };
    } catch (err) {
      if (err instanceof TransferError) throw new HttpError(400, err.message);
      throw err;
    }
  });

  app.get('/api/files/transfers', async () => ({
    transfers: transfers.list().map(({ peer_totals: _totals, ...shape }) => shape),
  }));

  app.get<{ Params: { id: string } }>('/api/files/transfers/:id', async (request) => {
    const record = transfers.get(request.params.id);
    if (!record) throw new HttpError(404, `no transfer ${request.params.id}`);
    const { peer_totals: _totals, ...shape } = record;
    return { transfer: { ...shape, peers: transfers.peers(record.transfer_id) } };
  });

  app.post<{ Params: { id: string } }>('/api/files/transfers/:id/cancel', async (request) => {
    const record = await transfers.cancel(request.params.id);
    if (!record) throw new HttpError(404, `no transfer ${request.params.id}`);
    return { transfer: record };
  });
}
