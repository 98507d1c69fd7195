/**
 * The library's on-disk index (`<dir>/library.json`) and its hash files (`<dir>/hashes/<fileId>.leaves`).
 * The index is a cache of hashing work: losing it costs a re-hash, never data, so anything malformed in
 * it is dropped rather than trusted.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { HASH_BYTES, isSha256Hex } from './hasher.ts';
import { nodeHasher } from './hasher.node.ts';
import { chunkCount } from './manifest.ts';
import { merkleRoot } from './merkle.ts';
import { bytesToHex } from '../util/base64.ts';
import { readJsonFile } from '../util/json-file.node.ts';

export const LIBRARY_INDEX_NAME = 'library.json';
const INDEX_VERSION = 1;

/** What one on-disk name hashed to. */
export interface DiskEntry {
  fileId: string;
  size: number;
  mtimeMs: number;
  root: string;
}

export interface LibraryIndexFile {
  version: number;
  /** Piece size the leaves were made with: an index for another size is ignored. */
  chunkSize: number;
  /** An array, not an object: object keys like "123" would be reordered, and order picks the shared name. */
  files: Array<DiskEntry & { name: string }>;
  /** fileIds the user stopped sharing but kept on disk. */
  unshared: string[];
}

export function makeLibraryIndex(
  chunkSize: number,
  entries: Iterable<[string, DiskEntry]>,
  unshared: Iterable<string>,
): LibraryIndexFile {
  return {
    version: INDEX_VERSION,
    chunkSize,
    files: [...entries].map(([name, entry]) => ({ name, ...entry })),
    unshared: [...unshared],
  };
}

/** The saved index if there is one for this chunk size; malformed records are dropped one by one. Throws on bad JSON. */
export async function readLibraryIndex(path: string, chunkSize: number): Promise<LibraryIndexFile | undefined> {
  const raw = await readJsonFile<unknown>(path);
  if (typeof raw !== 'object' || raw === null) return undefined;
  const index = raw as Partial<LibraryIndexFile>;
  if (index.version !== INDEX_VERSION || index.chunkSize !== chunkSize) return undefined;
  const files = (Array.isArray(index.files) ? index.files : []).filter(isSavedEntry);
  const unshared = (Array.isArray(index.unshared) ? index.unshared : []).filter((id) => isSha256Hex(id));
  return { version: INDEX_VERSION, chunkSize, files, unshared };
}

function isSavedEntry(f: unknown): f is DiskEntry & { name: string } {
  if (typeof f !== 'object' || f === null) return false;
  const e = f as Record<string, unknown>;
  return (
    typeof e.name === 'string' && e.name !== '' && !/[/\\]/.test(e.name) && e.name !== '..' &&
    isSha256Hex(e.fileId) && isSha256Hex(e.root) &&
    typeof e.size === 'number' && Number.isSafeInteger(e.size) && e.size >= 0 &&
    typeof e.mtimeMs === 'number' && Number.isFinite(e.mtimeMs)
  );
}

/** Writes beside the target then renames over it, so a reader never sees half a hash file. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, data, { flag: 'wx' });
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * Hashes of a file the caller has verified already (a download: every piece against its
 * Merkle-proven leaf, then the whole file against its fileId), so adding it does not read it again.
 */
export interface KnownFileHashes {
  fileId: string;
  /** Hex Merkle root over `leaves`. */
  root: string;
  /** Packed piece hashes. */
  leaves: Uint8Array;
  /** Piece size the leaves were made with: used only if it is the library's. */
  chunkSize: number;
}

/**
 * True when `known` can stand in for hashing a file of `size` bytes: a valid fileId, the library's
 * piece size, one leaf per piece, and leaves that hash up to `root` (cheap: one SHA-256 per 64 bytes
 * of leaves, about 1/2000 of hashing the file).
 */
export async function knownHashesFit(known: KnownFileHashes, size: number, chunkSize: number): Promise<boolean> {
  return (
    isSha256Hex(known.fileId) &&
    known.chunkSize === chunkSize &&
    known.leaves.length === chunkCount(size, chunkSize) * HASH_BYTES &&
    bytesToHex(await merkleRoot(known.leaves, nodeHasher)) === known.root
  );
}
