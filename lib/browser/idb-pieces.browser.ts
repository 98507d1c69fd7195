/**
 * How pieces of a file sit in a chunk database (shared by the chunk store on the page and the hashing
 * worker, which reads the same database): piece i of a file in parts of at most PIECE_PART_BYTES,
 * part p under the key [fileId, i, p] (see PIECE_PART_BYTES for why), the file's bitfield record
 * under [fileId, 'bitfield']. Numbers sort before strings in IndexedDB keys and a key sorts after its
 * prefix, so the pieces of one file are the contiguous range [fileId, 0] .. [fileId, Infinity].
 * Pieces stored whole under [fileId, i] (before the split) are still read.
 */
import { getMany, promisifyRequest } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';

/**
 * Pieces are stored in parts this large: Chromium wraps a value whose serialized form exceeds 64 KiB
 * in a Blob of its own (a file beside the database), and a 64 KiB piece is just over that. Measured
 * (Chromium 156, 64 MiB in transactions of 4 MiB): whole 64 KiB pieces cost the page 6.7-8.9 ms of
 * `put` per MB and committed at 67-87 MB/s; 32 KiB parts 1.9-2.3 ms per MB at 117-147 MB/s.
 */
export const PIECE_PART_BYTES = 32 * 1024;

/** The key of part `part` of piece `index`. */
export function piecePartKey(fileId: string, index: number, part: number): [string, number, number] {
  return [fileId, index, part];
}

/** The key a piece was stored under whole, before pieces were split into parts. */
function wholePieceKey(fileId: string, index: number): [string, number] {
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

/**
 * Puts piece `index` into `s` (an object store of a readwrite transaction), in its parts, and returns
 * the parts: copies of `data` in buffers of their own (IndexedDB would store a view's whole buffer),
 * which `put` has already serialized, so the caller may hand them on (transfer them to a worker).
 */
export function putPiece(s: IDBObjectStore, fileId: string, index: number, data: Uint8Array): Uint8Array[] {
  const count = Math.max(1, Math.ceil(data.length / PIECE_PART_BYTES));
  const parts = Array.from({ length: count }, (_, p) => data.slice(p * PIECE_PART_BYTES, (p + 1) * PIECE_PART_BYTES));
  parts.forEach((part, p) => s.put(part, piecePartKey(fileId, index, p)));
  return parts;
}

/**
 * Pieces [first, first + count) in order, each `pieceBytes` long except a file's short last piece;
 * throws when one is missing.
 */
export async function readPieces(store: UseStore, fileId: string, first: number, count: number, pieceBytes: number): Promise<Uint8Array[]> {
  const parts = Math.max(1, Math.ceil(pieceBytes / PIECE_PART_BYTES));
  const keys = Array.from({ length: count * parts }, (_, k) => piecePartKey(fileId, first + Math.floor(k / parts), k % parts));
  const values = await getMany<Uint8Array>(keys, store);
  const pieces: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    // A short last piece has fewer parts: the ones it lacks read as undefined.
    const stored = values.slice(i * parts, (i + 1) * parts).filter((part) => part !== undefined);
    pieces.push(stored.length === 0 ? undefined : stored.length === 1 ? stored[0] : joinParts(stored));
  }
  const whole = pieces.flatMap((piece, i) => (piece ? [] : [i]));
  if (whole.length > 0) {
    const found = await getMany<Uint8Array>(whole.map((i) => wholePieceKey(fileId, first + i)), store);
    whole.forEach((i, k) => (pieces[i] = found[k]));
  }
  return pieces.map((piece, i) => {
    if (!piece) throw new Error(`piece ${first + i} of ${fileId} is not stored`);
    return piece;
  });
}

function joinParts(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Calls `each` with every piece of the file in order, reading READ_BATCH_PIECES at a time; the next
 * batch is read while `each` works through the current one, so reading and hashing overlap.
 */
export async function forEachPiece(
  store: UseStore,
  fileId: string,
  pieceCount: number,
  pieceBytes: number,
  each: (piece: Uint8Array, index: number) => void | Promise<void>,
): Promise<void> {
  const readBatch = (first: number) => readPieces(store, fileId, first, Math.min(READ_BATCH_PIECES, pieceCount - first), pieceBytes);
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
    s.delete(IDBKeyRange.bound(wholePieceKey(fileId, 0), wholePieceKey(fileId, Infinity)));
    s.delete(bitfieldKey(fileId));
    return promisifyRequest(s.transaction);
  });
}
