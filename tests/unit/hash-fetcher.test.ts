import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashFetcher, HASHES_TIMEOUT_MS } from '../../lib/transfer/hash-fetcher.ts';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import { buildMerkleTree, makeHashPiece } from '../../lib/transfer/merkle.ts';
import { bytesToHex } from '../../lib/util/base64.ts';
import { realTimers } from '../../lib/util/timers.ts';

const LEAVES = 8;

async function fetcherFor(candidates: () => string[]) {
  const tree = await buildMerkleTree(randomBytes(LEAVES * 32), nodeHasher);
  const requests: { peerId: string; start: number; count: number }[] = [];
  const blamed: string[] = [];
  const fetcher = new HashFetcher(bytesToHex(tree.root), LEAVES, {
    hasher: nodeHasher,
    timers: realTimers,
    candidates,
    request: (peerId, start, count) => requests.push({ peerId, start, count }),
    blame: (peerId) => blamed.push(peerId),
  });
  return { tree, fetcher, requests, blamed };
}

describe('HashFetcher', () => {
  it('asks a candidate for the hash list and fills it from a verified answer', async () => {
    const { tree, fetcher, requests, blamed } = await fetcherFor(() => ['a']);
    expect(fetcher.pump(0)).toBe(true);
    expect(requests).toEqual([{ peerId: 'a', start: 0, count: LEAVES }]);
    const piece = makeHashPiece(tree, { start: 0, end: LEAVES });
    expect(await fetcher.onHashes('a', 0, piece.hashes, piece.proof)).toBe(true);
    expect(fetcher.done).toBe(true);
    expect(blamed).toEqual([]);
  });

  it('gives up only after no peer could answer for HASHES_TIMEOUT_MS, counted from the last one', async () => {
    let candidates: string[] = [];
    const { fetcher, requests } = await fetcherFor(() => candidates);
    expect(fetcher.pump(0)).toBe(true); // none since 0
    expect(fetcher.pump(HASHES_TIMEOUT_MS)).toBe(true);
    candidates = ['a']; // one comes: the wait starts again when it goes
    expect(fetcher.pump(HASHES_TIMEOUT_MS + 1)).toBe(true);
    expect(requests.map((r) => r.peerId)).toEqual(['a']);
    candidates = [];
    expect(fetcher.pump(HASHES_TIMEOUT_MS + 2)).toBe(true);
    expect(fetcher.pump(2 * HASHES_TIMEOUT_MS + 2)).toBe(true);
    expect(fetcher.pump(2 * HASHES_TIMEOUT_MS + 3)).toBe(false);
  });
});
