import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARTIAL_DIR, openFsChunkStore } from '../../lib/transfer/chunk-store-fs.node.ts';
import type { FsChunkStore } from '../../lib/transfer/chunk-store-fs.node.ts';
import { canDropCachedPages, dropCachedPages } from '../../lib/transfer/page-cache.node.ts';
import { randomFile } from '../support/files.ts';

const MiB = 1024 * 1024;
const PIECE = 64 * 1024;

const root = mkdtempSync(join(tmpdir(), 'swarmdrop-page-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;

/** Bytes of `path` in the page cache, as util-linux's fincore counts them. */
function cachedBytes(path: string): number {
  return Number(
    execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', path], {
      encoding: 'utf8',
    }).trim(),
  );
}

describe.runIf(process.platform === 'linux')('dropping written pages from the page cache', () => {
  it('has the native addon (built by npm install from native/page-cache)', () => {
    expect(
      canDropCachedPages,
      'the optional addon swarmdrop-page-cache did not build: install make, g++ and python3, then run npm install',
    ).toBe(true);
  });

  it('drops the durable pages of a range, and only when asked for a length', async () => {
    const path = join(root, 'plain.bin');
    const handle = await open(path, 'w+');
    try {
      await handle.write(new Uint8Array(8 * MiB).fill(7), 0, 8 * MiB, 0);
      await handle.datasync();
      expect(cachedBytes(path)).toBe(8 * MiB);
      expect(await dropCachedPages(handle.fd, 0, 0)).toBe(false); // 0 would mean "to the end" to the kernel
      expect(cachedBytes(path)).toBe(8 * MiB);
      expect(await dropCachedPages(handle.fd, 2 * MiB, 4 * MiB)).toBe(true);
      expect(cachedBytes(path)).toBe(4 * MiB);
      expect(readFileSync(path).every((byte) => byte === 7)).toBe(true); // read back from the disk
    } finally {
      await handle.close();
    }
  });

  it('rejects with the system error for a descriptor that is not open', async () => {
    const handle = await open(join(root, 'closed.bin'), 'w+');
    const fd = handle.fd;
    await handle.close();
    await expect(dropCachedPages(fd, 0, PIECE)).rejects.toThrow(/bad file descriptor/i);
  });

  describe('a download on disk', () => {
    const size = 16 * MiB + 1000; // a short last piece
    const { data, fileId } = randomFile(size);
    const keep = 4 * MiB;
    const pieceCount = Math.ceil(size / PIECE);
    const piece = (index: number) => data.subarray(index * PIECE, Math.min(size, (index + 1) * PIECE));

    async function openStore(): Promise<{ store: FsChunkStore; dataDir: string }> {
      const dataDir = join(root, `store-${dirCounter++}`);
      const store = await openFsChunkStore({
        dataDir,
        fileId,
        fileSize: size,
        chunkSize: PIECE,
        flushEveryBytes: 4 * MiB,
        flushIntervalMs: 60_000, // flushes by size, or when the test asks
        cachedBehindBytes: keep,
        freeSpaceMarginBytes: 0,
      });
      return { store, dataDir };
    }

    it('keeps only the last bytes behind the hashed end cached, and the file intact', async () => {
      const { store, dataDir } = await openStore();
      for (let i = 0; i < pieceCount; i++) await store.write(i, piece(i));
      await store.flush();
      const cached = cachedBytes(join(dataDir, PARTIAL_DIR, `${fileId}.part`));
      expect(cached).toBeGreaterThan(0);
      expect(cached).toBeLessThanOrEqual(keep + PIECE);
      expect(Buffer.from(await store.read(PIECE, 3 * PIECE)).equals(data.subarray(PIECE, 4 * PIECE))).toBe(
        true,
      );
      const path = await store.finalize(join(dataDir, 'shared_files'), 'file.bin');
      expect(readFileSync(path).equals(data)).toBe(true);
    });

    it('drops nothing the whole-file hash has not passed', async () => {
      const { store, dataDir } = await openStore();
      // Every piece but the first: the running hash waits for piece 0, so all of them stay cached.
      for (let i = 1; i < pieceCount; i++) await store.write(i, piece(i));
      await store.flush();
      expect(cachedBytes(join(dataDir, PARTIAL_DIR, `${fileId}.part`))).toBeGreaterThanOrEqual(size - PIECE);
      await store.write(0, piece(0));
      const path = await store.finalize(join(dataDir, 'shared_files'), 'file.bin');
      expect(readFileSync(path).equals(data)).toBe(true);
    });
  });
});
