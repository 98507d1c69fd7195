import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allocChunkFrame, CHUNK_FRAME_HEADER_BYTES, decodeChunkFrame, encodeChunkFrame } from '../../lib/peer/wire/chunk-frame.ts';
import { hashFile } from '../../lib/transfer/file-hashing.node.ts';
import { HAVE_BATCH_MAX_INDEXES, HAVE_BATCH_MS, HaveBatcher } from '../../lib/transfer/have-batcher.ts';
import { FsLibrary } from '../../lib/transfer/library-fs.node.ts';
import { SHARED_HANDLE_RECHECK_MS } from '../../lib/transfer/library-handles.node.ts';
import { isLibraryError } from '../../lib/transfer/library.ts';
import { realTimers } from '../../lib/util/timers.ts';
import { sha256Hex } from '../support/files.ts';

const dirs: string[] = [];
const libraries: FsLibrary[] = [];

afterEach(async () => {
  await Promise.all(libraries.splice(0).map((l) => l.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function libraryWith(files: Record<string, Uint8Array>) {
  const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-fast-'));
  dirs.push(dir);
  const shared = join(dir, 'shared_files');
  await mkdir(shared);
  for (const [name, data] of Object.entries(files)) await writeFile(join(shared, name), data);
  // A long settle time: these tests read before the watcher reacts to what they change.
  const library = await FsLibrary.open({ dir, settleMs: 60_000 });
  libraries.push(library);
  await library.start();
  return { library, shared };
}

/** A kept handle is re-checked once its last check is SHARED_HANDLE_RECHECK_MS old. */
const recheckDue = () => new Promise((resolve) => setTimeout(resolve, SHARED_HANDLE_RECHECK_MS + 5));

describe('library reads through a kept handle', () => {
  it('reads into a given buffer and still refuses a file appended to after a cached read', async () => {
    const data = randomBytes(100_000);
    const { library, shared } = await libraryWith({ 'a.bin': data });
    const into = new Uint8Array(1000);
    expect(await library.read(sha256Hex(data), 500, 1000, into)).toBe(into);
    expect(Buffer.from(into).equals(data.subarray(500, 1500))).toBe(true);
    await expect(library.read(sha256Hex(data), 0, 10, new Uint8Array(9))).rejects.toThrow(RangeError);
    await appendFile(join(shared, 'a.bin'), 'more');
    await recheckDue();
    await expect(library.read(sha256Hex(data), 0, 10)).rejects.toSatisfy((e) => isLibraryError(e, 'CHANGED_ON_DISK'));
  });

  it('refuses a name swapped for a symlink after a cached read', async () => {
    const data = randomBytes(5000);
    const { library, shared } = await libraryWith({ 'real.bin': data });
    expect(sha256Hex(await library.read(sha256Hex(data), 0, data.length))).toBe(sha256Hex(data));
    await symlink('/etc/passwd', join(shared, 'swap'));
    await rename(join(shared, 'swap'), join(shared, 'real.bin'));
    await recheckDue();
    await expect(library.read(sha256Hex(data), 0, 10)).rejects.toSatisfy((e) => isLibraryError(e, 'UNSAFE_PATH'));
  });
});

describe('addFile with known hashes', () => {
  it('records a verified file without hashing it, and hashes when the given hashes do not fit', async () => {
    const data = randomBytes(300_000);
    const { library, shared } = await libraryWith({});
    await writeFile(join(shared, 'known.bin'), data);
    const hashes = await hashFile(join(shared, 'known.bin'));
    const known = { fileId: hashes.fileId, root: hashes.root, leaves: hashes.leaves, chunkSize: hashes.chunkSize };
    const file = await library.addFile(join(shared, 'known.bin'), { known });
    expect(file.fileId).toBe(sha256Hex(data));
    expect(library.filesHashed).toBe(0);
    expect(Buffer.from(await library.leaves(file.fileId)).equals(hashes.leaves)).toBe(true);

    const other = randomBytes(1000);
    await writeFile(join(shared, 'other.bin'), other);
    const wrongRoot = { ...known, fileId: sha256Hex(other), leaves: new Uint8Array(32) };
    const hashed = await library.addFile(join(shared, 'other.bin'), { known: wrongRoot });
    expect(hashed.fileId).toBe(sha256Hex(other));
    expect(library.filesHashed).toBe(1);
  });
});

describe('chunk frames written in place', () => {
  it('allocChunkFrame leaves room for data that decodes like an encoded frame', () => {
    const header = { fileId: sha256Hex('x'), chunkIndex: 7, chunkSize: 4 };
    const frame = allocChunkFrame(header, 4);
    frame.set([1, 2, 3, 4], CHUNK_FRAME_HEADER_BYTES);
    expect(frame).toEqual(encodeChunkFrame({ ...header, data: new Uint8Array([1, 2, 3, 4]) }));
    const decoded = decodeChunkFrame(frame);
    expect(decoded.ok && decoded.frame.chunkIndex === 7 && [...decoded.frame.data]).toEqual([1, 2, 3, 4]);
  });
});

describe('HaveBatcher', () => {
  it('sends a full batch at once and the rest after the batch delay, each index once', async () => {
    const sent: number[][] = [];
    const batcher = new HaveBatcher(realTimers, (indexes) => sent.push(indexes));
    batcher.add(Array.from({ length: HAVE_BATCH_MAX_INDEXES }, (_, i) => i));
    expect(sent).toHaveLength(1);
    batcher.add([100]);
    batcher.add([101]);
    expect(sent).toHaveLength(1);
    await new Promise((r) => setTimeout(r, HAVE_BATCH_MS * 3));
    expect(sent).toEqual([Array.from({ length: HAVE_BATCH_MAX_INDEXES }, (_, i) => i), [100, 101]]);
    batcher.add([102]);
    batcher.flush();
    batcher.flush();
    expect(sent.at(-1)).toEqual([102]);
    expect(sent).toHaveLength(3);
  });
});
