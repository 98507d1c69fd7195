/**
 * ChunkStore on disk: `<dataDir>/.partial/<file_id>.part` written with positional writes through one
 * open descriptor, and `<file_id>.bitfield` beside it recording which pieces are durable.
 *
 * Crash order (SIGKILL or power loss): a bit is persisted only for data already fsync'd. A flush
 * snapshots the in-memory bitfield (whose bits are set only after their pwrite returned), fdatasyncs
 * the partial file, then writes the snapshot to a temporary file, fsyncs it and renames it over the
 * `.bitfield` file (bitfield-file.node.ts), so the file on disk is always a whole, older-or-equal view. Flushes are batched
 * (every FLUSH_EVERY_BYTES written or FLUSH_INTERVAL_MS, and on close) and run beside the writes: a
 * crash loses at most the batch being flushed and the one written meanwhile (writes wait when the
 * disk falls further behind), and those pieces are simply fetched again.
 */
import { constants as fsConstants } from 'node:fs';
import { link, lstat, mkdir, open, rename, rm, statfs, unlink, copyFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout, clearTimeout } from 'node:timers';
import { Bitfield } from './bitfield.ts';
import { loadBitfieldFile, writeBitfieldFile } from './bitfield-file.node.ts';
import { BitfieldChunkStore, ChunkStoreError, checkedRange } from './chunk-store.ts';
import { isSha256Hex } from './hasher.ts';
import { chunkCount } from './manifest.ts';
import { dropCachedPages } from './page-cache.node.ts';
import { RunningFileHash } from './running-file-hash.node.ts';
import { uniqueSafeName } from './safe-name.ts';
import { SerialWriter } from './serial-writer.node.ts';

/** Directory under dataDir holding partial downloads. */
export const PARTIAL_DIR = '.partial';
/**
 * Persist the bitfield after this many bytes of new pieces: bounds what a crash makes us refetch
 * (under a second of a fast link). Each flush fdatasyncs the growing partial file and rewrites,
 * fsyncs and renames the bitfield file, i.e. forces journal commits: at 16 MiB / 100 ms (ten and
 * more a second on a fast link) the same writes ran at about half the rate (bench/README.md, 2026-12-03).
 */
export const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * ... or this long after the first unpersisted piece, whichever comes first: on a slow or capped
 * link 64 MiB takes long to arrive, and everything unpersisted is fetched twice after a crash.
 */
export const FLUSH_INTERVAL_MS = 250;
/**
 * After each flush, the file's durable and hashed bytes further than this behind the hashed end
 * leave the page cache (page-cache.node.ts says why); the most recent ones stay, since peers of a
 * swarm ask for what was just announced. Downloads smaller than this are never dropped.
 */
export const CACHED_BEHIND_BYTES = 64 * 1024 * 1024;
/** Free space kept beyond the file itself, so a download never fills the disk to the last byte. */
export const FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

export interface FsChunkStoreOptions {
  dataDir: string;
  /** sha256 hex of the whole file; names the partial file and is checked at finalize. */
  fileId: string;
  fileSize: number;
  /** Piece size in bytes. */
  chunkSize: number;
  flushEveryBytes?: number;
  flushIntervalMs?: number;
  cachedBehindBytes?: number;
  freeSpaceMarginBytes?: number;
}

/** Opens (or resumes) the partial download of `fileId`. Throws DISK_FULL when the rest will not fit. */
export async function openFsChunkStore(options: FsChunkStoreOptions): Promise<FsChunkStore> {
  if (!isSha256Hex(options.fileId))
    throw new ChunkStoreError('BAD_FILE_ID', 'fileId is not a sha256 hex string');
  const dir = join(options.dataDir, PARTIAL_DIR);
  await mkdir(dir, { recursive: true });
  const partPath = join(dir, `${options.fileId}.part`);
  const bitfieldPath = join(dir, `${options.fileId}.bitfield`);
  const count = chunkCount(options.fileSize, options.chunkSize);

  let fd = await open(partPath, 'r+').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  try {
    // Check the space before allocating anything sized by the file.
    const resumed =
      fd === null ? null : await loadBitfieldFile(bitfieldPath, options, count, (await fd.stat()).size);
    const missingBytes = Math.max(0, options.fileSize - (resumed?.count ?? 0) * options.chunkSize);
    await assertFreeSpace(dir, missingBytes + (options.freeSpaceMarginBytes ?? FREE_SPACE_MARGIN_BYTES));
    fd ??= await open(partPath, 'w+');
    return new FsChunkStore(options, partPath, bitfieldPath, fd, resumed ?? new Bitfield(count));
  } catch (err) {
    await fd?.close();
    throw err;
  }
}

async function assertFreeSpace(dir: string, neededBytes: number): Promise<void> {
  const fs = await statfs(dir);
  const freeBytes = fs.bavail * fs.bsize;
  if (freeBytes < neededBytes) {
    throw new ChunkStoreError('DISK_FULL', `need ${neededBytes} bytes free in ${dir}, have ${freeBytes}`);
  }
}

export class FsChunkStore extends BitfieldChunkStore {
  readonly fileId: string;
  readonly partialPath: string;
  private readonly bitfieldPath: string;
  private readonly flushEveryBytes: number;
  private readonly flushIntervalMs: number;
  private readonly cachedBehindBytes: number;
  /** Bytes [0, droppedBytes) of the file were dropped from the page cache (dropBehind). */
  private droppedBytes = 0;
  private fd: FileHandle;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;
  private finalizing = false;
  /** Pieces set in memory since the last flush (bytes bound the batch; the flag catches empty pieces). */
  private unflushedBytes = 0;
  private dirty = false;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Flushes run one after another so snapshots reach disk in order. */
  private flushChain: Promise<void> = Promise.resolve();
  /** The flush queued behind the running one and not started yet (see flush). */
  private queuedFlush: Promise<void> | null = null;
  private persisting = false;
  /** The failure of a flush that no write waited for, reported by the next write. */
  private flushFailure: unknown = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Piece writes, one system call at a time (serial-writer.node.ts says why). */
  private readonly writer: SerialWriter;
  /** The whole-file SHA-256, fed as pieces are written and checked at finalize. */
  private readonly fileHash: RunningFileHash;

  constructor(
    options: FsChunkStoreOptions,
    partialPath: string,
    bitfieldPath: string,
    fd: FileHandle,
    held: Bitfield,
  ) {
    super(options.fileSize, options.chunkSize, held);
    this.fileId = options.fileId;
    this.partialPath = partialPath;
    this.bitfieldPath = bitfieldPath;
    this.fd = fd;
    this.writer = new SerialWriter(fd);
    this.flushEveryBytes = options.flushEveryBytes ?? FLUSH_EVERY_BYTES;
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.cachedBehindBytes = options.cachedBehindBytes ?? CACHED_BEHIND_BYTES;
    this.fileHash = new RunningFileHash({
      fileSize: this.fileSize,
      chunkSize: this.chunkSize,
      chunkCount: this.chunkCount,
      isWritten: (index) => this.held.get(index),
      readInto: (into, start) => this.readFully(into, start),
    });
  }

  write(index: number, data: Uint8Array): Promise<void> {
    return this.track(async () => {
      const range = checkedRange(this, index, data);
      const failure = this.flushFailure; // a batch flushed in the background failed: say so now
      this.flushFailure = null;
      if (failure !== null) throw failure;
      if (this.held.get(index)) return;
      await this.writer.write(data, range.start);
      this.held.set(index);
      this.fileHash.written(index, data);
      this.unflushedBytes += data.length;
      this.dirty = true;
      if (this.unflushedBytes < this.flushEveryBytes)
        this.flushTimer ??= setTimeout(() => void this.flush().catch(() => {}), this.flushIntervalMs).unref();
      // A batch is full. The write waits for the flush only while the disk is a whole batch behind
      // (the previous flush still running): waiting on every fdatasync stalled the transfer each
      // FLUSH_EVERY_BYTES for as long as the disk took to write the batch out.
      else if (this.persisting) await this.flush();
      else void this.flush().catch((err: unknown) => void (this.flushFailure ??= err));
    });
  }

  read(start: number, length: number): Promise<Uint8Array> {
    return this.track(async () => {
      if (!this.hasRange(start, length))
        throw new ChunkStoreError('MISSING_DATA', `bytes ${start}+${length} not all held`);
      const out = new Uint8Array(length);
      await this.readFully(out, start);
      return out;
    });
  }

  private async readFully(into: Uint8Array, start: number): Promise<void> {
    for (let done = 0; done < into.length;) {
      const { bytesRead } = await this.fd.read(into, done, into.length - done, start + done);
      if (bytesRead === 0)
        throw new ChunkStoreError('MISSING_DATA', `partial file ends before byte ${start + done}`);
      done += bytesRead;
    }
  }

  /**
   * Makes every piece written so far durable and records it in the bitfield file. A flush that has
   * not started yet is shared: it will snapshot everything written until it starts.
   */
  flush(): Promise<void> {
    if (this.queuedFlush) return this.queuedFlush;
    const run = this.flushChain.then(() => {
      this.queuedFlush = null;
      return this.persist();
    });
    this.queuedFlush = run;
    this.flushChain = run.catch(() => {});
    return run;
  }

  /**
   * Checks the assembled file against file_id, then moves it into `destDir` under a sanitised,
   * unused name, atomically (hard link + unlink, which never overwrites; rename where links are
   * unsupported). Returns the final path. The store is closed afterwards. On HASH_MISMATCH the
   * partial file stays; call discard() to start over.
   */
  async finalize(destDir: string, wantedName: string): Promise<string> {
    this.assertOpen();
    if (this.finalizing) throw new ChunkStoreError('STORE_CLOSED', 'finalize is already running');
    if (!this.held.complete)
      throw new ChunkStoreError('INCOMPLETE', `${this.count}/${this.chunkCount} pieces held`);
    this.finalizing = true;
    try {
      await Promise.allSettled(this.inFlight);
      await this.fd.datasync();
      const actual = await this.fileHash.digest();
      if (actual !== this.fileId) {
        throw new ChunkStoreError(
          'HASH_MISMATCH',
          `assembled file hashes to ${actual}, expected ${this.fileId}`,
        );
      }
    } catch (err) {
      this.finalizing = false;
      throw err;
    }
    await this.shutDown(false);
    await mkdir(destDir, { recursive: true });
    const finalPath = await moveWithoutOverwrite(this.partialPath, destDir, wantedName);
    await syncDirectory(destDir);
    await rm(this.bitfieldPath, { force: true });
    return finalPath;
  }

  /** Deletes the partial file and its bitfield (after a failed whole-file check, or a cancel). */
  async discard(): Promise<void> {
    await this.shutDown(false);
    await rm(this.partialPath, { force: true });
    await rm(this.bitfieldPath, { force: true });
  }

  /** Persists the bitfield and closes the descriptor. Safe to call twice. */
  close(): Promise<void> {
    return this.shutDown(true);
  }

  private shutDown(persist: boolean): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      await Promise.allSettled(this.inFlight);
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      // A flush its timer already started is not in `inFlight`: let it end before the descriptor
      // closes, and before discard() deletes the bitfield file it may still be writing.
      await this.flushChain;
      try {
        if (persist) await this.flush();
      } finally {
        this.state = 'closed';
        await this.fd.close();
      }
    })();
    return this.closing;
  }

  private async persist(): Promise<void> {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.dirty || this.state === 'closed') return;
    const snapshot = this.held.toBytes(); // only bits whose pwrite has returned
    const hashedBytes = Math.min(this.fileSize, this.fileHash.hashedPieces * this.chunkSize); // hashed pieces were written
    this.unflushedBytes = 0;
    this.dirty = false;
    this.persisting = true;
    try {
      await this.fd.datasync(); // ... so this makes every bit in the snapshot true on disk
      await writeBitfieldFile(this.bitfieldPath, this, snapshot);
      await this.dropBehind(hashedBytes);
    } catch (err) {
      this.dirty = true; // try again at the next flush
      throw err;
    } finally {
      this.persisting = false;
    }
  }

  /**
   * Drops from the page cache what the running hash is done with, up to CACHED_BEHIND_BYTES before
   * `hashedBytes` (which were written before the fdatasync just done, so their pages are clean).
   * Nothing reads them back but a peer asking for an old piece, which then reads the disk.
   */
  private async dropBehind(hashedBytes: number): Promise<void> {
    const end = hashedBytes - this.cachedBehindBytes;
    if (end <= this.droppedBytes) return;
    // Advice only: pages it fails to drop stay cached, and the file is the same either way.
    await dropCachedPages(this.fd.fd, this.droppedBytes, end - this.droppedBytes).catch(() => false);
    this.droppedBytes = end;
  }

  /** Runs an operation while open, and lets close() wait for it. */
  private track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.state !== 'open')
      return Promise.reject(new ChunkStoreError('STORE_CLOSED', 'chunk store is closed'));
    const run = operation().catch((err: unknown) => {
      throw asStoreError(err, this.partialPath);
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run)).catch(() => {});
    return run;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ChunkStoreError('STORE_CLOSED', 'chunk store is closed');
  }
}

/** Moves `from` into `dir` under a free sanitised name without ever replacing an existing file. */
async function moveWithoutOverwrite(from: string, dir: string, wantedName: string): Promise<string> {
  const exists = (path: string) =>
    lstat(path).then(
      () => true,
      () => false,
    );
  for (;;) {
    const target = join(dir, await uniqueSafeName(dir, wantedName, exists));
    try {
      await link(from, target); // fails with EEXIST instead of overwriting
      await unlink(from);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // someone took the name since we looked: pick the next one
      if (code === 'EXDEV') {
        await copyFile(from, target, fsConstants.COPYFILE_EXCL);
        await unlink(from);
        return target;
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
      await rename(from, target); // filesystem without hard links: small race accepted
      return target;
    }
  }
}

/** fsync a directory so a rename in it survives power loss; not supported everywhere (Windows). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (handle === null) return;
  await handle.sync().catch(() => {});
  await handle.close();
}

function asStoreError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const what = code === 'ENOSPC' ? 'no space left on the device' : 'the disk quota is used up';
    return new ChunkStoreError('DISK_FULL', `${what} (${code}) writing ${path}; the partial file is kept`, { cause: err });
  }
  return err;
}
