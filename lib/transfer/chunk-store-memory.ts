/** A ChunkStore in memory, for tests and small transfers. */
import { Bitfield } from './bitfield.ts';
import { BitfieldChunkStore, ChunkStoreError, checkedRange } from './chunk-store.ts';
import { chunkCount } from './manifest.ts';

export class MemoryChunkStore extends BitfieldChunkStore {
  private readonly data: Uint8Array;
  private closed = false;

  constructor(fileSize: number, chunkSize: number) {
    super(fileSize, chunkSize, new Bitfield(chunkCount(fileSize, chunkSize)));
    this.data = new Uint8Array(fileSize);
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
