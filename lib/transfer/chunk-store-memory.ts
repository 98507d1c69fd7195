/** A ChunkStore in memory, for tests and small transfers. */
import { Bitfield } from './bitfield.ts';
import type { ChunkStore } from './chunk-store.ts';
import { ChunkStoreError, checkedRange, piecesForRange } from './chunk-store.ts';
import { chunkCount } from './manifest.ts';

export class MemoryChunkStore implements ChunkStore {
  readonly fileSize: number;
  readonly chunkSize: number;
  readonly chunkCount: number;
  private readonly held: Bitfield;
  private readonly data: Uint8Array;
  private closed = false;

  constructor(fileSize: number, chunkSize: number) {
    this.fileSize = fileSize;
    this.chunkSize = chunkSize;
    this.chunkCount = chunkCount(fileSize, chunkSize);
    this.held = new Bitfield(this.chunkCount);
    this.data = new Uint8Array(fileSize);
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

  async write(index: number, data: Uint8Array): Promise<void> {
    this.assertOpen();
    const range = checkedRange(this, index, data);
    if (this.held.get(index)) return;
    this.data.set(data, range.start);
    this.held.set(index);
  }

  async read(start: number, length: number): Promise<Uint8Array> {
    this.assertOpen();
    if (!this.hasRange(start, length))
      throw new ChunkStoreError('MISSING_DATA', `bytes ${start}+${length} not all held`);
    return this.data.slice(start, start + length);
  }

  /** The whole file (tests). */
  bytes(): Uint8Array {
    return this.data.slice();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChunkStoreError('STORE_CLOSED', 'chunk store is closed');
  }
}
