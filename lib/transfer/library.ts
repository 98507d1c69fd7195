/**
 * The library: the files this peer shares, whole and already hashed. Isomorphic interface: the node
 * implements it over a directory (library-fs.node.ts), a browser tab can implement it over IndexedDB.
 *
 * The library only keeps and reads; it does not verify what it reads (the transfer layer checks
 * every served piece against `leaves`) and it does not announce anything (its owner listens to
 * `added`/`removed` and tells peers).
 */
import type { StandardManifest } from './manifest.ts';
import { makeStandardManifest } from './manifest.ts';

/** One shared file. Immutable: a change of content is a new fileId (the old entry is removed). */
export interface LocalFile {
  /** sha256 hex of the whole file: the standard `file_id`. */
  readonly fileId: string;
  /** Display name, safe to put in a manifest (sanitised; may differ from the name on disk). */
  readonly name: string;
  readonly size: number;
  /** Piece size of the Merkle leaves (DEFAULT_CHUNK_SIZE unless the library was opened otherwise). */
  readonly chunkSize: number;
  /** Hex Merkle root over the leaves (merkle.ts defines the tree). */
  readonly root: string;
  /** Number of leaves = chunkCount(size, chunkSize). */
  readonly hashCount: number;
}

// A type, not an interface: the Emitter's event map needs an index signature, which interfaces lack.
export type LibraryEvents = {
  /** A file became shared (at start-up indexing, when copied in, uploaded or downloaded). */
  added: (file: LocalFile) => void;
  /** A file stopped being shared (unshared by the user, deleted or changed on disk). */
  removed: (file: LocalFile) => void;
};

export interface Library {
  list(): LocalFile[];
  get(fileId: string): LocalFile | undefined;
  /**
   * Bytes [start, start + length) of a shared file. Rejects with a LibraryError when the file is not
   * shared, the range is outside it, or the file is no longer what was indexed. With `into` (exactly
   * `length` bytes) the bytes are read into it and it is returned, so a caller can read straight
   * into the buffer it sends (a chunk frame) instead of copying.
   */
  read(fileId: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** The piece hashes, packed: leaf i is bytes [32 i, 32 i + 32). */
  leaves(fileId: string): Promise<Uint8Array>;
  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof LibraryEvents>(event: K, listener: LibraryEvents[K]): () => void;
}

export type LibraryErrorCode =
  /** no shared file has this id */
  | 'NOT_SHARED'
  /** the range asked for is not inside the file */
  | 'OUT_OF_RANGE'
  /** the file on disk is not a plain file inside the shared directory (a symlink, a swapped directory) */
  | 'UNSAFE_PATH'
  /** the file changed (or vanished) since it was hashed; it is being re-indexed */
  | 'CHANGED_ON_DISK'
  /** the library was closed */
  | 'CLOSED';

export class LibraryError extends Error {
  readonly code: LibraryErrorCode;
  constructor(code: LibraryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LibraryError';
    this.code = code;
  }
}

export function isLibraryError(err: unknown, code?: LibraryErrorCode): err is LibraryError {
  return err instanceof LibraryError && (code === undefined || err.code === code);
}

/**
 * The standard manifest we announce for a local file. Its chunk size is the file's piece size (64 KiB
 * by default), so a standard chunk and a swarm piece are the same bytes and each can be checked
 * against a leaf; the reference peer accepts any chunk size in a manifest it downloads.
 */
export function localFileManifest(file: LocalFile, owner: string): StandardManifest {
  return makeStandardManifest({
    fileId: file.fileId,
    fileName: file.name,
    fileSize: file.size,
    owner,
    chunkSize: file.chunkSize,
  });
}
