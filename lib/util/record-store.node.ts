/** RecordStore backed by one JSON file, replaced atomically on each save. */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './json-file.node.ts';
import type { RecordStore } from './record-store.ts';

export class JsonFileStore<T> implements RecordStore<T> {
  readonly path: string;
  readonly #mode: number | undefined;

  /** `mode` (e.g. 0o600) for files that hold anything private; default 0o644. */
  constructor(path: string, mode?: number) {
    this.path = path;
    this.#mode = mode;
  }

  load(): Promise<T | undefined> {
    return readJsonFile<T>(this.path);
  }

  async save(value: T): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeJsonAtomic(this.path, value, this.#mode);
  }
}
