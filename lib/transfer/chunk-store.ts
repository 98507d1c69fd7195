/**
 * The per-file store a download writes verified pieces into and serves from. Implementations:
 * memory (tests, chunk-store-memory.ts), filesystem (Node, chunk-store-fs.node.ts), IndexedDB (browser).
 *
 * Chunks here are the store's own pieces (the swarm piece size, 64 KiB by default). Reads are by
 * byte range so a chunk of another size (a 1 MiB standard chunk) can be served from several pieces.
 */
import { Bitfield } from './bitfield.ts';
import { chunkRange } from './manifest.ts';

export interface ChunkStore {
  readonly fileSize: number;
  /** Piece size in bytes; the last piece is short. */
  readonly chunkSize: number;
  /** Number of pieces, chunkCount(fileSize, chunkSize). */
  readonly chunkCount: number;
  /** Number of pieces held. */
  readonly count: number;
  /** True when every piece is held. */
  readonly complete: boolean;
  has(index: number): boolean;
  /** True when every piece overlapping bytes [start, start + length) is held. */
  hasRange(start: number, length: number): boolean;
  /** The held pieces as Bitfield bytes (a copy). */
  bitfield(): Uint8Array;
  /**
   * Stores piece `index`. Only called with verified data of exactly the piece's length; writing a
   * piece already held is a no-op. Throws ChunkStoreError BAD_CHUNK / DISK_FULL / STORE_CLOSED.
   * `data` is the caller's again once the returned promise settles (received frame buffers are
   * reused): a store that keeps the bytes longer keeps a copy.
   */
  write(index: number, data: Uint8Array): Promise<void>;
  /**
   * True when `write` settles only with a batch commit a few pieces or ms later (IndexedDB). A download
   * then asks for more chunks before its writes settle, or the link would idle for every commit; a
   * store that writes at once leaves the backlog in the seeder's queue instead, where a chat message
   * can still pass it (bench chat-under-load: medians of 21-36 ms instead of 13-18 ms).
   */
  readonly writesInBatches?: boolean;
  /** Bytes [start, start + length); throws ChunkStoreError MISSING_DATA unless hasRange is true. */
  read(start: number, length: number): Promise<Uint8Array>;
  /** Releases resources; persists what is durable. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * What every store shares: which pieces are held, in a Bitfield whose bit a subclass sets once that
 * piece's bytes are stored. Subclasses add how bytes are written, read and released.
 */
export abstract class BitfieldChunkStore implements ChunkStore {
  readonly fileSize: number;
  readonly chunkSize: number;
  readonly chunkCount: number;
  protected readonly held: Bitfield;

  /** `held` has one bit per piece (its length is the piece count); it may be resumed from disk. */
  protected constructor(fileSize: number, chunkSize: number, held: Bitfield) {
    this.fileSize = fileSize;
    this.chunkSize = chunkSize;
    this.chunkCount = held.length;
    this.held = held;
  }

  get count(): number {
    return this.held.count;
  }

  get complete(): boolean {
    return this.held.complete;
  }

  has(index: number): boolean {
    return this.held.get(index);
  }

  hasRange(start: number, length: number): boolean {
    const pieces = piecesForRange(this, start, length);
    if (pieces === null) return true;
    for (let i = pieces.first; i <= pieces.last; i++) if (!this.held.get(i)) return false;
    return true;
  }

  bitfield(): Uint8Array {
    return this.held.toBytes();
  }

  abstract write(index: number, data: Uint8Array): Promise<void>;
  abstract read(start: number, length: number): Promise<Uint8Array>;
  abstract close(): Promise<void>;
}

export type ChunkStoreErrorCode =
  /** data of the wrong length, or an index outside the file */
  | 'BAD_CHUNK'
  /** a read touching pieces not held */
  | 'MISSING_DATA'
  /** not enough free disk space for the partial file, or ENOSPC while writing */
  | 'DISK_FULL'
  /** finalize before every piece is held */
  | 'INCOMPLETE'
  /** the assembled file's SHA-256 is not its file_id; the file is not moved into place */
  | 'HASH_MISMATCH'
  /** a file id that is not a lower-case sha256 hex string (it names files on disk) */
  | 'BAD_FILE_ID'
  /** used after close */
  | 'STORE_CLOSED';

/** Errors with a stable code (kept apart from SwarmError's codes, which are the peer layer's). */
export class ChunkStoreError extends Error {
  readonly code: ChunkStoreErrorCode;
  constructor(code: ChunkStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChunkStoreError';
    this.code = code;
  }
}

/** Index range [first, last] of pieces of `chunkSize` overlapping bytes [start, start + length), validated. */
export function piecesForRange(
  store: Pick<ChunkStore, 'fileSize' | 'chunkSize' | 'chunkCount'>,
  start: number,
  length: number,
): { first: number; last: number } | null {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0) {
    throw new ChunkStoreError('BAD_CHUNK', `bad byte range ${start}+${length}`);
  }
  if (start + length > store.fileSize) {
    throw new ChunkStoreError('BAD_CHUNK', `byte range ${start}+${length} past the end (${store.fileSize})`);
  }
  if (length === 0) return null;
  return {
    first: Math.floor(start / store.chunkSize),
    last: Math.floor((start + length - 1) / store.chunkSize),
  };
}

/** The byte range of piece `index`, after checking the index and that `data` has exactly its length. */
export function checkedRange(
  store: Pick<ChunkStore, 'fileSize' | 'chunkSize' | 'chunkCount'>,
  index: number,
  data: Uint8Array,
): { start: number; end: number } {
  if (!Number.isSafeInteger(index) || index < 0 || index >= store.chunkCount) {
    throw new ChunkStoreError('BAD_CHUNK', `piece ${index} outside 0..${store.chunkCount - 1}`);
  }
  const range = chunkRange(store.fileSize, store.chunkSize, index);
  if (data.length !== range.end - range.start) {
    throw new ChunkStoreError(
      'BAD_CHUNK',
      `piece ${index} must be ${range.end - range.start} bytes, got ${data.length}`,
    );
  }
  return range;
}
