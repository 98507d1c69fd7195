/**
 * The tab's library over IndexedDB: the files it shares, kept across reloads. A file picked by the
 * user is stored as its File object (IndexedDB keeps a reference to the browser's copy of the blob,
 * not the bytes in our heap); a finished download is served from its pieces in the chunk database.
 * Reads are Blob reads or IndexedDB reads, both done by the browser off the page's thread.
 */
import { del, set, values } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import type { ContentHashes } from './blob-hashing.ts';
import { deleteFilePieces } from './idb-pieces.browser.ts';
import { openIdbChunkStore } from './chunk-store-idb.browser.ts';
import type { IdbChunkStore } from './chunk-store-idb.browser.ts';
import { isLibraryError, LibraryError } from '../transfer/library.ts';
import type { Library, LibraryEvents, LocalFile } from '../transfer/library.ts';
import { chunkCount } from '../transfer/manifest.ts';
import { sanitizeFileName } from '../transfer/safe-name.ts';
import { Emitter } from '../util/emitter.ts';

export { isLibraryError };

/** One stored entry: the file's facts and where its bytes are. */
export interface StoredLibraryFile extends LocalFile {
  leaves: Uint8Array;
  /** The picked file, or null when the bytes are the pieces of a finished download. */
  blob: Blob | null;
  /** Unix ms when it was added (the dashboard lists newest first). */
  addedAt: number;
}

export interface IdbLibraryOptions {
  /** Library entries, keyed by file id. */
  entries: UseStore;
  /** The chunk database that finished downloads are read from. */
  pieces: UseStore;
}

class LibraryEmitter extends Emitter<LibraryEvents> {
  fire<K extends keyof LibraryEvents>(event: K, ...args: Parameters<LibraryEvents[K]>): void {
    this.emit(event, ...args);
  }
}

export class IdbLibrary implements Library {
  readonly #o: IdbLibraryOptions;
  readonly #files = new Map<string, StoredLibraryFile>();
  readonly #events = new LibraryEmitter();
  readonly #pieceStores = new Map<string, Promise<IdbChunkStore>>();
  #closed = false;

  private constructor(options: IdbLibraryOptions) {
    this.#o = options;
  }

  static async open(options: IdbLibraryOptions): Promise<IdbLibrary> {
    const library = new IdbLibrary(options);
    for (const entry of await values<StoredLibraryFile>(options.entries)) library.#files.set(entry.fileId, entry);
    return library;
  }

  list(): LocalFile[] {
    return [...this.#files.values()].sort((a, b) => b.addedAt - a.addedAt).map(toLocalFile);
  }

  get(fileId: string): LocalFile | undefined {
    const entry = this.#files.get(fileId);
    return entry && toLocalFile(entry);
  }

  /** The stored entry with its bytes' source (for saving). */
  entry(fileId: string): StoredLibraryFile | undefined {
    return this.#files.get(fileId);
  }

  async read(fileId: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const entry = this.#entryOrThrow(fileId);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > entry.size) {
      throw new LibraryError('OUT_OF_RANGE', `bytes ${start}+${length} are outside ${entry.name} (${entry.size} bytes)`);
    }
    let bytes: Uint8Array;
    if (entry.blob) {
      bytes = new Uint8Array(await entry.blob.slice(start, start + length).arrayBuffer());
      if (bytes.length !== length) throw new LibraryError('CHANGED_ON_DISK', `${entry.name} is no longer readable in full`);
    } else {
      const store = await this.#storedPieces(entry);
      bytes = await store.read(start, length).catch((cause: Error) => {
        throw new LibraryError('CHANGED_ON_DISK', `the stored pieces of ${entry.name} are gone: ${cause.message}`, { cause });
      });
    }
    if (!into) return bytes;
    into.set(bytes);
    return into;
  }

  async leaves(fileId: string): Promise<Uint8Array> {
    return this.#entryOrThrow(fileId).leaves;
  }

  on<K extends keyof LibraryEvents>(event: K, listener: LibraryEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Shares hashed content: a picked file (`blob`), or a finished download's stored pieces (`blob` null). */
  async add(name: string, hashes: ContentHashes, blob: Blob | null): Promise<LocalFile> {
    if (this.#closed) throw new LibraryError('CLOSED', 'the library is closed');
    const existing = this.#files.get(hashes.fileId);
    if (existing) return toLocalFile(existing);
    const entry: StoredLibraryFile = {
      fileId: hashes.fileId,
      name: sanitizeFileName(name),
      size: hashes.size,
      chunkSize: hashes.chunkSize,
      root: hashes.root,
      hashCount: chunkCount(hashes.size, hashes.chunkSize),
      leaves: hashes.leaves,
      blob,
      addedAt: Date.now(),
    };
    await set(entry.fileId, entry, this.#o.entries);
    this.#files.set(entry.fileId, entry);
    const file = toLocalFile(entry);
    this.#events.fire('added', file);
    return file;
  }

  /** Stops sharing; a downloaded file's pieces are deleted with it. */
  async remove(fileId: string): Promise<void> {
    const entry = this.#entryOrThrow(fileId);
    await del(fileId, this.#o.entries);
    this.#pieceStores.delete(fileId);
    if (!entry.blob) await deleteFilePieces(this.#o.pieces, fileId);
    this.#files.delete(fileId);
    this.#events.fire('removed', toLocalFile(entry));
  }

  close(): void {
    this.#closed = true;
  }

  /** The pieces of a finished download, opened once (their bitfield is read at open). */
  #storedPieces(entry: StoredLibraryFile): Promise<IdbChunkStore> {
    let store = this.#pieceStores.get(entry.fileId);
    if (!store) {
      store = openIdbChunkStore({
        store: this.#o.pieces,
        fileId: entry.fileId,
        fileSize: entry.size,
        chunkSize: entry.chunkSize,
        runningHash: () => Promise.reject(new Error('a shared file is not finalized again')),
      });
      this.#pieceStores.set(entry.fileId, store);
      store.catch(() => this.#pieceStores.delete(entry.fileId));
    }
    return store;
  }

  #entryOrThrow(fileId: string): StoredLibraryFile {
    if (this.#closed) throw new LibraryError('CLOSED', 'the library is closed');
    const entry = this.#files.get(fileId);
    if (!entry) throw new LibraryError('NOT_SHARED', `no shared file has id ${fileId}`);
    return entry;
  }
}

function toLocalFile(entry: StoredLibraryFile): LocalFile {
  return { fileId: entry.fileId, name: entry.name, size: entry.size, chunkSize: entry.chunkSize, root: entry.root, hashCount: entry.hashCount };
}
