import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RunningFileHash } from '../../lib/transfer/running-file-hash.node.ts';

const CHUNK = 64 * 1024;

/** A file in memory with a written-pieces set, and a count of the bytes read back. */
function fakeFile(size: number, writtenAtStart: number[] = []) {
  const data = randomBytes(size);
  const chunkCount = Math.max(1, Math.ceil(size / CHUNK));
  const written = new Set(writtenAtStart);
  const state = { bytesRead: 0 };
  const source = {
    fileSize: size,
    chunkSize: CHUNK,
    chunkCount,
    isWritten: (i: number) => written.has(i),
    readInto: async (into: Uint8Array, start: number) => {
      await new Promise((r) => setTimeout(r, 1));
      into.set(data.subarray(start, start + into.length));
      state.bytesRead += into.length;
    },
  };
  const piece = (i: number) => data.subarray(i * CHUNK, Math.min(size, (i + 1) * CHUNK));
  const write = (hash: RunningFileHash, i: number) => {
    written.add(i);
    hash.written(i, piece(i));
  };
  return { data, chunkCount, source, write, state, expected: createHash('sha256').update(data).digest('hex') };
}

describe('RunningFileHash', () => {
  it('hashes pieces written in order without reading the file back', async () => {
    const file = fakeFile(10 * CHUNK + 123);
    const hash = new RunningFileHash(file.source);
    for (let i = 0; i < file.chunkCount; i++) file.write(hash, i);
    expect(await hash.digest()).toBe(file.expected);
    expect(file.state.bytesRead).toBe(0);
  });

  it('gets the same digest however the pieces come (reverse, shuffled, resumed)', async () => {
    const reverse = fakeFile(9 * CHUNK + 7);
    const h1 = new RunningFileHash(reverse.source);
    for (let i = reverse.chunkCount - 1; i >= 0; i--) reverse.write(h1, i);
    expect(await h1.digest()).toBe(reverse.expected);

    const shuffled = fakeFile(40 * CHUNK);
    const h2 = new RunningFileHash(shuffled.source);
    const order = [...Array(shuffled.chunkCount).keys()].sort(() => Math.random() - 0.5);
    for (const i of order) {
      shuffled.write(h2, i);
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    expect(await h2.digest()).toBe(shuffled.expected);

    const resumed = fakeFile(12 * CHUNK, [0, 1, 2, 3, 7]);
    const h3 = new RunningFileHash(resumed.source);
    for (const i of [4, 5, 6, 8, 9, 10, 11]) resumed.write(h3, i);
    expect(await h3.digest()).toBe(resumed.expected);
  });

  it('refuses to digest a file with a piece missing', async () => {
    const file = fakeFile(4 * CHUNK);
    const hash = new RunningFileHash(file.source);
    for (const i of [0, 1, 3]) file.write(hash, i);
    await expect(hash.digest()).rejects.toThrow(/piece 2 of 4 is not written/);
  });
});
