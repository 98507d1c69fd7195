/**
 * Availability of each piece across the peers of a transfer, and a rarest-first pick among the
 * pieces still to be requested ("candidates").
 *
 * Seeders (peers with the whole file) add the same amount to every piece, so they are one counter
 * instead of a per-piece update: adding or removing a seeder is O(1). Peers with part of the file
 * add to a per-piece count as they announce pieces. Candidates sit in one bucket per partial count,
 * each bucket an array with O(1) insert, delete (swap with last) and move, so a pick looks at
 * the lowest non-empty bucket first: O(1) for a seeder, and for a partial peer a scan of the
 * lowest buckets from a random offset until a piece it has turns up (the caller skips peers with
 * no candidate at all, so the scan always ends on a hit).
 *
 * Ties are broken at random (injected source), so peers starting together do not all ask for the
 * same pieces and rare pieces spread through the swarm.
 */

export class RarityMap {
  readonly pieceCount: number;
  readonly #random: () => number;
  #seeders = 0;
  /** Partial peers announcing each piece. */
  readonly #partial: Uint32Array;
  /** #buckets[c] holds the candidates whose partial count is c, in no particular order. */
  readonly #buckets: number[][] = [];
  /** Index of each candidate within its bucket; -1 for a piece that is not a candidate. */
  readonly #slot: Int32Array;
  #candidates = 0;
  /** No candidate lies below this piece (pickLowest's cursor: it moves back only when a piece becomes a candidate again). */
  #lowest = 0;

  /** `random` returns a number in [0, 1), like Math.random (inject a seeded one in tests). */
  constructor(pieceCount: number, random: () => number = Math.random) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0)
      throw new RangeError(`piece count ${pieceCount} is invalid`);
    this.pieceCount = pieceCount;
    this.#random = random;
    this.#partial = new Uint32Array(pieceCount);
    this.#slot = new Int32Array(pieceCount).fill(-1);
  }

  get seeders(): number {
    return this.#seeders;
  }

  /** Candidates, whether or not any peer has them. */
  get candidateCount(): number {
    return this.#candidates;
  }

  /** Candidates at least one peer has: when this is 0 nothing new can be requested (endgame). */
  get sourcedCandidateCount(): number {
    if (this.#seeders > 0) return this.#candidates;
    return this.#candidates - (this.#buckets[0]?.length ?? 0);
  }

  /** Candidates no partial peer has announced (only seeders have them, if any). */
  get unannouncedCandidateCount(): number {
    return this.#buckets[0]?.length ?? 0;
  }

  /** Peers (seeders and partial) that have `piece`. */
  availability(piece: number): number {
    this.#check(piece);
    return this.#seeders + this.#partial[piece]!;
  }

  addSeeder(): void {
    this.#seeders++;
  }

  removeSeeder(): void {
    if (this.#seeders === 0) throw new RangeError('no seeder to remove');
    this.#seeders--;
  }

  /** A partial peer announced `piece`. */
  increment(piece: number): void {
    this.#check(piece);
    const count = this.#partial[piece]!;
    if (this.isCandidate(piece)) this.#moveBucket(piece, count, count + 1);
    this.#partial[piece] = count + 1;
  }

  /** A partial peer that had `piece` left or was banned. */
  decrement(piece: number): void {
    this.#check(piece);
    const count = this.#partial[piece]!;
    if (count === 0) throw new RangeError(`piece ${piece} has no partial peer to remove`);
    if (this.isCandidate(piece)) this.#moveBucket(piece, count, count - 1);
    this.#partial[piece] = count - 1;
  }

  isCandidate(piece: number): boolean {
    this.#check(piece);
    return this.#slot[piece]! >= 0;
  }

  /** Makes `piece` pickable (it is missing and nobody is asked for it); idempotent. */
  addCandidate(piece: number): void {
    if (this.isCandidate(piece)) return;
    this.#insert(piece, this.#partial[piece]!);
    this.#candidates++;
    if (piece < this.#lowest) this.#lowest = piece;
  }

  /** Takes `piece` out of the pick (it is held or requested); idempotent. */
  removeCandidate(piece: number): void {
    if (!this.isCandidate(piece)) return;
    this.#delete(piece, this.#partial[piece]!);
    this.#candidates--;
  }

  /**
   * The rarest candidate with at least one source for which `accept` holds (omit it for a peer
   * that has every piece), ties broken at random; undefined when there is none. With `maxPartial`,
   * only candidates that at most that many partial peers have.
   */
  pickRarest(accept?: (piece: number) => boolean, maxPartial = Infinity): number | undefined {
    for (let count = 0; count < this.#buckets.length && count <= maxPartial; count++) {
      if (count === 0 && this.#seeders === 0) continue; // nobody has these
      const bucket = this.#buckets[count]!;
      if (bucket.length === 0) continue;
      const start = Math.floor(this.#random() * bucket.length) % bucket.length;
      if (accept === undefined) return bucket[start];
      for (let i = 0; i < bucket.length; i++) {
        const piece = bucket[(start + i) % bucket.length]!;
        if (accept(piece)) return piece;
      }
    }
    return undefined;
  }

  /**
   * The candidate with the lowest index, whoever has it; undefined when there is none. For a
   * download whose every source is a seeder (any candidate has a source): amortised O(1).
   */
  pickLowest(): number | undefined {
    while (this.#lowest < this.pieceCount && this.#slot[this.#lowest]! < 0) this.#lowest++;
    return this.#lowest < this.pieceCount ? this.#lowest : undefined;
  }

  #moveBucket(piece: number, from: number, to: number): void {
    this.#delete(piece, from);
    this.#insert(piece, to);
  }

  #insert(piece: number, count: number): void {
    while (this.#buckets.length <= count) this.#buckets.push([]);
    const bucket = this.#buckets[count]!;
    this.#slot[piece] = bucket.length;
    bucket.push(piece);
  }

  #delete(piece: number, count: number): void {
    const bucket = this.#buckets[count]!;
    const slot = this.#slot[piece]!;
    const last = bucket.pop()!;
    if (last !== piece) {
      bucket[slot] = last;
      this.#slot[last] = slot;
    }
    this.#slot[piece] = -1;
  }

  #check(piece: number): void {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) {
      throw new RangeError(`piece ${piece} outside 0..${this.pieceCount - 1}`);
    }
  }
}
