/**
 * A small cache of open read handles to shared files, so serving a file does not open, fstat,
 * realpath and close it for every request (that was 17 % of a seeder's time at 256 KiB requests).
 *
 * A handle is opened once through the full path checks of library-read.node.ts (O_NOFOLLOW, real
 * path inside shared_files, size and mtime as indexed). While cached, it is re-checked with one
 * fstat before a read whenever the last check is `recheckMs` old: same size and mtime as indexed,
 * and still linked (nlink > 0: a name deleted or renamed over leaves our inode unlinked). Reads in
 * between share the last check (one fstat per read was a tenth of a seeder's CPU at 1 MiB requests),
 * so a file deleted, renamed over or replaced is refused within `recheckMs`. Any doubt drops the
 * handle and the read goes through a fresh open, which fails the way an uncached read would. A handle
 * is also dropped when the library re-indexes or forgets its name, after `maxAgeMs` (so the path
 * checks run again at least that often), after `idleMs` unused, and least-recently-used first
 * beyond `maxOpen`.
 *
 * Why a reused descriptor is safe to serve from: the chunk server checks every piece against its
 * indexed hash before it leaves (chunk-server.ts #readVerified), so even a file rewritten in place
 * between our fstat and the read is never served as the indexed one.
 */
import type { FileHandle } from 'node:fs/promises';
import { setTimeout, clearTimeout } from 'node:timers';

/** Files kept open at once: a node serves few files at a time; each costs one descriptor. */
export const MAX_OPEN_SHARED_HANDLES = 16;
/** A handle unused this long is closed: a finished upload does not keep the file held. */
export const SHARED_HANDLE_IDLE_MS = 5_000;
/** A handle is re-opened (and the path checks re-run) at least this often. */
export const SHARED_HANDLE_MAX_AGE_MS = 1_000;
/** ... and re-checked with an fstat before a read when its last check is this old. */
export const SHARED_HANDLE_RECHECK_MS = 50;

export interface SharedHandleCacheOptions {
  /** Opens `diskName` with every path check; rejects with the LibraryError a read should fail with. */
  open(diskName: string): Promise<FileHandle>;
  /** True while an open handle is still the indexed file (see the module comment). */
  stillIndexed(diskName: string, handle: FileHandle): Promise<boolean>;
  now?: () => number;
  maxOpen?: number;
  idleMs?: number;
  maxAgeMs?: number;
  recheckMs?: number;
}

interface Slot {
  handle: Promise<FileHandle>;
  openedAt: number;
  /** The last check of the handle (the open's own checks, then the fstats), and when it started. */
  check: Promise<boolean> | null;
  checkedAt: number;
  users: number;
  dropped: boolean;
  idleTimer: NodeJS.Timeout | null;
}

export class SharedHandleCache {
  readonly #o: Required<Omit<SharedHandleCacheOptions, 'now'>> & { now: () => number };
  /** Insertion order is recency order: a slot is moved to the end each time it is used. */
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  constructor(options: SharedHandleCacheOptions) {
    this.#o = {
      now: Date.now,
      maxOpen: MAX_OPEN_SHARED_HANDLES,
      idleMs: SHARED_HANDLE_IDLE_MS,
      maxAgeMs: SHARED_HANDLE_MAX_AGE_MS,
      recheckMs: SHARED_HANDLE_RECHECK_MS,
      ...options,
    };
  }

  /** Handles currently open or opening (for tests and diagnostics). */
  get size(): number {
    return this.#slots.size;
  }

  /** Runs `read` with a checked handle of `diskName`; the handle stays open until `read` settles. */
  async use<T>(diskName: string, read: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (this.#closed) return this.#uncached(diskName, read);
    let slot = this.#acquire(diskName);
    let handle = await this.#settle(diskName, slot);
    if (!(await this.#recheck(diskName, slot, handle))) {
      this.#release(diskName, slot);
      if (this.#slots.get(diskName) === slot) this.drop(diskName); // not a newer one another read opened
      slot = this.#acquire(diskName);
      handle = await this.#settle(diskName, slot);
    }
    try {
      return await read(handle);
    } finally {
      this.#release(diskName, slot);
    }
  }

  /** Forgets the handle of `diskName` (closed once its reads finish). Safe for a name not cached. */
  drop(diskName: string): void {
    const slot = this.#slots.get(diskName);
    if (!slot) return;
    this.#slots.delete(diskName);
    slot.dropped = true;
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    if (slot.users === 0) closeQuietly(slot.handle);
  }

  /** Closes every handle; later reads open and close the file each time. Safe to call twice. */
  close(): void {
    this.#closed = true;
    for (const name of [...this.#slots.keys()]) this.drop(name);
  }

  #acquire(diskName: string): Slot {
    let slot = this.#slots.get(diskName);
    if (slot && this.#o.now() - slot.openedAt > this.#o.maxAgeMs) {
      this.drop(diskName);
      slot = undefined;
    }
    if (slot) {
      this.#slots.delete(diskName); // re-inserted below: most recently used last
    } else {
      const now = this.#o.now();
      slot = { handle: this.#o.open(diskName), openedAt: now, check: null, checkedAt: now, users: 0, dropped: false, idleTimer: null };
      slot.handle.catch(() => {}); // observed by the reader that awaits it
    }
    this.#slots.set(diskName, slot);
    slot.users++;
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    this.#evictBeyondLimit();
    return slot;
  }

  /**
   * Whether the handle still is the indexed file: a fresh open's own checks count until `recheckMs`
   * has passed, then one fstat, shared by the reads that start while it runs or until it is due again.
   */
  #recheck(diskName: string, slot: Slot, handle: FileHandle): Promise<boolean> {
    const now = this.#o.now();
    if (slot.check === null) {
      slot.check = Promise.resolve(true); // the handle just passed the open's full checks
    } else if (now - slot.checkedAt >= this.#o.recheckMs) {
      slot.checkedAt = now;
      slot.check = this.#o.stillIndexed(diskName, handle).catch(() => false);
    }
    return slot.check;
  }

  /** The slot's handle; a failed open is not cached, so the next read tries (and checks) again. */
  async #settle(diskName: string, slot: Slot): Promise<FileHandle> {
    try {
      return await slot.handle;
    } catch (err) {
      slot.users--;
      if (this.#slots.get(diskName) === slot) this.#slots.delete(diskName);
      slot.dropped = true;
      throw err;
    }
  }

  #release(diskName: string, slot: Slot): void {
    slot.users--;
    if (slot.users > 0) return;
    if (slot.dropped) return closeQuietly(slot.handle);
    slot.idleTimer = setTimeout(() => {
      if (this.#slots.get(diskName) === slot) this.drop(diskName);
    }, this.#o.idleMs).unref();
  }

  #evictBeyondLimit(): void {
    for (const [name] of this.#slots) {
      if (this.#slots.size <= this.#o.maxOpen) return;
      this.drop(name); // oldest first; one still in use closes when its reads finish
    }
  }

  async #uncached<T>(diskName: string, read: (handle: FileHandle) => Promise<T>): Promise<T> {
    const handle = await this.#o.open(diskName);
    try {
      return await read(handle);
    } finally {
      await handle.close();
    }
  }
}

function closeQuietly(handle: Promise<FileHandle>): void {
  handle.then((h) => h.close()).catch(() => {});
}
