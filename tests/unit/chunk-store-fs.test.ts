import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Bitfield } from '../../lib/transfer/bitfield.ts';
import { MemoryChunkStore } from '../../lib/transfer/chunk-store-memory.ts';
import type { ChunkStore } from '../../lib/transfer/chunk-store.ts';
import { PARTIAL_DIR, openFsChunkStore } from '../../lib/transfer/chunk-store-fs.node.ts';
import type { FsChunkStoreOptions } from '../../lib/transfer/chunk-store-fs.node.ts';
import { chunkCount, chunkRange } from '../../lib/transfer/manifest.ts';
import { sha256Hex } from '../support/files.ts';

const root = mkdtempSync(join(tmpdir(), 'swarmdrop-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = () => {
  const dir = join(root, `case-${dirCounter++}`);
  mkdirSync(dir);
  return dir;
};

/** Deterministic file content, so a child process can produce the same bytes. */
function fileBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  return out;
}
const piece = (data: Uint8Array, chunkSize: number, index: number) => {
  const { start, end } = chunkRange(data.length, chunkSize, index);
  return data.slice(start, end);
};

function storeOptions(dataDir: string, data: Uint8Array, chunkSize: number): FsChunkStoreOptions {
  return { dataDir, fileId: sha256Hex(data), fileSize: data.length, chunkSize, freeSpaceMarginBytes: 0 };
}

/** Behaviour every ChunkStore must have, run against memory and filesystem stores. */
function contract(name: string, open: (data: Uint8Array, chunkSize: number) => Promise<ChunkStore>) {
  describe(`${name}: ChunkStore contract`, () => {
    it('stores pieces written out of order and reads byte ranges across them', async () => {
      const data = fileBytes(1000);
      const store = await open(data, 64);
      const order = [15, 3, 0, 7, 1, 2, 14, 4, 6, 5, 8, 13, 9, 12, 11, 10];
      for (const [step, index] of order.entries()) {
        await store.write(index, piece(data, 64, index));
        expect(store.has(index)).toBe(true);
        expect(store.count).toBe(step + 1);
        if (step === 3) {
          expect(store.hasRange(0, 64)).toBe(true);
          expect(store.hasRange(60, 10)).toBe(false); // piece 1 missing
          await expect(store.read(60, 10)).rejects.toMatchObject({ code: 'MISSING_DATA' });
          expect(await store.read(960, 40)).toEqual(data.slice(960, 1000));
        }
      }
      expect(store.complete).toBe(true);
      expect(await store.read(0, 1000)).toEqual(data);
      expect(await store.read(100, 300)).toEqual(data.slice(100, 400)); // spans pieces 1..6
      expect(await store.read(500, 0)).toEqual(new Uint8Array(0));
      expect(Bitfield.fromBytes(store.bitfield(), 16).count).toBe(16);
      await store.close();
      await store.close();
    });

    it('refuses wrong lengths, bad indexes, ranges past the end and use after close', async () => {
      const data = fileBytes(1000);
      const store = await open(data, 64);
      await expect(store.write(0, new Uint8Array(63))).rejects.toMatchObject({ code: 'BAD_CHUNK' });
      await expect(store.write(15, new Uint8Array(64))).rejects.toMatchObject({ code: 'BAD_CHUNK' }); // last is 40
      await expect(store.write(16, new Uint8Array(40))).rejects.toMatchObject({ code: 'BAD_CHUNK' });
      await expect(store.write(-1, new Uint8Array(64))).rejects.toMatchObject({ code: 'BAD_CHUNK' });
      await expect(store.read(990, 20)).rejects.toMatchObject({ code: 'BAD_CHUNK' });
      await store.write(1, piece(data, 64, 1));
      await store.write(1, piece(data, 64, 1)); // already held: no-op
      expect(store.count).toBe(1);
      await store.close();
      await expect(store.write(2, piece(data, 64, 2))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('holds an empty file as one empty piece', async () => {
      const store = await open(new Uint8Array(0), 64);
      expect(store.chunkCount).toBe(1);
      await store.write(0, new Uint8Array(0));
      expect(store.complete).toBe(true);
      await store.close();
    });
  });
}

contract('memory', async (data, chunkSize) => new MemoryChunkStore(data.length, chunkSize));
contract('filesystem', (data, chunkSize) => openFsChunkStore(storeOptions(freshDir(), data, chunkSize)));

describe('Bitfield', () => {
  it('sets, counts, finds the first missing bit and round-trips bytes', () => {
    const field = new Bitfield(20);
    expect(field.firstMissing()).toBe(0);
    for (let i = 0; i < 9; i++) field.set(i);
    field.set(12);
    expect(field.count).toBe(10);
    expect(field.firstMissing()).toBe(9);
    expect(field.firstMissing(12)).toBe(13);
    expect(field.toBytes()).toEqual(new Uint8Array([0xff, 0x88, 0x00]));
    const copy = Bitfield.fromBytes(field.toBytes(), 20);
    expect(copy.count).toBe(10);
    expect(copy.get(12) && !copy.get(11)).toBe(true);
    expect(copy.set(12, false)).toBe(true);
    expect(copy.set(12, false)).toBe(false);
    expect(copy.count).toBe(9);
    for (let i = 0; i < 20; i++) field.set(i);
    expect(field.firstMissing()).toBe(-1);
    expect(field.complete).toBe(true);
    expect(() => field.set(20)).toThrow(RangeError);
    expect(field.get(20)).toBe(false);
    expect(() => Bitfield.fromBytes(new Uint8Array([0, 0, 0x01]), 20)).toThrow(RangeError); // spare bit set
    expect(() => Bitfield.fromBytes(new Uint8Array(2), 20)).toThrow(RangeError);
  });
});

describe('FsChunkStore on disk', () => {
  it('reopening restores the bitfield, and other geometry starts afresh', async () => {
    const dataDir = freshDir();
    const data = fileBytes(5000);
    const options = storeOptions(dataDir, data, 512);
    const first = await openFsChunkStore(options);
    for (const index of [9, 0, 4]) await first.write(index, piece(data, 512, index));
    await first.close();
    expect(existsSync(join(dataDir, PARTIAL_DIR, `${options.fileId}.part`))).toBe(true);

    const again = await openFsChunkStore(options);
    expect([...Array(10).keys()].filter((i) => again.has(i))).toEqual([0, 4, 9]);
    expect(await again.read(4 * 512, 512)).toEqual(piece(data, 512, 4));
    await again.close();

    const otherGeometry = await openFsChunkStore({ ...options, chunkSize: 1024 });
    expect(otherGeometry.count).toBe(0);
    await otherGeometry.discard();
    expect(readdirSync(join(dataDir, PARTIAL_DIR))).toEqual([]);
  });

  it('refuses a file id that is not a sha256 hex string (it names files on disk)', async () => {
    const data = fileBytes(10);
    await expect(
      openFsChunkStore({ ...storeOptions(freshDir(), data, 64), fileId: '../../etc/passwd' }),
    ).rejects.toMatchObject({ code: 'BAD_FILE_ID' });
  });

  it('refuses to start a download that cannot fit on the disk', async () => {
    const data = fileBytes(10);
    await expect(
      openFsChunkStore({ ...storeOptions(freshDir(), data, 64), fileSize: 2 ** 52 }),
    ).rejects.toMatchObject({
      code: 'DISK_FULL',
    });
  });

  it('finalize checks the file id, then moves it under a safe name, "(1)" on a clash', async () => {
    const dataDir = freshDir();
    const shared = join(dataDir, 'shared_files');
    const data = fileBytes(3000);
    mkdirSync(shared);
    writeFileSync(join(shared, 'report.pdf'), 'already here');

    const store = await openFsChunkStore(storeOptions(dataDir, data, 1024));
    await store.write(0, piece(data, 1024, 0));
    await expect(store.finalize(shared, 'report.pdf')).rejects.toMatchObject({ code: 'INCOMPLETE' });
    await store.write(2, piece(data, 1024, 2));
    await store.write(1, piece(data, 1024, 1));
    const [finalPath, second] = await Promise.allSettled([
      store.finalize(shared, '../../report.pdf'),
      store.finalize(shared, 'other.pdf'),
    ]);
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'STORE_CLOSED' } });
    if (finalPath.status !== 'fulfilled') throw finalPath.reason;
    expect(finalPath.value).toBe(join(shared, 'report (1).pdf'));
    expect(new Uint8Array(readFileSync(finalPath.value))).toEqual(data);
    expect(readFileSync(join(shared, 'report.pdf'), 'utf8')).toBe('already here');
    expect(readdirSync(join(dataDir, PARTIAL_DIR))).toEqual([]);
    await store.close(); // after finalize: harmless
  });

  it('finalize refuses data that does not hash to the file id and leaves nothing in place', async () => {
    const dataDir = freshDir();
    const data = fileBytes(2048);
    const store = await openFsChunkStore({ ...storeOptions(dataDir, data, 1024), fileId: 'ab'.repeat(32) });
    await store.write(0, piece(data, 1024, 0));
    await store.write(1, piece(data, 1024, 1));
    await expect(store.finalize(join(dataDir, 'out'), 'x.bin')).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
    });
    expect(existsSync(join(dataDir, 'out'))).toBe(false);
    await store.discard();
    expect(readdirSync(join(dataDir, PARTIAL_DIR))).toEqual([]);
  });

  it('survives SIGKILL mid-download: no bit without its data, and the rest completes', async () => {
    const dataDir = freshDir();
    const chunkSize = 4096;
    const data = fileBytes(200 * chunkSize + 123);
    const options = storeOptions(dataDir, data, chunkSize);
    const count = chunkCount(data.length, chunkSize);
    const child = join(dataDir, 'child.mts');
    const storeModule = new URL('../../lib/transfer/chunk-store-fs.node.ts', import.meta.url).href;
    writeFileSync(
      child,
      `import { openFsChunkStore } from ${JSON.stringify(storeModule)};
const options = ${JSON.stringify({ ...options, flushEveryBytes: 10 * chunkSize })};
const size = options.fileSize, chunkSize = options.chunkSize;
const data = new Uint8Array(size);
for (let i = 0; i < size; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
const store = await openFsChunkStore(options);
const pending = [];
for (let k = 0; k < 150; k++) {
  const index = (k * 7) % ${count}; // out of order
  pending.push(store.write(index, data.subarray(index * chunkSize, Math.min((index + 1) * chunkSize, size))));
  if (k === 100) { await Promise.all(pending); await store.flush(); process.stdout.write('flushed\\n'); }
}
process.kill(process.pid, 'SIGKILL');
`,
    );
    const output = await new Promise<{ signal: NodeJS.Signals | null; stdout: string }>((resolve, reject) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.on('error', reject);
      proc.on('exit', (_code, signal) =>
        signal === null ? reject(new Error(stderr)) : resolve({ signal, stdout }),
      );
    });
    expect(output.signal).toBe('SIGKILL');
    expect(output.stdout).toContain('flushed');

    const store = await openFsChunkStore(options);
    const held = [...Array(count).keys()].filter((i) => store.has(i));
    const flushedBeforeKill = [...Array(101).keys()].map((k) => (k * 7) % count);
    for (const index of flushedBeforeKill) expect(store.has(index), `piece ${index}`).toBe(true);
    for (const index of held)
      expect(await store.read(index * chunkSize, piece(data, chunkSize, index).length)).toEqual(
        piece(data, chunkSize, index),
      );

    let fetched = 0;
    for (let index = 0; index < count; index++) {
      if (store.has(index)) continue;
      await store.write(index, piece(data, chunkSize, index));
      fetched++;
    }
    expect(fetched).toBe(count - held.length);
    expect(fetched).toBeLessThan(count - 100);
    const finalPath = await store.finalize(join(dataDir, 'shared_files'), 'big.bin');
    expect(sha256Hex(readFileSync(finalPath))).toBe(options.fileId);
  });
});
