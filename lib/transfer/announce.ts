/**
 * What a peer tells its swarm about files: manifests of whole files it shares, manifests of files
 * it is still downloading (so others can fetch from it too), and `have` for pieces it just stored.
 */
import type { ChunkStore } from './chunk-store.ts';
import type { LocalFile } from './library.ts';
import { Bitfield } from './bitfield.ts';
import { swarmRequestBytes } from './download-deps.ts';
import { chunkCount, makeStandardManifest, STANDARD_CHUNK_SIZE } from './manifest.ts';
import type { TransferRecord } from './transfer-record.ts';
import type { Connection } from '../peer/connection.ts';
import { CHUNK_FRAME_HEADER_BYTES } from '../peer/wire/chunk-frame.ts';
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

/**
 * Tells swarm peers we are downloading a file (and what we hold), so they can fetch from us too.
 * Pieces are announced in groups of the swarm request size (swarmRequestBytes, within what the
 * link's frames carry), a group once all its pieces are held: a neighbour then asks for a group in
 * one request instead of one request per 64 KiB piece. In a swarm of 12 on 2 cores (bench `swarm`)
 * the per-message work of piece-sized requests, answers and `have`s was most of the CPU.
 */
export function announcePartial(ownerId: string, record: TransferRecord, store: ChunkStore, connections: Connection[]): void {
  if (!record.content_root) return;
  for (const c of connections.filter((c) => c.isSwarm)) {
    const group = groupBytes(record, c);
    const manifest = makeStandardManifest({
      fileId: record.file_id, fileName: record.file_name, fileSize: record.file_size, owner: ownerId, chunkSize: group,
    });
    const content = { ...manifest, partial: true, swarm_content: { root: record.content_root, chunk_size: record.chunk_size, hash_count: record.chunk_count } };
    c.send('file_manifest', { content, recipientId: 'omit' }).catch(() => {});
    const held = new Bitfield(chunkCount(record.file_size, group));
    for (let index = 0; index < held.length; index++) if (holdsGroup(record, store, group, index)) held.set(index);
    const bitfield = bytesToBase64(held.toBytes());
    c.send('have', { content: { file_id: record.file_id, chunk_size: group, bitfield } }).catch(() => {});
  }
}

/** Tells swarm peers about the groups (see announcePartial) that newly stored pieces completed. */
export function announceHave(record: TransferRecord, store: ChunkStore, pieces: number[], connections: Connection[]): void {
  if (!record.content_root) return;
  for (const c of connections) {
    if (!c.isSwarm) continue;
    const group = groupBytes(record, c);
    const perGroup = group / record.chunk_size;
    const indexes = [...new Set(pieces.map((piece) => Math.floor(piece / perGroup)))].filter((index) =>
      holdsGroup(record, store, group, index),
    );
    if (indexes.length) c.send('have', { content: { file_id: record.file_id, chunk_size: group, indexes } }).catch(() => {});
  }
}

/** The group size announced to `c`: a multiple of the piece size that one frame of its link carries. */
function groupBytes(record: TransferRecord, c: Connection): number {
  return swarmRequestBytes(record.file_size, record.chunk_size, c.transport.maxFrameBytes - CHUNK_FRAME_HEADER_BYTES);
}

function holdsGroup(record: TransferRecord, store: ChunkStore, group: number, index: number): boolean {
  const perGroup = group / record.chunk_size;
  const last = Math.min(store.chunkCount, (index + 1) * perGroup);
  for (let piece = index * perGroup; piece < last; piece++) if (!store.has(piece)) return false;
  return true;
}
