import { ENDGAME_STRAGGLER_FRACTION } from '../../lib/transfer/piece-picker.ts';
import { REFUSED_RETRY_MS } from '../../lib/transfer/request-book.ts';
/** The Scheduler's API, call by call, with hand-picked inputs (the swarm scenarios are in scheduler.test.ts). */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../lib/transfer/bitfield.ts';
import { Scheduler, type ChunkRequest, type HeldPieces } from '../../lib/transfer/scheduler.ts';
import { mulberry32 } from '../support/scheduler-sim.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const PIECE = 64 * KiB;

function make(pieces: number, extra: { stallTimeoutMs?: number; have?: HeldPieces } = {}): Scheduler {
  return new Scheduler({
    fileSize: pieces * PIECE,
    pieceSize: PIECE,
    now: 0,
    random: mulberry32(3),
    ...extra,
  });
}

const pieceSet = (requests: ChunkRequest[]) => requests.map((r) => r.firstPiece).sort((a, b) => a - b);

/** The time at which every request in `requests` straggles (the endgame may copy it from then on). */
function stragglingAt(requests: readonly { sentAt: number; deadline: number }[]): number {
  return Math.max(...requests.map((r) => r.sentAt + (r.deadline - r.sentAt) * ENDGAME_STRAGGLER_FRACTION));
}

describe('Scheduler API', () => {
  it('checks its sizes; an empty file is complete at once', () => {
    expect(() => new Scheduler({ fileSize: -1, pieceSize: PIECE, now: 0 })).toThrow(RangeError);
    expect(() => new Scheduler({ fileSize: 10, pieceSize: 0, now: 0 })).toThrow(RangeError);
    const empty = new Scheduler({ fileSize: 0, pieceSize: PIECE, now: 0 });
    expect(empty.state(0)).toBe('complete');
    expect(empty.stats().progress).toBe(1);
  });

  it('refuses a chunk size that is not a multiple of the piece size, a duplicate and a banned peer', () => {
    const scheduler = make(8);
    expect(scheduler.addPeer('odd', { chunkSize: 100 * KiB, hasAll: true })).toEqual({
      ok: false,
      reason: `chunk size ${100 * KiB} is not a multiple of the piece size ${PIECE}`,
    });
    expect(scheduler.addPeer('a', { chunkSize: MiB, hasAll: true })).toEqual({ ok: true });
    expect(scheduler.addPeer('a', { chunkSize: MiB, hasAll: true }).ok).toBe(false);
    scheduler.banPeer('a', 'whole-file checksum mismatch', 0);
    scheduler.removePeer('a', 0);
    const again = scheduler.addPeer('a', { chunkSize: MiB, hasAll: true });
    expect(again.ok === false && again.reason).toContain('whole-file checksum mismatch');
  });

  it('fills a new peer to its initial window, one distinct piece per request', () => {
    const scheduler = make(100);
    expect(scheduler.nextRequests(0)).toEqual([]);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const requests = scheduler.nextRequests(0);
    expect(requests).toHaveLength(4);
    expect(new Set(pieceSet(requests)).size).toBe(4);
    for (const request of requests) {
      expect(request).toMatchObject({ peerId: 'a', bytes: PIECE, sentAt: 0, deadline: 4_000 });
      expect(request.lastPiece).toBe(request.firstPiece);
    }
    expect(scheduler.nextRequests(1)).toEqual([]); // window full
    expect(scheduler.nextDeadline()).toBe(4_000);
  });

  it('asks a peer in its own chunk size; the last chunk is short', () => {
    const fileSize = 2 * MiB + 100;
    const scheduler = new Scheduler({ fileSize, pieceSize: PIECE, now: 0, random: mulberry32(1) });
    scheduler.addPeer('std', { chunkSize: MiB, hasAll: true });
    const requests = scheduler.nextRequests(0).sort((a, b) => a.chunkIndex - b.chunkIndex);
    expect(requests.map((r) => [r.chunkIndex, r.firstPiece, r.lastPiece, r.bytes])).toEqual([
      [0, 0, 15, MiB],
      [1, 16, 31, MiB],
      [2, 32, 32, 100],
    ]);
    expect(scheduler.expectedChunkBytes('std', 2)).toBe(100);
    expect(scheduler.expectedChunkBytes('std', 3)).toBeUndefined();
    const result = scheduler.onChunk('std', 0, 50, 'ok');
    expect(result.outcome).toBe('accepted');
    expect(result.accepted).toEqual([...Array(16).keys()]);
  });

  it('asks for the rarest pieces first', () => {
    const scheduler = make(10);
    scheduler.addPeer('seed', { chunkSize: PIECE, hasAll: true });
    scheduler.addPeer('p', { chunkSize: PIECE, hasAll: false });
    for (const chunk of [0, 1, 2, 3, 4, 5, 7, 8]) scheduler.peerHas('p', chunk); // 6 and 9 only at the seed
    const fromSeed = scheduler.nextRequests(0).filter((r) => r.peerId === 'seed');
    expect(pieceSet(fromSeed.slice(0, 2))).toEqual([6, 9]);
  });

  it('asks seeders only for pieces in index order from the lowest missing one', () => {
    const scheduler = make(64, { have: [0, 2] });
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    scheduler.addPeer('b', { chunkSize: PIECE, hasAll: true });
    const first = scheduler.nextRequests(0);
    expect(first.map((r) => r.firstPiece)).toEqual([1, 3, 4, 5, 6, 7, 8, 9]);
    scheduler.onTimeouts(first[0]!.deadline); // every request withdrawn: picked again from the lowest
    expect(scheduler.nextRequests(first[0]!.deadline).map((r) => r.firstPiece).slice(0, 2)).toEqual([1, 3]);
  });

  it('in index order, a big-chunk seeder skips a chunk that overlaps a small-chunk request', () => {
    const scheduler = make(64);
    scheduler.addPeer('small', { chunkSize: PIECE, hasAll: true });
    scheduler.addPeer('big', { chunkSize: 4 * PIECE, hasAll: true });
    const requests = scheduler.nextRequests(0).map((r) => [r.peerId, r.firstPiece, r.lastPiece]);
    const covered = new Map<number, number>();
    for (const [, firstPiece, lastPiece] of requests)
      for (let piece = firstPiece as number; piece <= (lastPiece as number); piece++)
        covered.set(piece, (covered.get(piece) ?? 0) + 1);
    expect([...covered.values()].every((count) => count === 1)).toBe(true);
    expect(Math.min(...covered.keys())).toBe(0);
  });

  it('asks a partial peer only for what it announced', () => {
    const scheduler = make(10);
    scheduler.addPeer('p', { chunkSize: PIECE, hasAll: false });
    expect(scheduler.nextRequests(0)).toEqual([]);
    expect(scheduler.peerHas('p', 7)).toBe(true);
    expect(scheduler.peerHas('p', 7)).toBe(false);
    expect(scheduler.peerHas('p', 99)).toBe(false);
    expect(pieceSet(scheduler.nextRequests(0))).toEqual([7]);
  });

  it('asks a partial peer for pieces already asked of a seeder once it has them, and cancels the loser', () => {
    const scheduler = make(8);
    scheduler.addPeer('seeder', { chunkSize: 4 * PIECE, hasAll: true });
    scheduler.addPeer('p', { chunkSize: 4 * PIECE, hasAll: false });
    const toSeeder = scheduler.nextRequests(0);
    expect(toSeeder.map((r) => r.peerId)).toEqual(['seeder', 'seeder']);
    // The neighbour got chunk 1 elsewhere: it takes over the seeder's request for it.
    scheduler.peerHas('p', 1);
    const relayed = scheduler.nextRequests(10);
    expect(relayed).toMatchObject([{ peerId: 'p', chunkIndex: 1 }]);
    const result = scheduler.onChunk('p', 1, 20, 'ok');
    expect(result.accepted).toEqual([4, 5, 6, 7]);
    expect(result.cancel).toMatchObject([{ peerId: 'seeder', chunkIndex: 1 }]);
  });

  it('asks a seeder slower than a partial peer only for pieces no partial peer has', () => {
    const scheduler = make(32);
    scheduler.addPeer('seeder', { chunkSize: PIECE, hasAll: true });
    scheduler.addPeer('p', { chunkSize: PIECE, hasAll: false });
    for (let piece = 0; piece < 31; piece++) scheduler.peerHas('p', piece);
    // Before any rate is known both are asked; the seeder's first pick is the piece only it has.
    const first = scheduler.nextRequests(0);
    expect(first.find((r) => r.peerId === 'seeder')?.firstPiece).toBe(31);
    for (const r of first) scheduler.onChunk(r.peerId, r.chunkIndex, r.peerId === 'seeder' ? 400 : 5, 'ok');
    // The partial peer answered 80x faster: the seeder is left alone, the partial peer gets the rest.
    const next = scheduler.nextRequests(500);
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((r) => r.peerId === 'p')).toBe(true);
  });

  it('credits each piece once: a second good copy is redundant', () => {
    const scheduler = make(4);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    scheduler.addPeer('b', { chunkSize: 4 * PIECE, hasAll: true });
    const first = scheduler.nextRequests(0);
    // B's copy comes in the endgame, once A's requests straggle.
    const t = stragglingAt(first);
    const requests = [...first, ...scheduler.nextRequests(t)];
    const fromA = requests.find((r) => r.peerId === 'a')!;
    expect(scheduler.onChunk('a', fromA.chunkIndex, t + 10, 'ok').accepted).toEqual([fromA.firstPiece]);
    const fromB = requests.find((r) => r.peerId === 'b')!;
    const big = scheduler.onChunk('b', fromB.chunkIndex, t + 20, 'ok');
    expect(big.accepted).toHaveLength(3);
    expect(big.accepted).not.toContain(fromA.firstPiece);
    const stats = scheduler.stats();
    expect(stats.bytesHeld).toBe(4 * PIECE);
    expect(stats.peers.map((p) => [p.peerId, p.bytes])).toEqual([
      ['a', PIECE],
      ['b', 3 * PIECE],
    ]);
    expect(scheduler.state(t + 20)).toBe('complete');
  });

  it('does not copy requests in the endgame before they straggle', () => {
    const scheduler = make(4);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const fromA = scheduler.nextRequests(0);
    scheduler.addPeer('b', { chunkSize: PIECE, hasAll: true });
    expect(scheduler.nextRequests(1)).toEqual([]);
    expect(scheduler.nextDeadline(1)).toBe(stragglingAt(fromA));
  });

  it('copies a refused request in the endgame at once, to another peer only', () => {
    const scheduler = make(4);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const fromA = scheduler.nextRequests(0); // all 4 pieces
    scheduler.addPeer('b', { chunkSize: PIECE, hasAll: true });
    expect(scheduler.nextRequests(1)).toEqual([]); // nothing straggles yet
    expect(scheduler.onUnavailable('a', 99, 2)).toBe(false); // never asked
    expect(scheduler.onUnavailable('a', fromA[2]!.chunkIndex, 2)).toBe(true);
    expect(scheduler.onUnavailable('a', fromA[2]!.chunkIndex, 2)).toBe(false); // once
    const copies = scheduler.nextRequests(3);
    expect(copies.map((r) => [r.peerId, r.chunkIndex])).toEqual([['b', fromA[2]!.chunkIndex]]);
    expect(scheduler.nextRequests(4)).toEqual([]); // a is not asked again, b once
    const won = scheduler.onChunk('b', copies[0]!.chunkIndex, 10, 'ok');
    expect(won.cancel).toEqual([expect.objectContaining({ peerId: 'a', chunkIndex: fromA[2]!.chunkIndex })]);
  });

  it('asks a lone source again REFUSED_RETRY_MS after it refused, and gives up on one that keeps refusing', () => {
    const scheduler = make(2, { stallTimeoutMs: 5_000 });
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const sent = scheduler.nextRequests(0);
    const first = sent.find((r) => r.firstPiece === 0);
    expect(scheduler.onChunk('a', sent.find((r) => r.firstPiece === 1)!.chunkIndex, 50, 'ok').outcome).toBe('accepted');
    expect(scheduler.onUnavailable('a', first!.chunkIndex, 100)).toBe(true);
    expect(scheduler.nextDeadline(100)).toBeLessThanOrEqual(100 + REFUSED_RETRY_MS);
    expect(scheduler.onTimeouts(100 + REFUSED_RETRY_MS - 1)).toEqual([]);
    expect(scheduler.onTimeouts(100 + REFUSED_RETRY_MS)).toEqual([first]); // not after the 4 s deadline
    const again = scheduler.nextRequests(100 + REFUSED_RETRY_MS);
    expect(again.map((r) => [r.peerId, r.firstPiece])).toEqual([['a', 0]]);
    // Refusals count like timeouts: a peer refusing three times in a row is no usable source.
    let t = 100 + REFUSED_RETRY_MS;
    for (let refusal = 2; refusal <= 3; refusal++) {
      const request = refusal === 2 ? again[0]! : scheduler.nextRequests(t)[0]!;
      scheduler.onUnavailable('a', request.chunkIndex, t);
      t += REFUSED_RETRY_MS;
      scheduler.onTimeouts(t);
    }
    expect(scheduler.state(t)).toBe('running');
    expect(scheduler.state(t + 5_000 + 1)).toBe('stalled');
  });

  it('puts the pieces of a bad chunk back, and bans at the third with a reason', () => {
    const scheduler = make(4);
    scheduler.addPeer('evil', { chunkSize: PIECE, hasAll: true });
    const first = scheduler.nextRequests(0);
    const bad = scheduler.onChunk('evil', first[0]!.chunkIndex, 5, 'bad');
    expect(bad).toEqual({ outcome: 'rejected', accepted: [], cancel: [] });
    expect(scheduler.hasPiece(first[0]!.firstPiece)).toBe(false);
    expect(scheduler.onChunk('evil', first[1]!.chunkIndex, 6, 'wrong-size').banned).toBeUndefined();
    const third = scheduler.onChunk('evil', first[2]!.chunkIndex, 7, 'bad');
    expect(third.banned).toMatch(
      /^banned after 3 bad chunks: chunk \d+ failed verification; chunk \d+ had the wrong size/,
    );
    expect(scheduler.stats().inFlight).toBe(0);
    expect(scheduler.nextRequests(8)).toEqual([]);
    expect(scheduler.onChunk('evil', first[3]!.chunkIndex, 9, 'ok').outcome).toBe('ignored');
    // The pieces are free for an honest peer, including the one evil still held.
    scheduler.addPeer('good', { chunkSize: PIECE, hasAll: true });
    expect(pieceSet(scheduler.nextRequests(10))).toEqual([0, 1, 2, 3]);
  });

  it('counts a chunk nobody asked for as a bad chunk', () => {
    const scheduler = make(20);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const asked = new Set(scheduler.nextRequests(0).map((r) => r.chunkIndex));
    const unasked = [...Array(20).keys()].find((chunk) => !asked.has(chunk))!;
    expect(scheduler.onChunk('a', unasked, 5, 'ok').outcome).toBe('rejected');
    expect(scheduler.hasPiece(unasked)).toBe(false);
    expect(scheduler.stats().peers[0]!.badChunks).toBe(1);
  });

  it('withdraws timed-out requests, hands them to another peer, and still takes a late good answer', () => {
    const scheduler = make(4);
    scheduler.addPeer('slow', { chunkSize: PIECE, hasAll: true });
    const first = scheduler.nextRequests(0);
    expect(scheduler.onTimeouts(3_999)).toEqual([]);
    const expired = scheduler.onTimeouts(4_000);
    expect(pieceSet(expired)).toEqual([0, 1, 2, 3]);
    expect(scheduler.stats().peers[0]).toMatchObject({ timeouts: 4, inFlight: 0, window: 2 });
    scheduler.addPeer('other', { chunkSize: PIECE, hasAll: true });
    const retried = scheduler.nextRequests(4_000).filter((r) => r.peerId === 'other');
    expect(pieceSet(retried)).toEqual([0, 1, 2, 3]);
    // The slow peer answers after all: taken while still missing (and the other copy is cancelled) ...
    const late = scheduler.onChunk('slow', first[0]!.chunkIndex, 4_100, 'ok');
    expect(late.outcome).toBe('accepted');
    expect(late.cancel.map((r) => [r.peerId, r.chunkIndex])).toEqual([['other', first[0]!.chunkIndex]]);
    // ... and redundant, not bad, once the piece came from elsewhere first.
    expect(scheduler.onChunk('other', first[1]!.chunkIndex, 4_150, 'ok').outcome).toBe('accepted');
    expect(scheduler.onChunk('slow', first[1]!.chunkIndex, 4_200, 'ok').outcome).toBe('redundant');
    expect(scheduler.stats().peers.find((p) => p.peerId === 'slow')!.badChunks).toBe(0);
  });

  it('in the endgame asks an idle peer for pieces already in flight, and cancels the loser', () => {
    const scheduler = make(4);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    const fromA = scheduler.nextRequests(0); // all 4 pieces
    scheduler.addPeer('b', { chunkSize: PIECE, hasAll: true });
    expect(scheduler.stats().endgame).toBe(true);
    const t = stragglingAt(fromA);
    const fromB = scheduler.nextRequests(t);
    expect(fromB.map((r) => r.peerId)).toEqual(['b', 'b', 'b', 'b']);
    expect(pieceSet(fromB)).toEqual([0, 1, 2, 3]);
    expect(fromB[0]!.firstPiece).toBe(fromA[0]!.firstPiece); // oldest first
    const won = scheduler.onChunk('b', fromB[0]!.chunkIndex, t + 10, 'ok');
    expect(won.cancel).toEqual([fromA[0]]);
    // A's answer still comes (no cancel in the standard protocol): redundant, not penalised.
    expect(scheduler.onChunk('a', fromA[0]!.chunkIndex, t + 12, 'ok').outcome).toBe('redundant');
  });

  it('asks for a piece at most 1 + MAX_DUPLICATES_PER_PIECE times at once', () => {
    const scheduler = make(1);
    for (const id of ['a', 'b', 'c', 'd', 'e']) scheduler.addPeer(id, { chunkSize: PIECE, hasAll: true });
    const first = scheduler.nextRequests(0);
    expect(first).toHaveLength(1);
    expect(scheduler.nextRequests(stragglingAt(first))).toHaveLength(2);
  });

  it('returns the requests of a peer that leaves to the pool', () => {
    const scheduler = make(4);
    scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
    scheduler.nextRequests(0);
    scheduler.removePeer('a', 1);
    scheduler.addPeer('b', { chunkSize: PIECE, hasAll: true });
    expect(pieceSet(scheduler.nextRequests(2))).toEqual([0, 1, 2, 3]);
  });

  it("reports 'stalled' after the stall timeout without a source, and 'running' again with one", () => {
    const scheduler = make(4, { stallTimeoutMs: 30_000 });
    expect(scheduler.state(29_999)).toBe('running');
    expect(scheduler.state(30_000)).toBe('stalled');
    scheduler.addPeer('p', { chunkSize: PIECE, hasAll: false });
    scheduler.peerHas('p', 0);
    expect(scheduler.state(30_001)).toBe('stalled'); // pieces 1-3 still have no source
    for (const chunk of [1, 2, 3]) scheduler.peerHas('p', chunk);
    expect(scheduler.state(31_500)).toBe('running'); // noticed at the next coverage scan
  });

  it('resumes from a Bitfield or a list of held pieces', () => {
    const field = new Bitfield(8);
    for (const piece of [0, 2, 4, 6]) field.set(piece);
    for (const have of [field, [0, 2, 4, 6]]) {
      const scheduler = make(8, { have });
      expect(scheduler.stats()).toMatchObject({ missingCount: 4, progress: 0.5 });
      scheduler.addPeer('a', { chunkSize: PIECE, hasAll: true });
      expect(pieceSet(scheduler.nextRequests(0))).toEqual([1, 3, 5, 7]);
    }
  });
});
