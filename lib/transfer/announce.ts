/**
 * What a peer tells its swarm about files: manifests of whole files it shares, manifests of files
 * it is still downloading (so others can fetch from it too), and `have` for pieces it just stored.
 */
import type { ChunkStore } from './chunk-store.ts';
import type { LocalFile } from './library.ts';
import { makeStandardManifest, STANDARD_CHUNK_SIZE } from './manifest.ts';
import type { TransferRecord } from './transfer-record.ts';
import type { Connection } from '../peer/connection.ts';
import type { ContentOf } from '../peer/wire/schema.ts';
import { bytesToBase64 } from '../util/base64.ts';

/** Sends our manifest of a shared file: 1 MiB chunks to standard peers, pieces plus root to swarm peers. */
export function announceFile(ownerId: string, file: LocalFile, connections: Connection[]): void {
  for (const c of connections) {
    const manifest = makeStandardManifest({
      fileId: file.fileId,
      fileName: file.name,
      fileSize: file.size,
      owner: ownerId,
      chunkSize: c.isSwarm ? file.chunkSize : STANDARD_CHUNK_SIZE,
    });
    const content: ContentOf<'file_manifest'> = c.isSwarm
      ? { ...manifest, swarm_content: { root: file.root, chunk_size: file.chunkSize, hash_count: file.hashCount } }
      : { ...manifest };
    c.send('file_manifest', { content, recipientId: 'omit' }).catch(() => {});
  }
}

/** Tells swarm peers we are downloading a file (and what we hold), so they can fetch from us too. */
export function announcePartial(ownerId: string, record: TransferRecord, store: ChunkStore, connections: Connection[]): void {
  if (!record.content_root) return;
  for (const c of connections.filter((c) => c.isSwarm)) {
    const manifest = makeStandardManifest({
      fileId: record.file_id, fileName: record.file_name, fileSize: record.file_size, owner: ownerId, chunkSize: record.chunk_size,
    });
    const content = { ...manifest, partial: true, swarm_content: { root: record.content_root, chunk_size: record.chunk_size, hash_count: record.chunk_count } };
    c.send('file_manifest', { content, recipientId: 'omit' }).catch(() => {});
    const bitfield = bytesToBase64(store.bitfield());
    c.send('have', { content: { file_id: record.file_id, chunk_size: record.chunk_size, bitfield } }).catch(() => {});
  }
}

/** Tells swarm peers about pieces newly verified and stored. */
export function announceHave(record: TransferRecord, pieces: number[], connections: Connection[]): void {
  if (!record.content_root) return;
  for (const c of connections) {
    if (c.isSwarm) c.send('have', { content: { file_id: record.file_id, chunk_size: record.chunk_size, indexes: pieces } }).catch(() => {});
  }
}
