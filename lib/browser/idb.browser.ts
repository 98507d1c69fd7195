/**
 * IndexedDB through idb-keyval's custom stores, and the persistence adapters of lib/util/record-store.ts
 * over them. idb-keyval opens one database per (name, store) pair and creates its one object store
 * on first open, so every purpose gets its own database name (see `tabDbName`).
 */
import { createStore, del, entries, get, set } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import type { AppendLog, RecordStore } from '../util/record-store.ts';

export type { UseStore } from 'idb-keyval';

/** The one object store inside each of our databases. */
const STORE_NAME = 'kv';

/** Everything a tab keeps lives in databases named after its slot, so two tabs never share state. */
export function tabDbName(slot: number, purpose: string): string {
  return `swarmdrop-tab${slot}-${purpose}`;
}

export function openIdbStore(dbName: string): UseStore {
  return createStore(dbName, STORE_NAME);
}

/** One value under one key, replaced as a whole on each save. */
export class IdbRecordStore<T> implements RecordStore<T> {
  constructor(
    private readonly store: UseStore,
    private readonly key: string,
  ) {}

  load(): Promise<T | undefined> {
    return get<T>(this.key, this.store);
  }

  save(value: T): Promise<void> {
    return set(this.key, value, this.store);
  }

  clear(): Promise<void> {
    return del(this.key, this.store);
  }
}

/** Records under increasing numeric keys; IndexedDB returns them in key order, i.e. oldest first. */
export class IdbAppendLog<R> implements AppendLog<R> {
  #next: number | null = null;
  #nextReady: Promise<number> | null = null;

  constructor(private readonly store: UseStore) {}

  async append(record: R): Promise<void> {
    const key = await this.#take();
    await set(key, record, this.store);
  }

  async readAll(): Promise<R[]> {
    const all = await entries<number, R>(this.store);
    return all.filter(([key]) => typeof key === 'number').map(([, value]) => value);
  }

  /** The next free key: one past the largest stored, read once, then counted here. */
  async #take(): Promise<number> {
    if (this.#next === null) {
      this.#nextReady ??= (async () => {
        const all = await entries<number, unknown>(this.store);
        return all.reduce((max, [key]) => (typeof key === 'number' && key >= max ? key + 1 : max), 0);
      })();
      const start = await this.#nextReady;
      this.#next ??= start;
    }
    return this.#next++;
  }
}
