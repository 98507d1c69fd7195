import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile, sha256File } from '../../lib/transfer/file-hashing.node.ts';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import { DEFAULT_CHUNK_SIZE, chunkCount } from '../../lib/transfer/manifest.ts';
import { merkleRoot } from '../../lib/transfer/merkle.ts';
import { bytesToHex } from '../../lib/util/base64.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest();

function writeTemp(name: string, data: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** The expected result computed the obvious way, with node:crypto over the whole buffer. */
async function expected(data: Uint8Array, chunkSize: number) {
  const count = chunkCount(data.length, chunkSize);
  const leaves = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) leaves.set(sha(data.subarray(i * chunkSize, (i + 1) * chunkSize)), i * 32);
  return {
    fileId: sha(data).toString('hex'),
    size: data.length,
    chunkSize,
    leaves,
    root: bytesToHex(await merkleRoot(leaves, nodeHasher)),
  };
}

describe('hashFile', () => {
  it.each([0, 1, DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1, 3 * 1024 * 1024 + 5])(
    'size %i, one thread and worker thread, matches node:crypto',
    async (size) => {
      const data = randomBytes(size);
      const path = writeTemp(`f${size}`, data);
      const want = await expected(data, DEFAULT_CHUNK_SIZE);
      expect(await hashFile(path, { singleThread: true })).toEqual(want);
      expect(await hashFile(path, { singleThread: false })).toEqual(want);
    },
  );

  it('handles piece sizes that do not divide the read size, across many reads', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 12_345); // three worker-path reads or more
    const path = writeTemp('odd', data);
    for (const chunkSize of [100_000, 5 * 1024 * 1024, 4099]) {
      const result = await hashFile(path, { chunkSize, singleThread: false });
      expect(result).toEqual(await expected(data, chunkSize));
    }
  });

  it('reports progress up to the total and hashes the shared fixture to its captured file id', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const path = writeTemp('progress', data);
    const seen: Array<[number, number]> = [];
    await hashFile(path, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toEqual([data.length, data.length]);
    expect(seen.every(([done], i) => i === 0 || done > seen[i - 1]![0])).toBe(true);

    const vector = new URL('../../../shared/fixtures/standard-vector.txt', import.meta.url);
    const { fileId } = await hashFile(vector.pathname);
    expect(fileId).toBe('e46999edd27683296e5feb5d7d29adb4db20557753fd76ad4d6fc5ba03c9f877');
  });

  it('fails cleanly on a missing file', async () => {
    await expect(hashFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('sha256File', () => {
  it('is the whole-file sha256', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 3);
    expect(await sha256File(writeTemp('whole', data))).toBe(sha(data).toString('hex'));
    expect(await sha256File(writeTemp('empty', new Uint8Array(0)))).toBe(
      sha(new Uint8Array(0)).toString('hex'),
    );
  });
});
