/**
 * The scheduler in a simulated swarm (tests/support/scheduler-sim.ts): virtual time, simulated
 * peers with rates, latencies and misbehaviours. Every figure here is virtual time, i.e. a
 * property of the scheduling logic, not a speed measurement of this machine.
 */
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimPeerSpec, type SimResult } from '../support/scheduler-sim.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const PIECE = 64 * KiB;
/** Upload cap of a simulated peer: 10 MB/s. */
const R = 10e6;

function seeder(id: string, extra: Partial<SimPeerSpec> = {}): SimPeerSpec {
  return { id, chunkSize: PIECE, rateBps: R, latencyMs: 20, ...extra };
}

function peerStats(result: SimResult, peerId: string) {
  const stats = result.stats.peers.find((peer) => peer.peerId === peerId);
  if (!stats) throw new Error(`no stats for ${peerId}`);
  return stats;
}

/** Bytes per second over the download, in virtual time. */
function throughput(result: SimResult, fileSize: number): number {
  return fileSize / (result.completedAtMs! / 1000);
}

function expectEveryPieceOnce(result: SimResult): void {
  expect(result.state).toBe('complete');
  expect([...result.acceptCount].every((count) => count === 1)).toBe(true);
}

describe('Scheduler in a simulated swarm', () => {
  it('splits the file about evenly between three equal seeders and reaches >= 2.7 R together', () => {
    const fileSize = 256 * MiB;
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: ['a', 'b', 'c'].map((id) => seeder(id)),
    });
    expectEveryPieceOnce(result);
    for (const id of ['a', 'b', 'c']) {
      const share = peerStats(result, id).bytes / fileSize;
      expect(share).toBeGreaterThan(0.3);
      expect(share).toBeLessThan(0.37);
    }
    expect(throughput(result, fileSize)).toBeGreaterThanOrEqual(2.7 * R);
    expect(result.violations).toEqual([]);
  });

  it('gives a throttled peer (1/10 the rate) far fewer chunks than a fast one', () => {
    const fileSize = 64 * MiB;
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('fast'), seeder('slow', { rateBps: R / 10 })],
    });
    expectEveryPieceOnce(result);
    const fast = peerStats(result, 'fast').chunks;
    const slow = peerStats(result, 'slow').chunks;
    expect(slow).toBeGreaterThan(0);
    expect(slow).toBeLessThan(fast / 5);
    expect(peerStats(result, 'slow').window).toBeLessThan(peerStats(result, 'fast').window);
  });

  it('is not stalled by a peer that accepts requests and never answers: its chunks move on', () => {
    const fileSize = 64 * MiB; // long enough for the silent peer's first requests to time out
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('dead', { behaviour: 'silent' }), seeder('alive')],
    });
    expectEveryPieceOnce(result);
    const dead = peerStats(result, 'dead');
    expect(dead).toMatchObject({ chunks: 0, window: 2, banned: false });
    expect(result.timeouts.filter((request) => request.peerId === 'dead').length).toBeGreaterThan(0);
    expect(peerStats(result, 'alive').bytes).toBe(fileSize);
    // Its requests were taken over (timeouts, then the endgame): about as fast as the live peer alone.
    expect(result.completedAtMs!).toBeLessThan((fileSize / R) * 1000 * 1.1);
  });

  it('bans a corrupt peer after 3 bad chunks, with the reason, and completes from the honest one', () => {
    const fileSize = 16 * MiB;
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('evil', { behaviour: 'corrupt' }), seeder('honest')],
    });
    expectEveryPieceOnce(result);
    expect(result.bans).toHaveLength(1);
    expect(result.bans[0]!.peerId).toBe('evil');
    expect(result.bans[0]!.reason).toMatch(/^banned after 3 bad chunks: chunk \d+ failed verification; /);
    const evil = peerStats(result, 'evil');
    expect(evil).toMatchObject({ banned: true, badChunks: 3, chunks: 0, bytes: 0, inFlight: 0 });
    expect(evil.banReason).toBe(result.bans[0]!.reason);
    expect(peerStats(result, 'honest').bytes).toBe(fileSize);
  });

  it("ends 'stalled' once only corrupt sources are left, after the stall timeout", () => {
    const stallTimeoutMs = 30_000;
    const result = runSimulation({
      fileSize: 8 * MiB,
      pieceSize: PIECE,
      stallTimeoutMs,
      peers: [
        seeder('e1', { behaviour: 'corrupt' }),
        seeder('e2', { chunkSize: MiB, behaviour: 'wrong-size' }),
      ],
    });
    expect(result.state).toBe('stalled');
    expect(result.bans.map((ban) => ban.peerId).sort()).toEqual(['e1', 'e2']);
    expect(result.bans[1]!.reason).toContain('had the wrong size');
    const lastBan = Math.max(...result.bans.map((ban) => ban.atMs));
    expect(result.timeMs - lastBan).toBeGreaterThanOrEqual(stallTimeoutMs);
    expect(result.timeMs - lastBan).toBeLessThan(stallTimeoutMs + 2_000);
    expect(result.stats.missingCount).toBe(result.stats.pieceCount);
  });

  it("ends 'stalled' when the only source never answers", () => {
    const result = runSimulation({
      fileSize: 4 * MiB,
      pieceSize: PIECE,
      stallTimeoutMs: 10_000,
      peers: [seeder('dead', { behaviour: 'silent' })],
    });
    expect(result.state).toBe('stalled');
    expect(peerStats(result, 'dead').unresponsive).toBe(true);
    expect(result.timeouts.length).toBeGreaterThanOrEqual(3);
  });

  it('completes from a 64 KiB swarm peer and a 1 MiB standard peer without counting any byte twice', () => {
    const fileSize = 64 * MiB + 12_345; // a short last piece and a short last chunk
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('swarm'), seeder('standard', { chunkSize: MiB, honoursCancel: false })],
    });
    expectEveryPieceOnce(result);
    const swarm = peerStats(result, 'swarm');
    const standard = peerStats(result, 'standard');
    expect(swarm.chunks).toBeGreaterThan(0);
    expect(standard.chunks).toBeGreaterThan(0);
    expect(swarm.bytes + standard.bytes).toBe(fileSize);
    expect(result.stats.bytesHeld).toBe(fileSize);
    expect(result.stats.progress).toBe(1);
    for (const request of result.requests.filter((r) => r.peerId === 'standard')) {
      expect(request.firstPiece).toBe(request.chunkIndex * 16);
      expect(request.lastPiece).toBe(Math.min(request.firstPiece + 15, result.stats.pieceCount - 1));
    }
    // Small-chunk runs stay aligned to the big chunks, so little is fetched twice (about 13 % without that).
    const wasted = swarm.receivedBytes + standard.receivedBytes - fileSize;
    expect(wasted).toBeLessThan(fileSize * 0.08);
  });

  it('copies straggling requests in the endgame and cancels the losers', () => {
    const fileSize = 32 * MiB;
    // A peer that takes requests and never answers: its last requests straggle, and the endgame
    // copies them to the fast peer at half their allowed time instead of waiting for the timeout.
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('fast'), seeder('silent', { behaviour: 'silent' })],
    });
    expectEveryPieceOnce(result);
    const askedOf = new Map<number, Set<string>>();
    for (const request of result.requests) {
      const peers = askedOf.get(request.firstPiece) ?? new Set();
      askedOf.set(request.firstPiece, peers.add(request.peerId));
    }
    const duplicated = [...askedOf.values()].filter((peers) => peers.size > 1).length;
    expect(duplicated).toBeGreaterThan(0);
    expect(result.cancels.some((request) => request.peerId === 'silent')).toBe(true);
  });

  it('does not copy the tail of a slow but steady peer (no bytes uploaded twice)', () => {
    const fileSize = 32 * MiB;
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('fast'), seeder('slow', { rateBps: R / 10 })],
    });
    expectEveryPieceOnce(result);
    expect(peerStats(result, 'fast').redundantChunks + peerStats(result, 'slow').redundantChunks).toBe(0);
    // The tail waits at most for the slow peer's short queue: still close to the sum of both rates.
    expect(throughput(result, fileSize)).toBeGreaterThan(0.9 * 1.1 * R);
  });

  it('after a resume with half the pieces held, asks only for the missing half', () => {
    const fileSize = 32 * MiB;
    const pieceCount = fileSize / PIECE;
    const held = [...Array(pieceCount).keys()].filter((piece) => piece % 2 === 0);
    const result = runSimulation({ fileSize, pieceSize: PIECE, have: held, peers: [seeder('a')] });
    expect(result.state).toBe('complete');
    expect(result.requests).toHaveLength(pieceCount / 2);
    expect(result.requests.every((request) => request.chunkIndex % 2 === 1)).toBe(true);
    expect(peerStats(result, 'a').bytes).toBe(fileSize / 2);
  });

  it('uses a peer that announces pieces as it gets them for exactly those pieces', () => {
    const fileSize = 32 * MiB;
    const chunkCount = fileSize / PIECE;
    // A downloader elsewhere that gets every third chunk, one every 5 ms, and seeds them on.
    const announce = [...Array(chunkCount).keys()]
      .filter((chunk) => chunk % 3 === 0)
      .map((chunk, i) => ({ atMs: i * 5, chunk }));
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('seed', { rateBps: R / 4 }), seeder('leech', { hasAll: false, announce })],
    });
    expectEveryPieceOnce(result);
    expect(result.violations).toEqual([]);
    const fromLeech = result.requests.filter((request) => request.peerId === 'leech');
    expect(fromLeech.every((request) => request.chunkIndex % 3 === 0)).toBe(true);
    // It is the faster source, and rarest first keeps the seed on what the leech lacks.
    expect(peerStats(result, 'leech').chunks).toBeGreaterThan(announce.length / 2);
  });

  it('moves the chunks of a peer that leaves to the others', () => {
    const fileSize = 32 * MiB;
    const result = runSimulation({
      fileSize,
      pieceSize: PIECE,
      peers: [seeder('a', { leaveAtMs: 500 }), seeder('b')],
    });
    expectEveryPieceOnce(result);
    expect(result.stats.peers.map((peer) => peer.peerId)).toEqual(['b']);
  });

  it('is deterministic for a given seed', () => {
    const run = () =>
      runSimulation({ fileSize: 4 * MiB, pieceSize: PIECE, seed: 42, peers: [seeder('a'), seeder('b')] });
    expect(run().requests).toEqual(run().requests);
  });
});
