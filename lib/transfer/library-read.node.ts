/**
 * The library's read path: bytes of a shared file and its piece hashes, handed out only while what
 * is on disk is still what was indexed.
 *
 * A shared file is opened with O_NOFOLLOW and its real path re-checked, so a name swapped for a
 * symlink (or moved out of shared_files) after indexing is refused; its size and mtime must still be
 * the ones it was hashed with, or the read fails with CHANGED_ON_DISK and the caller re-indexes it.
 */
import { constants as fsConstants } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HASH_BYTES } from './hasher.ts';
import type { DiskEntry } from './library-index.node.ts';
import type { LocalFile } from './library.ts';
import { LibraryError } from './library.ts';

/** O_NOFOLLOW does not exist on Windows; there the realpath check below is the only guard. */
const OPEN_NO_FOLLOW = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

export interface SharedRangeRead {
  /** shared_files, and its real path (symlinks resolved) that the file's real path must sit in. */
  sharedDir: string;
  realSharedDir: string;
  /** The file's name on disk (its shared name is sanitised and may differ). */
  diskName: string;
  file: Pick<LocalFile, 'name' | 'size'>;
  start: number;
  length: number;
  /** The index entry of `diskName`, looked up once the file is open: its size and mtime must still match. */
  indexed: () => DiskEntry | undefined;
  /** Told when the file is gone or changed since it was hashed, so the caller can re-index it. */
  onChanged: () => void;
}

/**
 * Bytes [start, start + length) of a shared file. Opens the file for each read rather than caching
 * descriptors: a cached fd would keep serving a file that was deleted or replaced on disk (and keep
 * its space held), and the open/fstat/close costs microseconds next to a 64 KiB read sent over the network.
 */
export async function readSharedRange(args: SharedRangeRead): Promise<Uint8Array> {
  const { file, diskName, start, length } = args;
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
    const entry = args.indexed();
    if (entry === undefined || stats.size !== entry.size || stats.mtimeMs !== entry.mtimeMs) {
      args.onChanged();
      throw new LibraryError('CHANGED_ON_DISK', `${diskName} changed since it was hashed`);
    }
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const { bytesRead } = await handle.read(out, done, length - done, start + done);
      if (bytesRead === 0) throw new LibraryError('CHANGED_ON_DISK', `${diskName} ended early`);
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
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
