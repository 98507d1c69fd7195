import type { FileBridge } from './bridge.ts';
import { acceptAvailability, acceptManifest } from './catalog-intake.ts';
import type { ChunkServer } from './chunk-server.ts';
import type { Download } from './download.ts';
import type { HashTreeCache } from './hash-tree-cache.ts';
import type { Library, LocalFile } from './library.ts';
import { DEFAULT_CHUNK_SIZE, STANDARD_CHUNK_SIZE } from './manifest.ts';
import type { RemoteCatalog } from './remote-catalog.ts';
import type { Connection } from '../peer/connection.ts';
import type { Peer } from '../peer/peer.ts';
import { decodeChunkFrame } from '../peer/wire/chunk-frame.ts';
import { framePool } from '../peer/wire/frame-pool.ts';
import { base64ToBytes, bytesToBase64 } from '../util/base64.ts';
import type { Logger } from '../util/logger.ts';

/**
 * What the transfer service does with each message of the file protocol (docs/PROTOCOL.md), and
 * with the events of the peer, the library and the catalog it follows. The service itself
 * (transfer-service.ts) runs the downloads and keeps their records; these handlers reach it only
 * through TransferWireDeps.
 */
export interface TransferWireDeps {
  peer: Peer;
  library: Library;
  log: Logger;
  catalog: RemoteCatalog;
  server: ChunkServer;
  /** null with --no-reshare. */
  bridge: FileBridge | null;
  /** Hash pieces of shared files, for `hashes_request`. */
  trees: HashTreeCache;
  /** false (--no-reshare): the hash list of a running download is not passed on. */
  reshare: boolean;
  /** The running download of a file, if any: where its chunks, hashes and refusals go. */
  downloadOf(fileId: string): Download | undefined;
  /** Tells a peer that just connected what this node shares and what its downloads have. */
  greet(connection: Connection): void;
  /** Announces a file the library just added to every connected peer. */
  announce(file: LocalFile): void;
}

export function registerTransferHandlers(deps: TransferWireDeps): void {
  const { peer, library, log, catalog, server, bridge, trees, reshare, downloadOf, greet, announce } = deps;
  peer.on('peer:connected', (_remote, connection) => greet(connection));
  peer.on('peer:disconnected', (peerId) => catalog.removePeer(peerId));
  library.on('added', (file) => announce(file));
  library.on('removed', (file) => server.forget(file.fileId));
  catalog.on('source', (fileId, source, fresh) => {
    const d = downloadOf(fileId);
    if (!d) return;
    if (fresh.length) d.onHave(source.peerId, fresh);
    else d.addSource(source);
  });
  catalog.on('source-gone', (fileId, peerId) => downloadOf(fileId)?.removeSource(peerId));

  peer.handle('file_manifest', (m, c) => acceptManifest(catalog, log, m, c));
  peer.handle('file_availability', (m, c) => acceptAvailability(catalog, library, m, c));
  peer.handle('file_chunk_request', (m, c) => {
    const size = m.content.chunk_size ?? (c.isSwarm ? (library.get(m.content.file_id)?.chunkSize ?? DEFAULT_CHUNK_SIZE) : STANDARD_CHUNK_SIZE);
    const request = { fileId: m.content.file_id, chunkIndex: m.content.chunk_index, chunkSize: size };
    if (!bridge?.hold(c, request)) server.enqueue(c, request);
  });
  peer.handle('cancel', (m, c) => {
    const request = { fileId: m.content.file_id, chunkIndex: m.content.chunk_index, chunkSize: m.content.chunk_size };
    bridge?.cancel(c, request);
    server.cancel(c, request);
  });
  peer.handle('file_chunk', async (m, c) => {
    const data = base64ToBytes(m.content.data);
    if (!data) return log.warn({ peer: c.peerId }, 'dropped a file_chunk whose data is not base64');
    await downloadOf(m.content.file_id)?.onChunk(c.peerId!, m.content.chunk_index, null, data);
  });
  peer.handleBinary((frame, c) => {
    const decoded = decodeChunkFrame(frame);
    if (!decoded.ok) return log.warn({ peer: c.peerId, reason: decoded.reason }, 'dropped a binary frame');
    const { fileId, chunkIndex, chunkSize, data } = decoded.frame;
    void Promise.resolve(downloadOf(fileId)?.onChunk(c.peerId!, chunkIndex, chunkSize, data))
      .catch((err) => log.error({ err, peer: c.peerId }, 'could not handle a chunk'))
      .finally(() => framePool.release(frame));
  });
  peer.handle('hashes_request', async (m, c) => {
    const piece = await trees.piece(m.content.file_id, m.content.start, m.content.count, () =>
      reshare ? (downloadOf(m.content.file_id)?.hashList ?? null) : null,
    );
    if (!piece) return;
    await c.send('hashes', {
      content: { file_id: m.content.file_id, start: piece.start, hashes: bytesToBase64(piece.hashes), proof: bytesToBase64(piece.proof) },
    });
  });
  peer.handle('hashes', async (m, c) => {
    const hashes = base64ToBytes(m.content.hashes);
    const proof = base64ToBytes(m.content.proof);
    if (!hashes || !proof) return;
    await downloadOf(m.content.file_id)?.onHashes(c.peerId!, m.content.start, hashes, proof);
  });
  peer.handle('have', (m, c) => {
    const bitfield = m.content.bitfield === undefined ? null : base64ToBytes(m.content.bitfield);
    catalog.addHave(c.peerId!, m.content.file_id, m.content.chunk_size, m.content.indexes ?? [], bitfield);
  });
  peer.handle('chunk_unavailable', (m, c) => {
    log.debug({ peer: c.peerId, file: m.content.file_id, index: m.content.chunk_index }, 'peer cannot serve a chunk');
    downloadOf(m.content.file_id)?.onUnavailable(c.peerId!, m.content.chunk_index, m.content.chunk_size);
  });
}
