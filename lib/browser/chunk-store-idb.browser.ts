/**
 * The browser's chunk store: verified pieces in IndexedDB, written in batches (one transaction per
 * batch: NOTES-WEBRTC.md measured 13 MB/s one `set` at a time, ~32 MB/s with `setMany` of 64), with
 * the bitfield written in the same transaction as the pieces it marks. A piece's bit is set only once
 * its transaction committed, so after a reload (or a crash) the bitfield never claims a piece that is
 * not there, and the download resumes with what was stored.
 *
 * The whole-file SHA-256 for finalize runs while the download does (running-file-id.browser.ts): each
 * time the committed run from piece 0 grows, the store sends it on, with the bytes of the batch just
 * committed; finalize only finishes that hash, which reads back whatever it did not get.
 */
import { get, promisifyRequest } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import { bitfieldKey, deleteFilePieces, putRun, readPieces, runPieces } from './idb-pieces.browser.ts';
import type { StoredBitfield } from './idb-pieces.browser.ts';
import { Bitfield } from '../transfer/bitfield.ts';
import { BitfieldChunkStore, ChunkStoreError, checkedRange, piecesForRange } from '../transfer/chunk-store.ts';
import type { DownloadStore } from '../transfer/download-deps.ts';
import { isSha256Hex } from '../transfer/hasher.ts';
import { chunkCount } from '../transfer/manifest.ts';
import type { RunningFileIdJob, RunningFileIdResult } from './running-file-id.browser.ts';

/** Pieces per transaction (64 KiB pieces: 4 MiB), the batch size NOTES-WEBRTC.md measured. */
export const WRITE_BATCH_PIECES = 64;
/**
 * A batch that does not fill up is written this long after its first piece: long enough for a batch
 * to fill at a tab's download rate (4 MiB take ~160 ms at 25 MB/s), because each transaction costs
 * Chromium more than its bytes. With 30 ms, a 256 MiB download made ~250 transactions of ~1 MiB
 * instead of 65 and used ~1 s more CPU (bench/README.md, "browser write batches"). A slow link is not
 * held back: the download asks for more while pieces wait (MAX_PENDING_WRITE_BYTES), and finalize
 * writes what is pending at once.
 */
export const WRITE_BATCH_DELAY_MS = 150;
/**
 * Running-hash steps waiting in the hashing worker beyond which the next steps go without their
 * bytes (the worker reads those pieces back when it gets to them): a worker that falls behind the
 * download then holds at most this many batches of pieces, not the file.
 */
export const RUNNING_HASH_STEPS_WITH_BYTES = 4;

export interface IdbChunkStoreOptions {
  store: UseStore;
  fileId: string;
  fileSize: number;
  chunkSize: number;
  /**
   * A step of the running whole-file hash (done off the page by the hashing worker; `transfer` are
   * the given pieces' buffers, which the store no longer needs).
   */
  runningHash(step: RunningHashStep, transfer: ArrayBuffer[]): Promise<RunningFileIdResult>;
}

/** A running-hash job without its database and file (the caller knows them). */
export type RunningHashStep = Omit<RunningFileIdJob, 'kind' | 'dbName' | 'fileId'>;

/** Makes each store's running hash a new one (see running-file-id.browser.ts). */
let runningHashKeys = 0;

/** True for the DOMException a browser throws when a write would exceed the origin's storage quota. */
export function isQuotaError(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'QuotaExceededError' || err.code === 22);
}

/** Opens the stored pieces of `fileId`, resuming the bitfield saved with them (if cut in the same geometry). */
export async function openIdbChunkStore(options: IdbChunkStoreOptions): Promise<IdbChunkStore> {
  if (!isSha256Hex(options.fileId)) throw new ChunkStoreError('BAD_FILE_ID', 'fileId is not a sha256 hex string');
  const count = chunkCount(options.fileSize, options.chunkSize);
  const saved = await get<StoredBitfield>(bitfieldKey(options.fileId), options.store);
  const matches = saved && saved.fileSize === options.fileSize && saved.chunkSize === options.chunkSize;
  const held = matches ? Bitfield.fromBytes(saved.bits, count) : new Bitfield(count);
  if (saved && !matches) await deleteFilePieces(options.store, options.fileId);
  return new IdbChunkStore(options, held);
}

interface PendingPiece {
  index: number;
  data: Uint8Array;
  done: { resolve: () => void; reject: (err: Error) => void };
}

export class IdbChunkStore extends BitfieldChunkStore implements DownloadStore {
  readonly writesInBatches = true;
  readonly fileId: string;
  readonly #o: IdbChunkStoreOptions;
  #batch: PendingPiece[] = [];
  #queued = new Map<number, Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Batches are written one after another, so each batch's bitfield includes every earlier one. */
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #hashKey = `${++runningHashKeys}:${Date.now()}`;
  /** Pieces [0, #hashFed) are sent to the running hash. */
  #hashFed = 0;
  /** Running-hash steps sent and not answered yet. */
  #hashSteps = 0;

  constructor(options: IdbChunkStoreOptions, held: Bitfield) {
    super(options.fileSize, options.chunkSize, held);
    this.fileId = options.fileId;
    this.#o = options;
  }

  write(index: number, data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new ChunkStoreError('STORE_CLOSED', 'chunk store is closed'));
    checkedRange(this, index, data);
    if (this.held.get(index)) return Promise.resolve();
    const queued = this.#queued.get(index);
    if (queued) return queued;
    const written = new Promise<void>((resolve, reject) => {
      // No copy here: `data` (often a view into a received frame, which the download keeps until this
      // write settles) is copied once, into the run record it is stored in (putRun).
      this.#batch.push({ index, data, done: { resolve, reject } });
    });
    this.#queued.set(index, written);
    if (this.#batch.length >= WRITE_BATCH_PIECES) this.#flushBatch();
    else this.#timer ??= setTimeout(() => this.#flushBatch(), WRITE_BATCH_DELAY_MS);
    return written;
  }

  async read(start: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new ChunkStoreError('STORE_CLOSED', 'chunk store is closed');
    if (!this.hasRange(start, length)) throw new ChunkStoreError('MISSING_DATA', `bytes ${start}+${length} not all held`);
    const range = piecesForRange(this, start, length);
    if (!range) return new Uint8Array(0);
    const pieces = await readPieces(this.#o.store, this.fileId, range.first, range.last - range.first + 1, this.chunkSize);
    const out = new Uint8Array(length);
    let pieceStart = range.first * this.chunkSize;
    for (const piece of pieces) {
      const from = Math.max(start, pieceStart);
      const to = Math.min(start + length, pieceStart + piece.length);
      if (to > from) out.set(piece.subarray(from - pieceStart, to - pieceStart), from - start);
      pieceStart += this.chunkSize;
    }
    return out;
  }

  /** Writes what is pending; the stored pieces stay for a resume or for saving. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushBatch();
    await this.#writing;
    this.#closed = true;
    this.#dropRunningHash();
  }

  async discard(): Promise<void> {
    this.#flushBatch();
    await this.#writing;
    this.#closed = true;
    this.#dropRunningHash();
    await deleteFilePieces(this.#o.store, this.fileId);
  }

  /**
   * Checks the stored pieces against the file id. The finished file stays where it is (the tab's
   * IndexedDB): the returned "destination" names it, and the library serves and saves it from there.
   */
  async finalize(_wantedName: string): Promise<string> {
    this.#flushBatch();
    await this.#writing;
    if (!this.complete) throw new ChunkStoreError('INCOMPLETE', `${this.chunkCount - this.count} pieces missing`);
    const { fileId: digest } = await this.#o.runningHash(
      { key: this.#hashKey, pieceBytes: this.chunkSize, upTo: this.chunkCount, first: this.#hashFed, pieces: [], end: 'digest' },
      [],
    );
    this.#hashFed = this.chunkCount;
    if (digest !== this.fileId) throw new ChunkStoreError('HASH_MISMATCH', `SHA-256 of the stored pieces is ${digest}`);
    return `indexeddb:${this.fileId}`;
  }

  #flushBatch(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#writing = this.#writing.then(() => this.#writeBatch(batch));
  }

  async #writeBatch(batch: PendingPiece[]): Promise<void> {
    const bits = Bitfield.fromBytes(this.held.toBytes(), this.chunkCount);
    for (const piece of batch) bits.set(piece.index);
    const record: StoredBitfield = { fileSize: this.fileSize, chunkSize: this.chunkSize, bits: bits.toBytes() };
    const stored = new Map<number, Uint8Array>();
    try {
      await this.#o.store('readwrite', (s) => {
        for (const run of consecutiveRuns(batch, runPieces(this.chunkSize))) {
          const bytes = putRun(s, this.fileId, run[0]!.index, run.map((piece) => piece.data));
          let at = 0;
          for (const piece of run) {
            stored.set(piece.index, bytes.subarray(at, at + piece.data.length));
            at += piece.data.length;
          }
        }
        s.put(record, bitfieldKey(this.fileId));
        return promisifyRequest(s.transaction);
      });
    } catch (cause) {
      const err = isQuotaError(cause)
        ? new ChunkStoreError('DISK_FULL', 'the browser storage quota is reached', { cause })
        : new ChunkStoreError('BAD_CHUNK', `could not store pieces: ${(cause as Error).message}`, { cause });
      for (const piece of batch) {
        this.#queued.delete(piece.index);
        piece.done.reject(err);
      }
      return;
    }
    for (const piece of batch) {
      this.held.set(piece.index);
      this.#queued.delete(piece.index);
      piece.done.resolve();
    }
    this.#feedRunningHash(stored);
  }

  /**
   * Sends the running hash the committed pieces that now follow what it was sent, with the bytes of
   * this batch (`stored`: each piece's bytes, views into the run records as stored).
   */
  #feedRunningHash(stored: Map<number, Uint8Array>): void {
    const first = this.#hashFed;
    let upTo = first;
    while (upTo < this.chunkCount && this.held.get(upTo)) upTo++;
    if (upTo === first) return;
    const withBytes = this.#hashSteps < RUNNING_HASH_STEPS_WITH_BYTES;
    const pieces = Array.from({ length: upTo - first }, (_, i) => (withBytes ? stored.get(first + i) : undefined) ?? null);
    // Pieces of one run share its buffer, which may be listed for transfer only once.
    const transfer = [...new Set(pieces.flatMap((piece) => (piece ? [piece.buffer as ArrayBuffer] : [])))];
    this.#hashFed = upTo;
    this.#hashSteps++;
    // A failed step is retried by the next one (the hash reads what it misses); finalize reports failures.
    this.#o
      .runningHash({ key: this.#hashKey, pieceBytes: this.chunkSize, upTo, first, pieces }, transfer)
      .catch(() => {})
      .finally(() => this.#hashSteps--);
  }

  #dropRunningHash(): void {
    if (this.#hashFed > 0) this.#o.runningHash({ key: this.#hashKey, pieceBytes: this.chunkSize, upTo: 0, first: 0, pieces: [], end: 'drop' }, []).catch(() => {});
  }
}

/** The batch's pieces sorted, cut into runs of consecutive pieces of at most `max` pieces each. */
function consecutiveRuns(batch: PendingPiece[], max: number): PendingPiece[][] {
  const runs: PendingPiece[][] = [];
  for (const piece of [...batch].sort((a, b) => a.index - b.index)) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (run && last && last.index + 1 === piece.index && run.length < max) run.push(piece);
    else runs.push([piece]);
  }
  return runs;
}
