import type { Hasher } from './hasher.ts';
import { HASH_BYTES } from './hasher.ts';
import { checkChunkAgainstPieces } from './manifest.ts';
import type { ChunkVerdict } from './scheduler.ts';

/**
 * The verdict on one received chunk, before anything is stored: the size it must have (the sender's
 * own chunk size and the scheduler's expectation), then each whole piece it covers against the
 * Merkle-verified piece hashes when we have them. Without them a chunk of the right size is 'ok'
 * here and the whole-file check against file_id decides at the end.
 */
export interface ChunkToJudge {
  fileSize: number;
  pieceSize: number;
  /** The chunk size we ask this source in. */
  sourceChunkSize: number;
  chunkIndex: number;
  /** The size the sender says its index counts in (binary frames carry it), or null. */
  claimedChunkSize: number | null;
  /** What the scheduler expects for this request; undefined when it never asked for it. */
  expectedBytes: number | undefined;
  data: Uint8Array;
  leaves: Uint8Array | null;
  hasher: Hasher;
}

export interface ChunkJudgement {
  verdict: ChunkVerdict;
  /** Why it was rejected, for the log ('' when ok). */
  reason: string;
  /** Every byte was checked against a piece hash. */
  checkedByLeaf: boolean;
}

export async function judgeChunk(chunk: ChunkToJudge): Promise<ChunkJudgement> {
  const { chunkIndex, data, expectedBytes } = chunk;
  if (
    (chunk.claimedChunkSize !== null && chunk.claimedChunkSize !== chunk.sourceChunkSize) ||
    expectedBytes === undefined ||
    data.byteLength !== expectedBytes
  ) {
    const reason = `chunk ${chunkIndex} has ${data.byteLength} bytes, expected ${expectedBytes ?? 'none'}`;
    return { verdict: 'wrong-size', reason, checkedByLeaf: false };
  }
  const leaves = chunk.leaves;
  if (!leaves) return { verdict: 'ok', reason: '', checkedByLeaf: false };
  const check = await checkChunkAgainstPieces({
    fileSize: chunk.fileSize,
    pieceSize: chunk.pieceSize,
    otherChunkSize: chunk.sourceChunkSize,
    otherIndex: chunkIndex,
    data,
    pieceHash: (i) => leaves.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES),
    hasher: chunk.hasher,
  });
  if (check.result === 'corrupt') {
    return {
      verdict: 'bad',
      reason: `chunk ${chunkIndex} failed verification (piece ${check.piece})`,
      checkedByLeaf: false,
    };
  }
  return { verdict: 'ok', reason: '', checkedByLeaf: check.result === 'verified' };
}
