import type { Hasher } from './hasher.ts';
import type { Library } from './library.ts';
import { buildMerkleTree, makeHashPiece, MAX_HASHES_PER_PIECE } from './merkle.ts';
import type { HashPiece, MerkleTree } from './merkle.ts';

/**
 * Merkle trees of shared files, built on first request for their hashes and kept for the few files
 * being fetched at once (a 1 GiB file's tree is about 1 MiB), so answering piece after piece of a
 * hash list does not rebuild the tree each time.
 */
const MAX_TREES = 8;

export class HashTreeCache {
  #trees = new Map<string, Promise<MerkleTree>>();
  constructor(
    private readonly library: Library,
    private readonly hasher: Hasher,
  ) {}

  /**
   * Hashes [start, start + count) with their proof, or null when we hold no verified hash list for the
   * file or the range is bad. A shared file's list comes from the library; a file still downloading
   * can pass on the list it verified against the content root (`partialLeaves`).
   */
  async piece(fileId: string, start: number, count: number, partialLeaves?: () => Uint8Array | null): Promise<HashPiece | null> {
    if (count > MAX_HASHES_PER_PIECE) return null;
    let tree = this.#trees.get(fileId);
    if (!tree) {
      const leaves = this.library.get(fileId) ? this.library.leaves(fileId) : partialLeaves?.();
      if (!leaves) return null;
      tree = Promise.resolve(leaves).then((packed) => buildMerkleTree(packed, this.hasher));
      this.#trees.set(fileId, tree);
      if (this.#trees.size > MAX_TREES) this.#trees.delete(this.#trees.keys().next().value!);
    }
    try {
      return makeHashPiece(await tree, { start, end: start + count });
    } catch {
      this.#trees.delete(fileId);
      return null;
    }
  }
}
