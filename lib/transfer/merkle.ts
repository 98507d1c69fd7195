/**
 * The Merkle tree over a file's piece hashes, and the hash-list pieces that carry slices of it with
 * their proofs: pure functions, no I/O. The content info that names the root is in manifest.ts.
 *
 * Definition (both ends must agree bit for bit):
 * - leaves: L[i] = sha256(piece i), for i in 0..n-1, n = chunkCount(file_size, chunk_size) >= 1;
 *   an empty file has one leaf, sha256 of the empty string;
 * - a level is reduced to the next by pairing nodes left to right: parent = sha256(0x01 || left || right);
 *   when a level has an odd number of nodes, its last node is promoted unchanged to the next level;
 * - the root is the single node of the last level (with one leaf, the root is that leaf).
 * The root does not encode the leaf count: the verifier takes it from the validated content info
 * (hash_count = chunkCount(file_size, chunk_size)), so the tree shape is known to it and a node
 * cannot be passed off as a leaf of another level.
 *
 * Hash pieces: a contiguous leaf range [start, end) plus a proof, the sibling hashes needed to
 * recompute the root, in the order the verifier consumes them: level by level from the leaves up,
 * at each level first the left neighbour (if the range starts on a right child) then the right
 * neighbour (if the range ends on a left child that has a sibling).
 */
import type { Hasher } from './hasher.ts';
import { HASH_BYTES } from './hasher.ts';
import { bytesEqual, concatBytes } from '../util/bytes.ts';
import { nextTask } from '../util/next-task.ts';

/**
 * Hashes per hash-list piece: 16384 x 32 B = 512 KiB raw (683 KiB base64, ~1.1 MiB as a JSON array
 * of hex), plus a proof of at most 2 x 64 hashes, so a piece frame stays far below the 10 MiB frame
 * cap whatever the encoding. At 64 KiB pieces one hash-list piece covers 1 GiB of file.
 */
export const MAX_HASHES_PER_PIECE = 16_384;

/** Domain-separation prefix of a Merkle parent node: sha256(0x01 || left || right). */
const PARENT_PREFIX = 0x01;

/** All levels of a tree, leaves first, each packed as n x 32 bytes. */
export interface MerkleTree {
  readonly leafCount: number;
  readonly levels: readonly Uint8Array[];
  readonly root: Uint8Array;
}

/** A verifiable slice of the hash list: leaves [start, start + hashes.length / 32) and its proof. */
export interface HashPiece {
  start: number;
  hashes: Uint8Array;
  proof: Uint8Array;
}

export interface LeafRange {
  start: number;
  end: number;
}

/** sha256(0x01 || left || right). */
export function merkleParent(left: Uint8Array, right: Uint8Array, hasher: Hasher): Promise<Uint8Array> {
  const input = new Uint8Array(1 + 2 * HASH_BYTES);
  input[0] = PARENT_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + HASH_BYTES);
  return hasher.sha256(input);
}

/**
 * Parents hashed between two yields to the event loop, building a tree or checking a hash piece.
 * With Node's hasher each parent settles in a microtask, so without yields the loop was held for
 * the whole tree in one task, and a chat acknowledgement arriving then waited for all of it (bench
 * chat-under-load): ~30 ms at the seeder building a 512 MiB file's tree (8,191 parents) when the
 * first hash list is asked for, and 40-56 ms at the downloader checking the piece that carries those
 * 8,192 leaves. 1,024 parents take ~3 ms.
 */
const PARENTS_PER_TASK = 1024;

/** merkleParent for a long run of parents: yields to the event loop after every PARENTS_PER_TASK. */
function parentsInTurns(hasher: Hasher): (left: Uint8Array, right: Uint8Array) => Promise<Uint8Array> {
  let hashed = 0;
  return async (left, right) => {
    const parent = await merkleParent(left, right, hasher);
    if (++hashed % PARENTS_PER_TASK === 0) await nextTask();
    return parent;
  };
}

/** Builds every level from packed leaves (n x 32 bytes, n >= 1). */
export async function buildMerkleTree(leaves: Uint8Array, hasher: Hasher): Promise<MerkleTree> {
  const leafCount = packedCount(leaves);
  if (leafCount < 1) throw new RangeError('a Merkle tree needs at least one leaf');
  const levels: Uint8Array[] = [leaves];
  let level = leaves;
  const parent = parentsInTurns(hasher);
  while (level.length > HASH_BYTES) {
    const size = level.length / HASH_BYTES;
    const next = new Uint8Array(Math.ceil(size / 2) * HASH_BYTES);
    for (let i = 0; i + 1 < size; i += 2) {
      next.set(await parent(node(level, i), node(level, i + 1)), (i / 2) * HASH_BYTES);
    }
    if (size % 2 === 1) next.set(node(level, size - 1), ((size - 1) / 2) * HASH_BYTES);
    levels.push(next);
    level = next;
  }
  return { leafCount, levels, root: level };
}

/** The root only (the tree is built and dropped). */
export async function merkleRoot(leaves: Uint8Array, hasher: Hasher): Promise<Uint8Array> {
  return (await buildMerkleTree(leaves, hasher)).root;
}

/** Splits leaves 0..leafCount into consecutive ranges of at most `maxPerPiece` leaves. */
export function hashListPieces(leafCount: number, maxPerPiece: number = MAX_HASHES_PER_PIECE): LeafRange[] {
  if (!Number.isSafeInteger(maxPerPiece) || maxPerPiece < 1) throw new RangeError('maxPerPiece must be >= 1');
  const ranges: LeafRange[] = [];
  for (let start = 0; start < leafCount; start += maxPerPiece) {
    ranges.push({ start, end: Math.min(start + maxPerPiece, leafCount) });
  }
  return ranges;
}

/** Cuts leaves [start, end) out of the tree with the proof that ties them to the root. */
export function makeHashPiece(tree: MerkleTree, range: LeafRange): HashPiece {
  checkRange(tree.leafCount, range.start, range.end);
  const proof: Uint8Array[] = [];
  walkProof(tree.leafCount, range.start, range.end, (level, index) => {
    proof.push(node(tree.levels[level]!, index));
  });
  return {
    start: range.start,
    hashes: tree.levels[0]!.slice(range.start * HASH_BYTES, range.end * HASH_BYTES),
    proof: concatBytes(proof),
  };
}

/**
 * True when `hashes` (packed, leaves start..) with `proof` recompute `root` for a tree of
 * `leafCount` leaves. Needs no other piece, so hashes are usable the moment a piece arrives.
 */
export async function verifyHashPiece(
  root: Uint8Array,
  leafCount: number,
  start: number,
  hashes: Uint8Array,
  proof: Uint8Array,
  hasher: Hasher,
): Promise<boolean> {
  if (hashes.length % HASH_BYTES !== 0 || proof.length % HASH_BYTES !== 0) return false;
  const end = start + hashes.length / HASH_BYTES;
  if (!Number.isSafeInteger(leafCount) || leafCount < 1 || !Number.isSafeInteger(start)) return false;
  if (start < 0 || end <= start || end > leafCount) return false;

  // Which sibling goes where is fixed by the shape; record the plan, then check the proof length.
  const siblings: Array<{ level: number; index: number }> = [];
  walkProof(leafCount, start, end, (level, index) => siblings.push({ level, index }));
  if (siblings.length !== proof.length / HASH_BYTES) return false;

  const parent = parentsInTurns(hasher);
  let nodes: Uint8Array[] = [];
  for (let i = 0; i < end - start; i++) nodes.push(node(hashes, i));
  let lo = start;
  let size = leafCount;
  let level = 0;
  let used = 0;
  while (size > 1) {
    while (used < siblings.length && siblings[used]!.level === level) {
      const sibling = siblings[used]!;
      if (sibling.index < lo) {
        nodes.unshift(node(proof, used));
        lo = sibling.index;
      } else {
        nodes.push(node(proof, used));
      }
      used++;
    }
    const parents: Uint8Array[] = [];
    for (let i = 0; i < nodes.length; i += 2) {
      // An unpaired last node can only be the level's last node (walkProof added every sibling), so it is promoted.
      parents.push(i + 1 < nodes.length ? await parent(nodes[i]!, nodes[i + 1]!) : nodes[i]!);
    }
    nodes = parents;
    lo /= 2;
    size = Math.ceil(size / 2);
    level++;
  }
  return nodes.length === 1 && bytesEqual(nodes[0]!, root);
}

/**
 * Calls `need(level, index)` for each sibling node a proof of leaves [start, end) must carry, in
 * proof order. Shared by the prover and the verifier so they cannot disagree.
 */
function walkProof(
  leafCount: number,
  start: number,
  end: number,
  need: (level: number, index: number) => void,
): void {
  let lo = start;
  let hi = end;
  let size = leafCount;
  for (let level = 0; size > 1; level++) {
    if (lo % 2 === 1) need(level, --lo);
    if (hi % 2 === 1 && hi < size) need(level, hi++);
    lo /= 2;
    hi = Math.ceil(hi / 2);
    size = Math.ceil(size / 2);
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

function checkRange(leafCount: number, start: number, end: number): void {
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end <= start ||
    end > leafCount
  ) {
    throw new RangeError(`leaf range [${start}, ${end}) outside 0..${leafCount}`);
  }
}

function packedCount(packed: Uint8Array): number {
  if (packed.length % HASH_BYTES !== 0) throw new RangeError('packed hashes must be a multiple of 32 bytes');
  return packed.length / HASH_BYTES;
}

/** The i-th 32-byte node of a packed level (a view, not a copy). */
function node(packed: Uint8Array, i: number): Uint8Array {
  return packed.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
}
