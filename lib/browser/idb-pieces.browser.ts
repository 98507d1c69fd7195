/**
 * How pieces of a file sit in a chunk database (shared by the chunk store on the page and the hashing
 * worker, which reads the same database): piece i of a file under the key [fileId, i], the file's
 * bitfield record under [fileId, 'bitfield']. Numbers sort before strings in IndexedDB keys, so the
 * pieces of one file are the contiguous range [fileId, 0] .. [fileId, Infinity].
 */
import { getMany, promisifyRequest } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';

export function pieceKey(fileId: string, index: number): [string, number] {
  return [fileId, index];
}

export function bitfieldKey(fileId: string): [string, string] {
  return [fileId, 'bitfield'];
}

/** What is stored beside the pieces: the geometry they were cut in, and which are held. */
export interface StoredBitfield {
  fileSize: number;
  chunkSize: number;
  bits: Uint8Array;
}

/** Pieces per read when a whole file is walked (hashing, saving): getMany batches, measured ~79 MB/s. */
export const READ_BATCH_PIECES = 64;

/** Pieces [first, first + count) in order; throws when one is missing. */
export async function readPieces(store: UseStore, fileId: string, first: number, count: number): Promise<Uint8Array[]> {
  const keys = Array.from({ length: count }, (_, i) => pieceKey(fileId, first + i));
  const values = await getMany<Uint8Array>(keys, store);
  return values.map((value, i) => {
    if (!value) throw new Error(`piece ${first + i} of ${fileId} is not stored`);
    return value;
  });
}

/**
 * Calls `each` with every piece of the file in order, reading READ_BATCH_PIECES at a time; the next
 * batch is read while `each` works through the current one, so reading and hashing overlap.
 */
export async function forEachPiece(
  store: UseStore,
  fileId: string,
  pieceCount: number,
  each: (piece: Uint8Array, index: number) => void | Promise<void>,
): Promise<void> {
  const readBatch = (first: number) => readPieces(store, fileId, first, Math.min(READ_BATCH_PIECES, pieceCount - first));
  let next: Promise<Uint8Array[]> | null = pieceCount > 0 ? readBatch(0) : null;
  for (let first = 0; next; first += READ_BATCH_PIECES) {
    const pieces = await next;
    const following = first + READ_BATCH_PIECES;
    next = following < pieceCount ? readBatch(following) : null;
    // A failed read ahead is reported when its turn comes, not as an unhandled rejection meanwhile.
    next?.catch(() => {});
    for (let i = 0; i < pieces.length; i++) await each(pieces[i]!, first + i);
  }
}

/** Deletes every piece and the bitfield of a file, in one transaction. */
export function deleteFilePieces(store: UseStore, fileId: string): Promise<void> {
  return store('readwrite', (s) => {
    s.delete(IDBKeyRange.bound(pieceKey(fileId, 0), pieceKey(fileId, Infinity)));
    s.delete(bitfieldKey(fileId));
    return promisifyRequest(s.transaction);
  });
}
