/**
 * Saving a file to disk without holding it twice in memory. With the File System Access API the
 * pieces are streamed into the chosen file a batch at a time; otherwise a Blob is assembled from the
 * pieces (a Blob's bytes live in the browser's blob storage, which spills to disk, not in the page's
 * heap; only one batch of pieces is in the heap at a time) and offered through a download link.
 */
import type { UseStore } from 'idb-keyval';
import { READ_BATCH_PIECES, readPieces } from './idb-pieces.browser.ts';
import { chunkCount } from '../transfer/manifest.ts';

export type SaveMethod = 'picker' | 'link';

/** Where a file's bytes are: a Blob (a shared, picked file) or pieces in a chunk database. */
export type SaveSource = { blob: Blob } | { pieces: UseStore; fileId: string; fileSize: number; chunkSize: number };

/** How long the object URL of a download link is kept: the browser has copied the file by then. */
const OBJECT_URL_LIFETIME_MS = 60_000;

interface WritableLike {
  write(data: Blob | Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
type SavePicker = (options: { suggestedName: string }) => Promise<{ createWritable(): Promise<WritableLike> }>;

/** The picker where the browser has one (Chromium on desktop), else a download link. */
export function defaultSaveMethod(): SaveMethod {
  return typeof (globalThis as { showSaveFilePicker?: unknown }).showSaveFilePicker === 'function' ? 'picker' : 'link';
}

async function* batches(source: SaveSource): AsyncGenerator<Blob | Uint8Array[]> {
  if ('blob' in source) {
    yield source.blob;
    return;
  }
  const count = chunkCount(source.fileSize, source.chunkSize);
  for (let first = 0; first < count; first += READ_BATCH_PIECES) {
    yield await readPieces(source.pieces, source.fileId, first, Math.min(READ_BATCH_PIECES, count - first), source.chunkSize);
  }
}

export async function saveFile(name: string, source: SaveSource, method: SaveMethod): Promise<void> {
  if (method === 'picker') {
    const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
    if (!picker) throw new Error('this browser cannot save through a file picker');
    const writable = await (await picker({ suggestedName: name })).createWritable();
    try {
      for await (const batch of batches(source)) {
        if (batch instanceof Blob) await writable.write(batch);
        else for (const piece of batch) await writable.write(piece);
      }
      await writable.close();
    } catch (err) {
      await writable.abort().catch(() => {});
      throw err;
    }
    return;
  }
  const parts: Blob[] = [];
  for await (const batch of batches(source)) {
    parts.push(batch instanceof Blob ? batch : new Blob(batch as BlobPart[]));
  }
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), OBJECT_URL_LIFETIME_MS);
}
