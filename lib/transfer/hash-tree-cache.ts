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

  /** Hashes [start, start + count) with their proof, or null when the file is not shared or the range is bad. */
  async piece(fileId: string, start: number, count: number): Promise<HashPiece | null> {
    const file = this.library.get(fileId);
    if (!file || count > MAX_HASHES_PER_PIECE || start + count > file.hashCount) return null;
    let tree = this.#trees.get(fileId);
    if (!tree) {
      tree = this.library.leaves(fileId).then((leaves) => buildMerkleTree(leaves, this.hasher));
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
