import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RarityMap } from '../../lib/transfer/rarity.ts';
import { mulberry32 } from '../support/scheduler-sim.ts';

function mapWithCandidates(pieceCount: number, random?: () => number): RarityMap {
  const map = new RarityMap(pieceCount, random);
  for (let piece = 0; piece < pieceCount; piece++) map.addCandidate(piece);
  return map;
}

describe('RarityMap', () => {
  it('counts seeders once for every piece and partial peers per piece', () => {
    const map = new RarityMap(4);
    map.addSeeder();
    map.addSeeder();
    map.increment(2);
    expect([0, 1, 2, 3].map((p) => map.availability(p))).toEqual([2, 2, 3, 2]);
    map.removeSeeder();
    map.decrement(2);
    expect([0, 1, 2, 3].map((p) => map.availability(p))).toEqual([1, 1, 1, 1]);
  });

  it('picks the rarest candidate', () => {
    const map = mapWithCandidates(5);
    for (const piece of [0, 1, 2, 3, 4]) map.increment(piece);
    for (const piece of [0, 1, 3, 4]) map.increment(piece);
    for (let i = 0; i < 20; i++) expect(map.pickRarest()).toBe(2);
  });

  it('never picks a piece nobody has, and counts only sourced candidates for the endgame', () => {
    const map = mapWithCandidates(3);
    expect(map.pickRarest()).toBeUndefined();
    expect(map.sourcedCandidateCount).toBe(0);
    map.increment(1);
    expect(map.pickRarest()).toBe(1);
    expect(map.sourcedCandidateCount).toBe(1);
    map.addSeeder();
    expect(map.sourcedCandidateCount).toBe(3);
  });

  it('skips pieces that are not candidates (held or requested)', () => {
    const map = mapWithCandidates(3);
    map.addSeeder();
    map.removeCandidate(0);
    map.removeCandidate(2);
    map.removeCandidate(2); // idempotent
    expect(map.candidateCount).toBe(1);
    for (let i = 0; i < 10; i++) expect(map.pickRarest()).toBe(1);
    map.removeCandidate(1);
    expect(map.pickRarest()).toBeUndefined();
  });

  it('honours the accept filter and still prefers rarity within it', () => {
    const map = mapWithCandidates(6);
    for (const piece of [1, 3, 5]) map.increment(piece);
    map.increment(5);
    const odd = (piece: number) => piece % 2 === 1;
    for (let i = 0; i < 20; i++) expect([1, 3]).toContain(map.pickRarest(odd));
    expect(map.pickRarest((piece) => piece === 5)).toBe(5);
    expect(map.pickRarest((piece) => piece === 0)).toBeUndefined();
  });

  it('breaks ties at random, reaching every tied piece', () => {
    const map = mapWithCandidates(8, mulberry32(7));
    map.addSeeder();
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(map.pickRarest()!);
    expect(seen.size).toBe(8);
  });

  it('refuses counts that would go negative and indices out of range', () => {
    const map = new RarityMap(2);
    expect(() => map.decrement(0)).toThrow(RangeError);
    expect(() => map.removeSeeder()).toThrow(RangeError);
    expect(() => map.increment(2)).toThrow(RangeError);
    expect(() => map.availability(-1)).toThrow(RangeError);
  });

  it('agrees with a naive model under random operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('inc' as const), piece: fc.nat(19) }),
      fc.record({ kind: fc.constant('dec' as const), piece: fc.nat(19) }),
      fc.record({ kind: fc.constant('add' as const), piece: fc.nat(19) }),
      fc.record({ kind: fc.constant('remove' as const), piece: fc.nat(19) }),
      fc.record({ kind: fc.constant('seeder' as const), piece: fc.constant(0) }),
      fc.record({ kind: fc.constant('unseed' as const), piece: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.nat(), (ops, seed) => {
        const map = new RarityMap(20, mulberry32(seed));
        const counts = new Array<number>(20).fill(0);
        const candidates = new Set<number>();
        let seeders = 0;
        for (const { kind, piece } of ops) {
          if (kind === 'inc') {
            map.increment(piece);
            counts[piece]!++;
          } else if (kind === 'dec' && counts[piece]! > 0) {
            map.decrement(piece);
            counts[piece]!--;
          } else if (kind === 'add') {
            map.addCandidate(piece);
            candidates.add(piece);
          } else if (kind === 'remove') {
            map.removeCandidate(piece);
            candidates.delete(piece);
          } else if (kind === 'seeder') {
            map.addSeeder();
            seeders++;
          } else if (kind === 'unseed' && seeders > 0) {
            map.removeSeeder();
            seeders--;
          }
        }
        const sourced = [...candidates].filter((p) => seeders + counts[p]! > 0);
        expect(map.candidateCount).toBe(candidates.size);
        expect(map.sourcedCandidateCount).toBe(sourced.length);
        const even = (p: number) => p % 2 === 0;
        for (const accept of [undefined, even]) {
          const pool = sourced.filter((p) => accept === undefined || accept(p));
          const picked = map.pickRarest(accept);
          if (pool.length === 0) {
            expect(picked).toBeUndefined();
            continue;
          }
          const rarest = Math.min(...pool.map((p) => counts[p]!));
          expect(pool).toContain(picked);
          expect(counts[picked!]).toBe(rarest);
        }
      }),
    );
  });

  it('pickLowest gives the lowest candidate, also after a lower piece becomes a candidate again', () => {
    const map = new RarityMap(6);
    expect(map.pickLowest()).toBeUndefined();
    for (const piece of [3, 5]) map.addCandidate(piece);
    expect(map.pickLowest()).toBe(3);
    map.removeCandidate(3);
    expect(map.pickLowest()).toBe(5);
    map.addCandidate(1);
    expect(map.pickLowest()).toBe(1);
    map.removeCandidate(1);
    map.removeCandidate(5);
    expect(map.pickLowest()).toBeUndefined();
  });
});
