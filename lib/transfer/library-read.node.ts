/**
 * The library's read path: bytes of a shared file and its piece hashes, handed out only while what
 * is on disk is still what was indexed.
 *
 * A shared file is opened with O_NOFOLLOW and its real path re-checked, so a name swapped for a
 * symlink (or moved out of shared_files) after indexing is refused; its size and mtime must still be
 * the ones it was hashed with, or the read fails with CHANGED_ON_DISK and the caller re-indexes it.
 * Open handles are kept for a while by library-handles.node.ts, re-checked with an fstat every 50 ms of use.
 */
import { constants as fsConstants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HASH_BYTES } from './hasher.ts';
import type { DiskEntry } from './library-index.node.ts';
import type { LocalFile } from './library.ts';
import { LibraryError } from './library.ts';

/** O_NOFOLLOW does not exist on Windows; there the realpath check below is the only guard. */
const OPEN_NO_FOLLOW = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

export interface SharedFileCheck {
  /** shared_files, and its real path (symlinks resolved) that the file's real path must sit in. */
  sharedDir: string;
  realSharedDir: string;
  /** The file's name on disk (its shared name is sanitised and may differ). */
  diskName: string;
  /** The index entry of `diskName`, looked up once the file is open: its size and mtime must still match. */
  indexed: () => DiskEntry | undefined;
  /** Told when the file is gone or changed since it was hashed, so the caller can re-index it. */
  onChanged: () => void;
}

/**
 * Opens a shared file for reading, refusing a name that is a symlink now (O_NOFOLLOW), whose real
 * path left shared_files, or whose size or mtime are no longer the indexed ones.
 */
export async function openSharedFile(args: SharedFileCheck): Promise<FileHandle> {
  const { diskName } = args;
  const path = join(args.sharedDir, diskName);
  const handle = await open(path, OPEN_NO_FOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP')
      throw new LibraryError('UNSAFE_PATH', `${diskName} is a symlink now; not served`);
    args.onChanged();
    throw new LibraryError('CHANGED_ON_DISK', `${diskName} cannot be opened: ${err.message}`, { cause: err });
  });
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || dirname(await realpath(path)) !== args.realSharedDir) {
      throw new LibraryError(
        'UNSAFE_PATH',
        `${diskName} is no longer a plain file inside shared_files; not served`,
      );
    }
    if (!matchesIndex(stats, args.indexed())) {
      args.onChanged();
      throw new LibraryError('CHANGED_ON_DISK', `${diskName} changed since it was hashed`);
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The cheap re-check of a handle kept open (library-handles.node.ts): one fstat. Still a plain file of
 * the indexed size and mtime, and still linked: a name deleted or renamed over unlinks our inode.
 */
export async function handleStillIndexed(handle: FileHandle, args: Pick<SharedFileCheck, 'indexed'>): Promise<boolean> {
  const stats = await handle.stat();
  return stats.isFile() && stats.nlink > 0 && matchesIndex(stats, args.indexed());
}

function matchesIndex(stats: Stats, entry: DiskEntry | undefined): boolean {
  return entry !== undefined && stats.size === entry.size && stats.mtimeMs === entry.mtimeMs;
}

/** Throws OUT_OF_RANGE unless [start, start + length) lies inside `file`. */
export function checkReadRange(file: Pick<LocalFile, 'name' | 'size'>, start: number, length: number): void {
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(length) ||
    start < 0 ||
    length < 0 ||
    start + length > file.size
  ) {
    throw new LibraryError(
      'OUT_OF_RANGE',
      `bytes [${start}, ${start + length}) are outside ${file.name} (${file.size} bytes)`,
    );
  }
}

/** Fills `out` with the file's bytes from `start`; CHANGED_ON_DISK if the file ends first. */
export async function readFullyAt(handle: FileHandle, out: Uint8Array, start: number, diskName: string): Promise<Uint8Array> {
  for (let done = 0; done < out.length;) {
    const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
    if (bytesRead === 0) throw new LibraryError('CHANGED_ON_DISK', `${diskName} ended early`);
    done += bytesRead;
  }
  return out;
}

/** The packed piece hashes of `file` from its leaves file; CHANGED_ON_DISK unless it has all of them. */
export async function readLeavesFile(
  path: string,
  file: Pick<LocalFile, 'name' | 'hashCount'>,
): Promise<Uint8Array> {
  const data = await readFile(path);
  if (data.length !== file.hashCount * HASH_BYTES) {
    throw new LibraryError('CHANGED_ON_DISK', `the piece hashes of ${file.name} are damaged`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** True when the leaves file at `path` exists and holds exactly `hashCount` hashes. */
export async function leavesFileIntact(path: string, hashCount: number): Promise<boolean> {
  const stats = await stat(path).catch(() => undefined);
  return stats?.size === hashCount * HASH_BYTES;
}
