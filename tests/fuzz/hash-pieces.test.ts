import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import { buildMerkleTree, makeHashPiece, verifyHashPiece } from '../../lib/transfer/merkle.ts';
import { fuzzParams, mutatedBytes, withinHangBoundAsync } from '../support/fuzz.ts';

/**
 * Fuzzing of the `hashes` answer (a piece of a file's hash list with its Merkle proof), as a hostile
 * swarm peer could send it: any start, any leaf count it may lie about, hash and proof bytes of any
 * length. The verifier answers a boolean, never throws, never hangs, and accepts nothing but the
 * genuine piece.
 */

describe('hash list piece verifier (verifyHashPiece)', () => {
  it('answers arbitrary pieces with false, never a throw', async () => {
    const root = new Uint8Array(32).fill(7);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: -2, max: 64 }), fc.maxSafeNat(), fc.constantFrom(2 ** 53, NaN, 0.5)),
        fc.oneof(fc.integer({ min: -2, max: 64 }), fc.maxSafeNat()),
        fc.uint8Array({ maxLength: 32 * 40 }),
        fc.uint8Array({ maxLength: 32 * 60 }),
        async (leafCount, start, hashes, proof) => {
          const ok = await withinHangBoundAsync(() => verifyHashPiece(root, leafCount, start, hashes, proof, nodeHasher));
          expect(ok).toBe(false);
        },
      ),
      fuzzParams(),
    );
  });

  it('refuses every mutation of a genuine piece (flips, truncation, insertion, huge values)', async () => {
    const leaves = new Uint8Array(32 * 37).map((_, i) => (i * 31) & 0xff);
    const tree = await buildMerkleTree(leaves, nodeHasher);
    const piece = makeHashPiece(tree, { start: 5, end: 21 });
    expect(await verifyHashPiece(tree.root, 37, piece.start, piece.hashes, piece.proof, nodeHasher)).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedBytes(fc.constant(piece.hashes)).map((hashes) => ({ hashes, proof: piece.proof })),
          mutatedBytes(fc.constant(piece.proof)).map((proof) => ({ hashes: piece.hashes, proof })),
        ),
        async ({ hashes, proof }) => {
          const unchanged = Buffer.from(hashes).equals(piece.hashes) && Buffer.from(proof).equals(piece.proof);
          const ok = await withinHangBoundAsync(() => verifyHashPiece(tree.root, 37, piece.start, hashes, proof, nodeHasher));
          expect(ok).toBe(unchanged);
        },
      ),
      fuzzParams(),
    );
  });
});
