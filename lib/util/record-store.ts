/**
 * Persistence adapters. The peer core saves through these small interfaces so that a Node process
 * can keep JSON files while a browser tab plugs in IndexedDB, and tests use memory.
 *
 * - RecordStore<T>: one value, replaced as a whole on each save (peer registry, settings).
 * - AppendLog<R>: records only ever appended, replayed in order on load (chat history).
 * - SaveCoalescer<T>: turns a burst of changes into one save, and flushes on shutdown.
 */
import { realTimers, type TimerHandle, type Timers } from './timers.ts';

export interface RecordStore<T> {
  /** The saved value, or undefined if nothing has been saved yet. */
  load(): Promise<T | undefined>;
  save(value: T): Promise<void>;
}

export interface AppendLog<R> {
  append(record: R): Promise<void>;
  /** Every record appended so far, oldest first. */
  readAll(): Promise<R[]>;
}

/** For tests and for peers that keep nothing across restarts. Stores a structured clone, as a real store would. */
export class MemoryRecordStore<T> implements RecordStore<T> {
  #value: T | undefined;
  saves = 0;

  async load(): Promise<T | undefined> {
    return this.#value === undefined ? undefined : structuredClone(this.#value);
  }

  async save(value: T): Promise<void> {
    this.#value = structuredClone(value);
    this.saves++;
  }
}

export class MemoryAppendLog<R> implements AppendLog<R> {
  #records: R[] = [];

  async append(record: R): Promise<void> {
    this.#records.push(structuredClone(record));
  }

  async readAll(): Promise<R[]> {
    return structuredClone(this.#records);
  }
}

/** Long enough to fold a burst of changes (a peer-exchange batch, a reconnect storm) into one write. */
export const DEFAULT_SAVE_DELAY_MS = 250;

export interface SaveCoalescerOptions {
  delayMs?: number;
  timers?: Timers;
  /** Where failures of background saves go (a save from `flush()` rejects to its caller instead). */
  onError?: (err: unknown) => void;
}

/**
 * Coalesces saves: `scheduleSave()` marks the state dirty and writes `snapshot()` once, `delayMs`
 * later, however many times it was called meanwhile. Saves never overlap; a change made while one
 * is running is written by a follow-up save. The snapshot is taken at write time, so the newest
 * state is what lands. Call `flush()` on shutdown: real timers are unref'd, so a pending delayed
 * save does not by itself keep a Node process alive.
 */
export class SaveCoalescer<T> {
  readonly #store: RecordStore<T>;
  readonly #snapshot: () => T;
  readonly #delayMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #timers: Timers;
  #timer: TimerHandle | undefined;
  #dirty = false;
  #writing: Promise<void> | null = null;

  constructor(store: RecordStore<T>, snapshot: () => T, options: SaveCoalescerOptions = {}) {
    this.#store = store;
    this.#snapshot = snapshot;
    this.#delayMs = options.delayMs ?? DEFAULT_SAVE_DELAY_MS;
    this.#timers = options.timers ?? realTimers;
    this.#onError = options.onError ?? (() => {});
  }

  get pending(): boolean {
    return this.#dirty || this.#writing !== null;
  }

  scheduleSave(): void {
    this.#dirty = true;
    // A running write loop picks the change up itself; otherwise start the delay once.
    if (this.#timer !== undefined || this.#writing) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#write().catch(this.#onError);
    }, this.#delayMs);
  }

  /** Marks the state changed and writes it now, without the delay; resolves once it is on disk. */
  saveNow(): Promise<void> {
    this.#dirty = true;
    return this.flush();
  }

  /** Writes any pending change now and resolves when everything scheduled so far is on disk. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#dirty || this.#writing) await this.#write();
  }

  #write(): Promise<void> {
    // The loop below must reach an `await` before its `finally` runs, or `#writing` would be set
    // after being cleared; with nothing dirty there is nothing to start anyway.
    if (!this.#dirty && !this.#writing) return Promise.resolve();
    this.#writing ??= (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          try {
            await this.#store.save(this.#snapshot());
          } catch (err) {
            this.#dirty = true; // not saved: a later scheduleSave or flush tries again
            throw err;
          }
        }
      } finally {
        this.#writing = null;
      }
    })();
    return this.#writing;
  }
}
