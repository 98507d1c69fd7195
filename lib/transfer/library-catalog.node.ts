/**
 * Which content the library shares, and under which name: the in-memory side of library.json.
 * Several names in shared_files may hold the same content (one fileId); it is shared once, under the
 * name indexed first, unless the user unshared it. Every change is reconciled into the shared view
 * at once, and the hooks tell the library what to announce, persist and clean up: no I/O happens here.
 */
import { makeLibraryIndex } from './library-index.node.ts';
import type { DiskEntry, LibraryIndexFile } from './library-index.node.ts';
import type { LocalFile } from './library.ts';
import { chunkCount } from './manifest.ts';
import { sanitizeFileName } from './safe-name.ts';

export interface SharedFile {
  file: LocalFile;
  /** The name in shared_files it is read from. */
  diskName: string;
}

export interface CatalogHooks {
  added(file: LocalFile): void;
  removed(file: LocalFile): void;
  /** No name holds this content and no saved entry may still claim it: its leaves file can go. */
  leavesUnused(fileId: string): void;
  /** Something library.json records changed. */
  changed(): void;
}

export class SharedCatalog {
  readonly #chunkSize: number;
  readonly #hooks: CatalogHooks;
  /** Verified entries, in the order they were first indexed (the first name of a content is its shared name). */
  readonly #entries = new Map<string, DiskEntry>();
  /** Entries read from library.json, consulted (to skip re-hashing) until the start-up scan has run. */
  readonly #saved: Map<string, DiskEntry>;
  /**
   * Content the user stopped sharing but kept on disk, by fileId: neither the watcher nor a restart
   * shares it again. It is keyed by content, so if the file changes, its new fileId is shared again.
   */
  readonly #unshared: Set<string>;
  readonly #shared = new Map<string, SharedFile>();

  constructor(chunkSize: number, saved: LibraryIndexFile | undefined, hooks: CatalogHooks) {
    this.#chunkSize = chunkSize;
    this.#hooks = hooks;
    this.#saved = new Map((saved?.files ?? []).map(({ name, ...entry }) => [name, entry]));
    this.#unshared = new Set(saved?.unshared ?? []);
  }

  /** The verified entry of a name, if it has one. */
  entry(name: string): DiskEntry | undefined {
    return this.#entries.get(name);
  }

  /** What a name hashed to before this run: valid only while its size and mtime are unchanged. */
  savedEntry(name: string): DiskEntry | undefined {
    return this.#saved.get(name);
  }

  names(): IterableIterator<string> {
    return this.#entries.keys();
  }

  namesOf(fileId: string): string[] {
    return [...this.#entries].filter(([, entry]) => entry.fileId === fileId).map(([name]) => name);
  }

  get sharedCount(): number {
    return this.#shared.size;
  }

  sharedFiles(): LocalFile[] {
    return [...this.#shared.values()].map((s) => s.file);
  }

  shared(fileId: string): SharedFile | undefined {
    return this.#shared.get(fileId);
  }

  record(name: string, entry: DiskEntry): void {
    const previous = this.#entries.get(name);
    this.#entries.set(name, entry);
    if (previous && previous.fileId !== entry.fileId) this.reconcile(previous.fileId);
    this.reconcile(entry.fileId);
  }

  forget(name: string): void {
    const previous = this.#entries.get(name);
    if (!this.#entries.delete(name) || !previous) return;
    this.reconcile(previous.fileId);
  }

  /** Drops a name without reconciling: for a caller deleting several copies that reconciles once after. */
  deleteEntry(name: string): void {
    this.#entries.delete(name);
  }

  /** Puts content on the unshared list; takes effect at the next reconcile of that fileId. */
  markUnshared(fileId: string): void {
    this.#unshared.add(fileId);
  }

  /** An explicit share: content the user had unshared is shared again. */
  reshare(fileId: string): void {
    if (this.#unshared.delete(fileId)) this.reconcile(fileId);
  }

  /** Brings the shared view of one content in line with the entries: shares, renames or unshares it. */
  reconcile(fileId: string): void {
    const names = this.namesOf(fileId);
    const current = this.#shared.get(fileId);
    const firstName = names[0];
    if (firstName !== undefined && !this.#unshared.has(fileId)) {
      // Same content under two names is one shared file, under the name indexed first.
      if (current?.diskName === firstName) return;
      const entry = this.#entries.get(firstName)!;
      const file: LocalFile = {
        fileId,
        name: sanitizeFileName(firstName),
        size: entry.size,
        chunkSize: this.#chunkSize,
        root: entry.root,
        hashCount: chunkCount(entry.size, this.#chunkSize),
      };
      this.#shared.set(fileId, { file, diskName: firstName });
      if (current === undefined) this.#hooks.added(file);
    } else if (current !== undefined) {
      this.#shared.delete(fileId);
      this.#hooks.removed(current.file);
    }
    if (firstName === undefined) {
      this.#unshared.delete(fileId); // nothing left on disk to keep unshared
      if (![...this.#saved.values()].some((e) => e.fileId === fileId)) this.#hooks.leavesUnused(fileId);
    }
    this.#hooks.changed();
  }

  /** After the start-up scan: the saved entries not seen on disk are gone, and so are their hashes. */
  forgetSavedCache(): void {
    const stale = new Set([...this.#saved.values()].map((e) => e.fileId));
    this.#saved.clear();
    for (const fileId of stale) if (this.namesOf(fileId).length === 0) this.reconcile(fileId);
    for (const fileId of [...this.#unshared]) if (this.namesOf(fileId).length === 0) this.#unshared.delete(fileId);
    this.#hooks.changed();
  }

  snapshot(): LibraryIndexFile {
    return makeLibraryIndex(this.#chunkSize, this.#entries, this.#unshared);
  }
}
