import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH_BYTES } from '../../lib/transfer/hasher.ts';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import { DEFAULT_CHUNK_SIZE, chunkCount } from '../../lib/transfer/manifest.ts';
import {
  MAX_HASHES_PER_PIECE,
  buildMerkleTree,
  hashListPieces,
  makeHashPiece,
  merkleRoot,
  verifyHashPiece,
} from '../../lib/transfer/merkle.ts';

const sha = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
const parent = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([0x01, ...l, ...r]));
/** n distinct fake leaves, packed. */
const packedLeaves = (n: number, seed = 0) => {
  const out = new Uint8Array(n * HASH_BYTES);
  for (let i = 0; i < n; i++) out.set(sha(`leaf ${seed} ${i}`), i * HASH_BYTES);
  return out;
};
const leafAt = (packed: Uint8Array, i: number) => packed.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES);

describe('Merkle tree', () => {
  it('follows the documented definition', async () => {
    const leaves = packedLeaves(5);
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => leafAt(leaves, i)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    expect(await merkleRoot(leaves.slice(0, 32), nodeHasher)).toEqual(a);
    expect(await merkleRoot(leaves.slice(0, 64), nodeHasher)).toEqual(parent(a, b));
    expect(await merkleRoot(leaves.slice(0, 96), nodeHasher)).toEqual(parent(parent(a, b), c));
    expect(await merkleRoot(leaves, nodeHasher)).toEqual(parent(parent(parent(a, b), parent(c, d)), e));
    await expect(merkleRoot(new Uint8Array(0), nodeHasher)).rejects.toThrow(RangeError);
  });

  it('verifies every range of every tree up to 19 leaves, each piece alone', async () => {
    for (let n = 1; n <= 19; n++) {
      const tree = await buildMerkleTree(packedLeaves(n, n), nodeHasher);
      for (let start = 0; start < n; start++) {
        for (let end = start + 1; end <= n; end++) {
          const piece = makeHashPiece(tree, { start, end });
          const ok = await verifyHashPiece(tree.root, n, piece.start, piece.hashes, piece.proof, nodeHasher);
          expect(ok, `n=${n} [${start}, ${end})`).toBe(true);
        }
      }
    }
  });

  it('rejects a tampered hash, a tampered or truncated proof, a shifted start or another tree shape', async () => {
    const n = 13;
    const tree = await buildMerkleTree(packedLeaves(n), nodeHasher);
    const piece = makeHashPiece(tree, { start: 3, end: 7 });
    const verify = (root: Uint8Array, count: number, start: number, hashes: Uint8Array, proof: Uint8Array) =>
      verifyHashPiece(root, count, start, hashes, proof, nodeHasher);
    expect(await verify(tree.root, n, 3, piece.hashes, piece.proof)).toBe(true);
    for (let byte = 0; byte < piece.hashes.length; byte += 17) {
      const hashes = piece.hashes.slice();
      hashes[byte]! ^= 1;
      expect(await verify(tree.root, n, 3, hashes, piece.proof)).toBe(false);
    }
    for (let byte = 0; byte < piece.proof.length; byte += 13) {
      const proof = piece.proof.slice();
      proof[byte]! ^= 0x80;
      expect(await verify(tree.root, n, 3, piece.hashes, proof)).toBe(false);
    }
    expect(await verify(tree.root, n, 3, piece.hashes, piece.proof.subarray(32))).toBe(false);
    expect(
      await verify(tree.root, n, 3, piece.hashes, new Uint8Array([...piece.proof, ...new Uint8Array(32)])),
    ).toBe(false);
    expect(await verify(tree.root, n, 4, piece.hashes, piece.proof)).toBe(false);
    expect(await verify(tree.root, 7, 3, piece.hashes, piece.proof)).toBe(false); // another tree shape
    expect(await verify(tree.root, n, 3, piece.hashes.subarray(0, 31), piece.proof)).toBe(false);
    expect(await verify(tree.root, n, 10, piece.hashes, piece.proof)).toBe(false); // would end past the last leaf
    expect(await verify(tree.root, n, 3, new Uint8Array(0), piece.proof)).toBe(false);
  });

  it('random trees and ranges: the proof verifies, and against another tree it does not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (n, a, b, seed) => {
          const start = a % n;
          const end = start + 1 + (b % (n - start));
          const tree = await buildMerkleTree(packedLeaves(n, seed), nodeHasher);
          const piece = makeHashPiece(tree, { start, end });
          expect(piece.hashes).toEqual(tree.levels[0]!.slice(start * 32, end * 32));
          expect(await verifyHashPiece(tree.root, n, start, piece.hashes, piece.proof, nodeHasher)).toBe(
            true,
          );
          const other = await merkleRoot(packedLeaves(n, seed + 1), nodeHasher);
          expect(await verifyHashPiece(other, n, start, piece.hashes, piece.proof, nodeHasher)).toBe(false);
          expect(piece.proof.length / 32).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n + 1)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('splits the hash list into consecutive pieces that each verify on their own', async () => {
    expect(hashListPieces(10, 4)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
    expect(hashListPieces(1)).toEqual([{ start: 0, end: 1 }]);
    // a 10 GiB file at 64 KiB pieces: 163,840 hashes, in pieces of at most MAX_HASHES_PER_PIECE
    const ranges = hashListPieces(chunkCount(10 * 1024 ** 3, DEFAULT_CHUNK_SIZE));
    expect(ranges).toHaveLength(10);
    expect(Math.max(...ranges.map((r) => r.end - r.start))).toBe(MAX_HASHES_PER_PIECE);
    const tree = await buildMerkleTree(packedLeaves(37), nodeHasher);
    for (const range of hashListPieces(37, 8)) {
      const piece = makeHashPiece(tree, range);
      expect(await verifyHashPiece(tree.root, 37, piece.start, piece.hashes, piece.proof, nodeHasher)).toBe(
        true,
      );
    }
  });

  it('lets other tasks run while it builds a large tree or checks a large piece', async () => {
    // Node's hasher settles each parent in a microtask: without yields the whole job would hold the
    // event loop, and a socket read (a chat acknowledgement) would wait for it.
    const tasksDuring = async <T>(work: Promise<T>) => {
      let tasks = 0;
      let done = false;
      const count = () => {
        if (done) return;
        tasks++;
        setImmediate(count);
      };
      setImmediate(count);
      const result = await work;
      done = true;
      return { tasks, result };
    };
    const leafCount = 8192; // a 512 MiB file at 64 KiB pieces: 8,191 parents
    const built = await tasksDuring(buildMerkleTree(packedLeaves(leafCount), nodeHasher));
    expect(built.tasks).toBeGreaterThanOrEqual(4);
    const piece = makeHashPiece(built.result, { start: 0, end: leafCount });
    const checked = await tasksDuring(
      verifyHashPiece(built.result.root, leafCount, 0, piece.hashes, piece.proof, nodeHasher),
    );
    expect(checked.tasks).toBeGreaterThanOrEqual(4);
    expect(checked.result).toBe(true);
  });
});
