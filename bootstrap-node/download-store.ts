import type { DownloadStore } from '../lib/transfer/download-deps.ts';
import type { FsChunkStore } from '../lib/transfer/chunk-store-fs.node.ts';

/**
 * A partial file under <dir>/.partial/ that finishes into `finishDir`: the node's shared_files/, or
 * <dir>/downloads/ with --no-reshare.
 */
export class FinishingDownloadStore implements DownloadStore {
  constructor(
    private readonly store: FsChunkStore,
    private readonly finishDir: string,
  ) {}

  get fileSize() {
    return this.store.fileSize;
  }
  get chunkSize() {
    return this.store.chunkSize;
  }
  get chunkCount() {
    return this.store.chunkCount;
  }
  get count() {
    return this.store.count;
  }
  get complete() {
    return this.store.complete;
  }
  has(index: number) {
    return this.store.has(index);
  }
  hasRange(start: number, length: number) {
    return this.store.hasRange(start, length);
  }
  bitfield() {
    return this.store.bitfield();
  }
  write(index: number, data: Uint8Array) {
    return this.store.write(index, data);
  }
  read(start: number, length: number) {
    return this.store.read(start, length);
  }
  close() {
    return this.store.close();
  }
  discard() {
    return this.store.discard();
  }
  finalize(wantedName: string) {
    return this.store.finalize(this.finishDir, wantedName);
  }
}
