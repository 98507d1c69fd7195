import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import {
  DEFAULT_CHUNK_SIZE,
  MAX_STANDARD_CHUNK_BYTES,
  STANDARD_CHUNK_SIZE,
  checkChunkAgainstPieces,
  chunkCount,
  chunkRange,
  coveringChunks,
  coveringPieces,
  makeStandardManifest,
  validateContentInfo,
  validateStandardManifest,
} from '../../lib/transfer/manifest.ts';
import { bytesToHex } from '../../lib/util/base64.ts';

const sha = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());

const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url);
const captured = readFileSync(new URL('standard-frames.jsonl', FIXTURES), 'utf8')
  .split('\n')
  .filter((line) => line.includes('"file_manifest"'))
  .map((line) => (JSON.parse(line) as { frame: { content: Record<string, unknown> } }).frame.content);

describe('chunk geometry', () => {
  it('counts chunks like the standard (1 for an empty file)', () => {
    expect(chunkCount(0, STANDARD_CHUNK_SIZE)).toBe(1);
    expect(chunkCount(1, STANDARD_CHUNK_SIZE)).toBe(1);
    expect(chunkCount(1_500_000, STANDARD_CHUNK_SIZE)).toBe(2);
    expect(chunkCount(2 * STANDARD_CHUNK_SIZE, STANDARD_CHUNK_SIZE)).toBe(2);
    expect(() => chunkCount(-1, 10)).toThrow(RangeError);
    expect(() => chunkCount(10, 0)).toThrow(RangeError);
  });

  it('gives byte ranges with a short last chunk', () => {
    expect(chunkRange(0, 10, 0)).toEqual({ start: 0, end: 0 });
    expect(chunkRange(25, 10, 0)).toEqual({ start: 0, end: 10 });
    expect(chunkRange(25, 10, 2)).toEqual({ start: 20, end: 25 });
    expect(() => chunkRange(25, 10, 3)).toThrow(RangeError);
    expect(() => chunkRange(25, 10, -1)).toThrow(RangeError);
  });
});

describe('standard manifest', () => {
  const good = {
    file_id: 'e46999edd27683296e5feb5d7d29adb4db20557753fd76ad4d6fc5ba03c9f877',
    file_name: 'vector.txt',
    file_size: 24000,
    chunk_size: 1048576,
    chunk_count: 1,
    checksum: 'e46999edd27683296e5feb5d7d29adb4db20557753fd76ad4d6fc5ba03c9f877',
    owner: 'peer-1',
  };

  it('accepts the manifest captured from a reference peer', () => {
    expect(captured.length).toBeGreaterThan(0);
    for (const content of captured) expect(validateStandardManifest(content)).toMatchObject({ ok: true });
  });

  it('keeps only the standard fields', () => {
    const result = validateStandardManifest({ ...good, extra: { root: 'x' } });
    expect(result).toEqual({ ok: true, manifest: good });
  });

  it.each([
    ['not an object', null],
    ['upper-case id', { ...good, file_id: good.file_id.toUpperCase(), checksum: good.file_id.toUpperCase() }],
    ['short id', { ...good, file_id: 'abc', checksum: 'abc' }],
    ['checksum differs', { ...good, checksum: 'f'.repeat(64) }],
    ['empty name', { ...good, file_name: '' }],
    ['huge name', { ...good, file_name: 'n'.repeat(4097) }],
    ['negative size', { ...good, file_size: -1 }],
    ['fractional size', { ...good, file_size: 1.5 }],
    ['size as string', { ...good, file_size: '24000' }],
    ['unsafe size', { ...good, file_size: 2 ** 53 }],
    ['zero chunk size', { ...good, chunk_size: 0 }],
    ['chunk size over 16 MiB', { ...good, chunk_size: 16 * 1024 * 1024 + 1, chunk_count: 1 }],
    ['wrong chunk count', { ...good, chunk_count: 2 }],
    ['empty file with 0 chunks', { ...good, file_size: 0, chunk_count: 0 }],
    ['missing owner', { ...good, owner: undefined }],
  ])('rejects %s', (_, manifest) => {
    expect(validateStandardManifest(manifest).ok).toBe(false);
  });

  it('accepts big received chunks but not for what we send', () => {
    const big = { ...good, chunk_size: 4 * 1024 * 1024 };
    expect(validateStandardManifest(big).ok).toBe(true);
    expect(validateStandardManifest(big, { maxChunkSize: MAX_STANDARD_CHUNK_BYTES }).ok).toBe(false);
  });

  it('builds what we announce: 1 MiB chunks, checksum = file_id, the given owner', () => {
    const m = makeStandardManifest({
      fileId: good.file_id,
      fileName: 'a.bin',
      fileSize: 1_500_000,
      owner: 'me',
    });
    expect(m).toEqual({ ...good, file_name: 'a.bin', file_size: 1_500_000, chunk_count: 2, owner: 'me' });
    expect(() =>
      makeStandardManifest({
        fileId: good.file_id,
        fileName: 'a',
        fileSize: 1,
        owner: 'me',
        chunkSize: 2 * 1024 * 1024,
      }),
    ).toThrow();
  });
});

describe('content info', () => {
  const root = 'a'.repeat(64);
  it('checks the hash count against the file size', () => {
    expect(
      validateContentInfo({ root, chunk_size: DEFAULT_CHUNK_SIZE, hash_count: 16 }, 1024 * 1024),
    ).toEqual({
      ok: true,
      value: { root, chunk_size: DEFAULT_CHUNK_SIZE, hash_count: 16 },
    });
    expect(
      validateContentInfo({ root, chunk_size: DEFAULT_CHUNK_SIZE, hash_count: 15 }, 1024 * 1024).ok,
    ).toBe(false);
    expect(validateContentInfo({ root, chunk_size: DEFAULT_CHUNK_SIZE, hash_count: 1 }, 0).ok).toBe(true);
    expect(validateContentInfo({ root: 'zz', chunk_size: DEFAULT_CHUNK_SIZE, hash_count: 1 }, 0).ok).toBe(
      false,
    );
    expect(validateContentInfo({ root, chunk_size: 1, hash_count: 2 ** 30 }, 2 ** 30).ok).toBe(false);
  });
});

describe('mapping between chunk sizes', () => {
  const MiB = 1024 * 1024;
  it('finds the 64 KiB pieces of a 1 MiB chunk and back', () => {
    const size = 2.5 * MiB;
    expect(coveringPieces(size, DEFAULT_CHUNK_SIZE, MiB, 0)).toEqual({ first: 0, last: 15 });
    expect(coveringPieces(size, DEFAULT_CHUNK_SIZE, MiB, 2)).toEqual({ first: 32, last: 39 });
    expect(coveringChunks(size, DEFAULT_CHUNK_SIZE, MiB, 17)).toEqual({ first: 1, last: 1 });
    expect(coveringChunks(size, DEFAULT_CHUNK_SIZE, MiB, 39)).toEqual({ first: 2, last: 2 });
    expect(coveringPieces(0, DEFAULT_CHUNK_SIZE, MiB, 0)).toEqual({ first: 0, last: 0 });
    // a chunk size that is not a multiple: chunk 1 of 100 bytes spans pieces 1..3 of 64 bytes
    expect(coveringPieces(1000, 64, 100, 1)).toEqual({ first: 1, last: 3 });
    expect(coveringChunks(1000, 64, 100, 3)).toEqual({ first: 1, last: 2 });
  });

  it('checks a standard chunk piece by piece, and says when it cannot check every byte', async () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 13) & 0xff);
    const pieceSize = 64;
    const pieceHashes = Array.from({ length: chunkCount(1000, pieceSize) }, (_, i) =>
      sha(data.subarray(i * pieceSize, Math.min((i + 1) * pieceSize, 1000))),
    );
    const check = (
      chunkSize: number,
      index: number,
      bytes: Uint8Array,
      known = (i: number) => pieceHashes[i],
    ) =>
      checkChunkAgainstPieces({
        fileSize: 1000,
        pieceSize,
        otherChunkSize: chunkSize,
        otherIndex: index,
        data: bytes,
        pieceHash: known,
        hasher: nodeHasher,
      });
    const slice = (chunkSize: number, index: number) => {
      const { start, end } = chunkRange(1000, chunkSize, index);
      return data.slice(start, end);
    };

    expect(await check(256, 3, slice(256, 3))).toEqual({ result: 'verified' }); // last chunk, short
    const bad = slice(256, 1);
    bad[100]! ^= 1;
    expect(await check(256, 1, bad)).toEqual({ result: 'corrupt', piece: 5 });
    // 100-byte chunks over 64-byte pieces: chunk 1 = bytes 100..200 covers piece 2 (128..192) fully
    expect(await check(100, 1, slice(100, 1))).toEqual({ result: 'partial', uncheckedBytes: 36 });
    const badEdge = slice(100, 1);
    badEdge[0]! ^= 1; // byte 100 lies in piece 1, only partly covered: left to the whole-file check
    expect(await check(100, 1, badEdge)).toEqual({ result: 'partial', uncheckedBytes: 36 });
    expect(await check(256, 0, slice(256, 0), (i) => (i === 2 ? undefined : pieceHashes[i]))).toEqual({
      result: 'partial',
      uncheckedBytes: 64,
    });
    await expect(check(256, 0, slice(256, 0).subarray(1))).rejects.toThrow(RangeError);
  });
});

it('hex helpers agree with node for the captured file id', () => {
  expect(bytesToHex(sha(readFileSync(new URL('standard-vector.txt', FIXTURES))))).toBe(captured[0]!.file_id);
});
