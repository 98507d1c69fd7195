/**
 * How pieces of a file sit in a chunk database (shared by the chunk store on the page and the hashing
 * worker, which reads the same database): runs of consecutive pieces, each run one record of at most
 * RUN_RECORD_BYTES under the key [fileId, [first, count]] (see RUN_RECORD_BYTES for why), and the
 * file's bitfield record under [fileId, 'bitfield']. In IndexedDB keys numbers sort before strings
 * and strings before arrays, so a file's runs are the contiguous range [fileId, [0]] .. [fileId,
 * [Infinity]], apart from its bitfield. Two earlier layouts are still read: pieces stored whole
 * under [fileId, i], and pieces in 32 KiB parts under [fileId, i, part] (both in the range [fileId,
 * 0] .. [fileId, Infinity]).
 */
import { getMany, promisifyRequest } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import { concatBytes } from '../util/bytes.ts';

/**
 * A run record holds at most this many bytes (and at least one piece). Chromium wraps a value whose
 * serialized form exceeds 64 KiB in a Blob of its own (a file beside the database), which costs per
 * value: measured (Chromium 156, 64 MiB in transactions of 4 MiB), whole 64 KiB pieces cost the page
 * 6.7-8.9 ms of `put` per MB and committed at 67-87 MB/s, 32 KiB values 1.9-2.3 ms per MB at 117-147
 * MB/s, 1 MiB values 2.65 ms per MB at 257 MB/s. Bigger runs would commit faster still, but a read of
 * one piece reads its whole run.
 */
export const RUN_RECORD_BYTES = 1024 * 1024;

/** Pieces per run record for pieces of `pieceBytes`. */
export function runPieces(pieceBytes: number): number {
  return Math.max(1, Math.floor(RUN_RECORD_BYTES / pieceBytes));
}

/** The key of the run of pieces [first, first + count). */
function runKey(fileId: string, first: number, count: number): [string, [number, number]] {
  return [fileId, [first, count]];
}

/** Every run of a file, for deleting. */
function runRange(fileId: string): IDBKeyRange {
  return IDBKeyRange.bound([fileId, [0]], [fileId, [Infinity]]);
}

/** The size of the parts pieces were stored in before runs (the second layout). */
const PIECE_PART_BYTES = 32 * 1024;

/** The key of part `part` of piece `index`, in the second layout. */
function piecePartKey(fileId: string, index: number, part: number): [string, number, number] {
  return [fileId, index, part];
}

/** The key a piece was stored under whole, in the first layout. */
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
 * Puts the consecutive pieces `pieces` (piece `first` on) into `s` (an object store of a readwrite
 * transaction) as one run record, at most runPieces of them, and returns the record's bytes: a copy in
 * a buffer of its own (IndexedDB would store a view's whole buffer) that `put` has already
 * serialized, so the caller may hand it on (transfer it to a worker).
 */
export function putRun(s: IDBObjectStore, fileId: string, first: number, pieces: Uint8Array[]): Uint8Array {
  const run = concatBytes(pieces);
  s.put(run, runKey(fileId, first, pieces.length));
  return run;
}

/**
 * Pieces [first, first + count) in order, each `pieceBytes` long except a file's short last piece
 * (views into the records read); throws when one is missing.
 */
export async function readPieces(store: UseStore, fileId: string, first: number, count: number, pieceBytes: number): Promise<Uint8Array[]> {
  const pieces: (Uint8Array | undefined)[] = Array.from({ length: count }, () => undefined);
  const last = first + count - 1;
  // The runs that can hold one of the pieces start at most a run's length before the first.
  const range = IDBKeyRange.bound([fileId, [Math.max(0, first - runPieces(pieceBytes) + 1)]], [fileId, [last, Infinity]]);
  await store('readonly', async (s) => {
    const keys = (await promisifyRequest(s.getAllKeys(range))) as [string, [number, number]][];
    const wanted = keys.filter(([, [from, n]]) => from + n > first);
    const runs = await Promise.all(wanted.map((key) => promisifyRequest<Uint8Array>(s.get(key))));
    wanted.forEach(([, [from, n]], k) => {
      for (let i = Math.max(from, first); i < Math.min(from + n, last + 1); i++) {
        const at = (i - from) * pieceBytes;
        pieces[i - first] = runs[k]!.subarray(at, Math.min(at + pieceBytes, runs[k]!.length));
      }
    });
  });
  const older = missingAt(pieces);
  if (older.length > 0) {
    const found = await readOlderPieces(store, fileId, older.map((i) => first + i), pieceBytes);
    older.forEach((i, k) => (pieces[i] = found[k]));
  }
  return pieces.map((piece, i) => {
    if (!piece) throw new Error(`piece ${first + i} of ${fileId} is not stored`);
    return piece;
  });
}

/** The positions in `pieces` that no layout read so far has filled. */
function missingAt(pieces: (Uint8Array | undefined)[]): number[] {
  return pieces.flatMap((piece, i) => (piece ? [] : [i]));
}

/** Pieces `indices` as stored by the earlier layouts (in parts, or whole), undefined where not stored. */
async function readOlderPieces(store: UseStore, fileId: string, indices: number[], pieceBytes: number): Promise<(Uint8Array | undefined)[]> {
  const parts = Math.max(1, Math.ceil(pieceBytes / PIECE_PART_BYTES));
  const keys = indices.flatMap((index) => Array.from({ length: parts }, (_, p) => piecePartKey(fileId, index, p)));
  const values = await getMany<Uint8Array>(keys, store);
  const pieces = indices.map((_, i) => {
    // A short last piece has fewer parts: the ones it lacks read as undefined.
    const stored = values.slice(i * parts, (i + 1) * parts).filter((part) => part !== undefined);
    return stored.length === 0 ? undefined : stored.length === 1 ? stored[0] : concatBytes(stored);
  });
  const whole = missingAt(pieces);
  if (whole.length > 0) {
    const found = await getMany<Uint8Array>(whole.map((i) => wholePieceKey(fileId, indices[i]!)), store);
    whole.forEach((i, k) => (pieces[i] = found[k]));
  }
  return pieces;
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
    s.delete(runRange(fileId));
    s.delete(IDBKeyRange.bound(wholePieceKey(fileId, 0), wholePieceKey(fileId, Infinity)));
    s.delete(bitfieldKey(fileId));
    return promisifyRequest(s.transaction);
  });
}
