/**
 * The node's library: every plain file directly inside `<dir>/shared_files/` is hashed once and
 * shared. Layout under the node's data dir:
 *   shared_files/<name>          the files themselves (sub-directories are not shared in this version)
 *   hashes/<fileId>.leaves       packed 32-byte piece hashes of each indexed file
 *   library.json                 the index: name -> {fileId, size, mtimeMs, root}, plus the unshared list
 *
 * The index is a cache: after a restart a file whose size and mtime are unchanged is not hashed again.
 * The directory is watched; a new or changed file is hashed once its size and mtime have held still for
 * `settleMs`, so a file still being copied in is hashed once, at the end.
 *
 * Safety: names come from readdir, so they never hold a separator; entries are lstat'ed and only
 * regular files are indexed (symlinks are never followed, not even to a file inside the directory);
 * `read()` opens with O_NOFOLLOW and re-checks the real path (library-read.node.ts), so a name
 * swapped for a symlink after indexing is refused; the handle is then kept open briefly and re-checked
 * with an fstat every 50 ms of use (library-handles.node.ts). Hidden names (leading dot) are skipped: editors,
 * rsync and copy tools write their temp files that way.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { hashFile } from './file-hashing.node.ts';
import { SharedCatalog } from './library-catalog.node.ts';
import type { SharedFile } from './library-catalog.node.ts';
import { knownHashesFit, LIBRARY_INDEX_NAME, readLibraryIndex, writeFileAtomic } from './library-index.node.ts';
import type { DiskEntry, KnownFileHashes, LibraryIndexFile } from './library-index.node.ts';
import { SharedHandleCache } from './library-handles.node.ts';
import { checkReadRange, handleStillIndexed, leavesFileIntact, openSharedFile, readFullyAt, readLeavesFile } from './library-read.node.ts';
import type { SharedFileCheck } from './library-read.node.ts';
import type { LibraryEvents, LocalFile, Library } from './library.ts';
import { LibraryError } from './library.ts';
import { DEFAULT_CHUNK_SIZE, chunkCount } from './manifest.ts';
import { SettleWatcher } from './settle-watcher.node.ts';
import { Emitter } from '../util/emitter.ts';
import { silentLogger } from '../util/logger.ts';
import type { Logger } from '../util/logger.ts';
import { JsonFileStore } from '../util/record-store.node.ts';
import { SaveCoalescer } from '../util/record-store.ts';

export const SHARED_DIR_NAME = 'shared_files';
export const HASHES_DIR_NAME = 'hashes';
/** How long a file's size and mtime must hold still before it is hashed: a copy in progress
 *  writes far more often than this, and a user waits about this long after a copy ends. */
export const DEFAULT_SETTLE_MS = 1000;
/** Hashing a big file logs its progress this often. */
const PROGRESS_LOG_INTERVAL_MS = 1000;
/** Folds the index writes of a burst of changes (a folder copied in) into one. */
const INDEX_SAVE_DELAY_MS = 100;

export type { KnownFileHashes };

export interface AddFileOptions {
  known?: KnownFileHashes;
}

export interface FsLibraryOptions {
  /** The node's data dir. */
  dir: string;
  log?: Logger;
  chunkSize?: number;
  settleMs?: number;
}

export class FsLibrary extends Emitter<LibraryEvents> implements Library {
  readonly sharedDir: string;
  readonly #hashesDir: string;
  readonly #realSharedDir: string;
  readonly #chunkSize: number;
  readonly #log: Logger;
  readonly #saver: SaveCoalescer<LibraryIndexFile>;
  /** Which names hold which content, and what is shared under which name (library-catalog.node.ts). */
  readonly #catalog: SharedCatalog;
  readonly #jobs = new Map<string, Promise<unknown>>();
  readonly #watcher: SettleWatcher;
  /** Open read handles of files being served, dropped whenever their name is re-indexed or forgotten. */
  readonly #handles = new SharedHandleCache({
    open: (diskName) => openSharedFile(this.#checkOf(diskName)),
    stillIndexed: (diskName, handle) => handleStillIndexed(handle, this.#checkOf(diskName)),
  });
  #state: 'opened' | 'started' | 'closed' = 'opened';
  #closing: Promise<void> | undefined;
  #filesHashed = 0;

  private constructor(dir: string, realSharedDir: string, saved: LibraryIndexFile | undefined, options: FsLibraryOptions) {
    super();
    this.sharedDir = join(dir, SHARED_DIR_NAME);
    this.#hashesDir = join(dir, HASHES_DIR_NAME);
    this.#realSharedDir = realSharedDir;
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#log = (options.log ?? silentLogger).child({ component: 'library' });
    this.#catalog = new SharedCatalog(this.#chunkSize, saved, {
      added: (file) => this.emit('added', file),
      removed: (file) => this.emit('removed', file),
      leavesUnused: (fileId) => void unlink(this.#leavesPath(fileId)).catch(() => {}),
      changed: () => this.#saver.scheduleSave(),
    });
    const store = new JsonFileStore<LibraryIndexFile>(join(dir, LIBRARY_INDEX_NAME));
    this.#saver = new SaveCoalescer(store, () => this.#catalog.snapshot(), {
      delayMs: INDEX_SAVE_DELAY_MS,
      onError: (err) => this.#log.error({ err }, 'could not save the library index'),
    });
    this.#watcher = new SettleWatcher({
      dir: this.sharedDir,
      settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
      onSettled: (name) => this.#indexSafely(name),
      ignore: isHidden,
      knownNames: () => this.#catalog.names(),
      onError: (err, name) => this.#log.warn({ err, file: name }, 'watching shared_files failed'),
    });
  }

  /** Creates the directories and reads the index; nothing is shared until `start()`. */
  static async open(options: FsLibraryOptions): Promise<FsLibrary> {
    const dir = resolve(options.dir);
    await mkdir(join(dir, SHARED_DIR_NAME), { recursive: true });
    await mkdir(join(dir, HASHES_DIR_NAME), { recursive: true });
    const log = options.log ?? silentLogger;
    let saved: LibraryIndexFile | undefined;
    try {
      saved = await readLibraryIndex(join(dir, LIBRARY_INDEX_NAME), options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    } catch (err) {
      // Only a cache of hashes: losing it costs a re-hash, never data.
      log.warn({ err }, 'library index unreadable; every shared file will be hashed again');
    }
    return new FsLibrary(dir, await realpath(join(dir, SHARED_DIR_NAME)), saved, options);
  }

  /** Files hashed (and recorded) since open, not reused from the index: shows what a start cost. */
  get filesHashed(): number {
    return this.#filesHashed;
  }

  list(): LocalFile[] {
    return this.#catalog.sharedFiles();
  }

  get(fileId: string): LocalFile | undefined {
    return this.#catalog.shared(fileId)?.file;
  }

  /** Watches the directory, then indexes what is in it (hashing only new or changed files). */
  async start(): Promise<void> {
    if (this.#state !== 'opened') return;
    this.#state = 'started';
    // Watch first, so a file copied in during the scan is not missed.
    this.#watcher.start();
    const startedAt = Date.now();
    const names = await this.#listNames();
    this.#log.info({ files: names.length, dir: this.sharedDir }, 'indexing shared files');
    const hashedBefore = this.#filesHashed;
    for (const name of names) await this.#indexSafely(name);
    if (this.#isClosed()) return;
    this.#catalog.forgetSavedCache();
    this.#log.info(
      { shared: this.#catalog.sharedCount, hashed: this.#filesHashed - hashedBefore, ms: Date.now() - startedAt },
      'shared files indexed',
    );
    await this.#saver.flush();
  }

  /**
   * Shares a file just placed directly inside shared_files (an upload, a completed download) without
   * waiting for the watcher. An explicit share: content the user had unshared is shared again. With
   * `known` hashes that fit the file it is recorded without being read (the path checks still run).
   */
  async addFile(absPath: string, options: AddFileOptions = {}): Promise<LocalFile> {
    const name = basename(absPath);
    if (resolve(dirname(absPath)) !== this.sharedDir || isHidden(name)) {
      throw new LibraryError('UNSAFE_PATH', `${absPath} is not a visible file directly inside ${this.sharedDir}`);
    }
    const entry = await this.#index(name, options.known);
    if (entry === undefined) throw new LibraryError('UNSAFE_PATH', `${absPath} is not a regular file`);
    this.#catalog.reshare(entry.fileId);
    const shared = this.#catalog.shared(entry.fileId);
    if (shared === undefined) throw new LibraryError('CHANGED_ON_DISK', `${absPath} changed while being added`);
    await this.#saver.flush();
    return shared.file;
  }

  /**
   * Stops sharing `fileId`; false if it was not shared. With `deleteFromDisk`, every copy of that
   * content in shared_files is deleted (otherwise another copy would share it again); without, the
   * content goes on the persisted unshared list.
   */
  async remove(fileId: string, options: { deleteFromDisk?: boolean } = {}): Promise<boolean> {
    if (this.#catalog.shared(fileId) === undefined) return false;
    try {
      if (!options.deleteFromDisk) this.#catalog.markUnshared(fileId);
      else {
        for (const name of this.#catalog.namesOf(fileId)) {
          await unlink(join(this.sharedDir, name)).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
          this.#catalog.deleteEntry(name);
          this.#handles.drop(name);
        }
      }
    } finally {
      this.#catalog.reconcile(fileId); // also after a failed unlink: the copies already deleted are gone
    }
    await this.#saver.flush();
    return true;
  }

  /** Through a cached handle, checked against the index (library-handles.node.ts, library-read.node.ts). */
  async read(fileId: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const { file, diskName } = this.#requireShared(fileId);
    checkReadRange(file, start, length);
    if (into !== undefined && into.length !== length) {
      throw new RangeError(`read into a buffer of ${into.length} bytes, expected ${length}`);
    }
    const out = into ?? new Uint8Array(length);
    if (length === 0) return out;
    return this.#handles.use(diskName, (handle) => readFullyAt(handle, out, start, diskName));
  }

  async leaves(fileId: string): Promise<Uint8Array> {
    const { file } = this.#requireShared(fileId);
    return readLeavesFile(this.#leavesPath(fileId), file);
  }

  /** Stops watching and writes the index. A hash still running finishes in the background and is dropped. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      this.#watcher.close();
      this.#handles.close();
      await this.#saver.flush();
      this.removeAllListeners();
    })();
    return this.#closing;
  }

  // -------------------------------------------------------------------------------------------
  // indexing

  /** Indexes one name, one job per name at a time; resolves to its entry, or undefined if it is not a shareable file. */
  #index(name: string, known?: KnownFileHashes): Promise<DiskEntry | undefined> {
    const previous = this.#jobs.get(name) ?? Promise.resolve();
    const job = previous.then(() => this.#indexNow(name, known));
    const settled = job.catch(() => {});
    this.#jobs.set(name, settled);
    void settled.then(() => {
      if (this.#jobs.get(name) === settled) this.#jobs.delete(name);
    });
    return job;
  }

  async #indexNow(name: string, given?: KnownFileHashes): Promise<DiskEntry | undefined> {
    if (this.#state === 'closed') throw new LibraryError('CLOSED', 'the library is closed');
    const path = join(this.sharedDir, name);
    const before = await lstatOrUndefined(path);
    if (before === undefined || !before.isFile()) {
      if (before?.isSymbolicLink()) this.#log.warn({ file: name }, 'not sharing a symlink in shared_files');
      this.#forget(name);
      return undefined;
    }
    const known = this.#catalog.entry(name) ?? this.#catalog.savedEntry(name);
    if (known && known.size === before.size && known.mtimeMs === before.mtimeMs && (await this.#leavesIntact(known))) {
      this.#record(name, known);
      return known;
    }
    const trusted = given === undefined ? undefined : await this.#trusted(given, before.size, name);
    const hashes = trusted ?? (await this.#hash(path, name));
    const after = await lstatOrUndefined(path);
    // Same inode too: a file swapped in (or a symlink) while we read is not what we hashed.
    if (after === undefined || after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino) {
      throw new LibraryError('CHANGED_ON_DISK', `${name} changed while being hashed`);
    }
    if (this.#isClosed()) throw new LibraryError('CLOSED', 'the library is closed');
    await writeFileAtomic(this.#leavesPath(hashes.fileId), hashes.leaves);
    const entry = { fileId: hashes.fileId, size: before.size, mtimeMs: before.mtimeMs, root: hashes.root };
    this.#record(name, entry);
    if (trusted) {
      this.#log.info({ file: name, fileId: hashes.fileId, size: hashes.size }, 'recorded a verified file without hashing it again');
      return entry;
    }
    // Counted once recorded, so "hashed" in a log line or the counter means the index holds it.
    this.#filesHashed++;
    this.#log.info({ file: name, fileId: hashes.fileId, size: hashes.size, ms: hashes.ms }, 'hashed a shared file');
    return entry;
  }

  /** Hashes a caller already verified, when they fit the file (else it is hashed as usual). */
  async #trusted(known: KnownFileHashes, size: number, name: string) {
    if (!(await knownHashesFit(known, size, this.#chunkSize))) {
      this.#log.warn({ file: name }, 'the hashes given with a file do not fit it; hashing it');
      return undefined;
    }
    return { fileId: known.fileId, size, chunkSize: known.chunkSize, leaves: known.leaves, root: known.root, ms: 0 };
  }

  async #hash(path: string, name: string) {
    const startedAt = Date.now();
    let loggedAt = startedAt;
    const hashes = await hashFile(path, {
      chunkSize: this.#chunkSize,
      onProgress: (done, total) => {
        const now = Date.now();
        if (now - loggedAt < PROGRESS_LOG_INTERVAL_MS) return;
        loggedAt = now;
        this.#log.info({ file: name, percent: Math.floor((100 * done) / total), bytesDone: done, total }, 'hashing a shared file');
      },
    });
    return { ...hashes, ms: Date.now() - startedAt };
  }

  /** Indexes, turning failures into log lines; a file that changed meanwhile is watched until it settles. */
  async #indexSafely(name: string): Promise<void> {
    try {
      await this.#index(name);
    } catch (err) {
      if (err instanceof LibraryError && err.code === 'CLOSED') return;
      if (err instanceof LibraryError && err.code === 'CHANGED_ON_DISK') {
        this.#watcher.poll(name);
        return;
      }
      this.#log.warn({ file: name, err }, 'could not index a shared file');
    }
  }

  /** A handle opened for another entry of this name reads other content: it is dropped. */
  #record(name: string, entry: DiskEntry): void {
    if (this.#catalog.entry(name) !== entry) this.#handles.drop(name);
    this.#catalog.record(name, entry);
  }

  #forget(name: string): void {
    this.#handles.drop(name);
    this.#catalog.forget(name);
  }

  // -------------------------------------------------------------------------------------------
  // helpers

  /** Visible names directly inside shared_files; sub-directories are listed but skipped when lstat'ed. */
  async #listNames(): Promise<string[]> {
    const dirents = await readdir(this.sharedDir, { withFileTypes: true });
    return dirents.filter((d) => !isHidden(d.name) && !d.isDirectory()).map((d) => d.name);
  }

  /** A method, not a field test, so TypeScript does not keep a narrowing across awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #requireShared(fileId: string): SharedFile {
    if (this.#state === 'closed') throw new LibraryError('CLOSED', 'the library is closed');
    const shared = this.#catalog.shared(fileId);
    if (shared === undefined) throw new LibraryError('NOT_SHARED', `no shared file has id ${fileId}`);
    return shared;
  }

  /** What reading `diskName` checks the file on disk against. */
  #checkOf(diskName: string): SharedFileCheck {
    return {
      sharedDir: this.sharedDir,
      realSharedDir: this.#realSharedDir,
      diskName,
      indexed: () => this.#catalog.entry(diskName),
      onChanged: () => {
        this.#handles.drop(diskName);
        this.#watcher.poll(diskName);
      },
    };
  }

  #leavesPath(fileId: string): string {
    return join(this.#hashesDir, `${fileId}.leaves`);
  }

  #leavesIntact(entry: DiskEntry): Promise<boolean> {
    return leavesFileIntact(this.#leavesPath(entry.fileId), chunkCount(entry.size, this.#chunkSize));
  }
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
