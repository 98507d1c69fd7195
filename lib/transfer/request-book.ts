/**
 * Book-keeping of the chunk requests a download has outstanding: by peer and chunk (to match
 * answers), by piece (to count how many requests cover a piece and to find duplicates to cancel),
 * and in the order they were sent (so the endgame duplicates the oldest first).
 *
 * It also remembers, per peer, requests that were withdrawn (timed out or cancelled): their
 * answer may still arrive and is then an expected late answer, not an unsolicited chunk. That
 * memory is bounded per peer; the oldest entries are forgotten first.
 *
 * No policy lives here; the scheduler decides what to add and remove.
 */

/** A request for one chunk, in the asked peer's chunk size. */
export interface ChunkRequest {
  readonly peerId: string;
  /** Index in the asked peer's chunk size. */
  readonly chunkIndex: number;
  /** Pieces the chunk covers, inclusive. */
  readonly firstPiece: number;
  readonly lastPiece: number;
  /** Bytes the answer must have. */
  readonly bytes: number;
  /** When the request was handed to the caller to send (ms). */
  readonly sentAt: number;
  /** After this (ms), onTimeouts withdraws it. */
  readonly deadline: number;
  /** When the peer said it will not send it (`chunk_unavailable`), ms: the endgame copies it from then on. */
  refusedAt?: number;
}

/**
 * A refused request is withdrawn this long after the refusal (ms), as if it had timed out then, so
 * its pieces are asked for again, of the same peer if no other has them. A peer refuses for a
 * moment between finishing a download and listing the file; waiting out the deadline (4 s and more)
 * instead stalled a download whose only source it was. Refusals count like timeouts: a peer that
 * keeps refusing becomes unusable, and a download with no other source fails as stalled.
 */
export const REFUSED_RETRY_MS = 500;

/** When onTimeouts withdraws `request` (ms): its deadline, or REFUSED_RETRY_MS after a refusal. */
export function dueAt(request: ChunkRequest): number {
  return Math.min(request.deadline, (request.refusedAt ?? Infinity) + REFUSED_RETRY_MS);
}

/** Withdrawn requests remembered per peer so their late answers are recognised. */
export const MAX_LATE_PER_PEER = 4096;

export class RequestBook {
  /** Every outstanding request, oldest first (a Set iterates in insertion order). */
  readonly #all = new Set<ChunkRequest>();
  readonly #byPeer = new Map<string, Map<number, ChunkRequest>>();
  /** Requests covering each piece; most pieces have 0 or 1, the endgame adds a few. */
  readonly #byPiece: (ChunkRequest[] | undefined)[];
  readonly #late = new Map<string, Set<number>>();
  #bytes = 0;

  constructor(pieceCount: number) {
    this.#byPiece = new Array<ChunkRequest[] | undefined>(pieceCount);
  }

  get size(): number {
    return this.#all.size;
  }

  /** Bytes of all outstanding requests. */
  get bytes(): number {
    return this.#bytes;
  }

  add(request: ChunkRequest): void {
    let peer = this.#byPeer.get(request.peerId);
    if (!peer) this.#byPeer.set(request.peerId, (peer = new Map()));
    if (peer.has(request.chunkIndex)) {
      throw new Error(`chunk ${request.chunkIndex} is already requested from ${request.peerId}`);
    }
    peer.set(request.chunkIndex, request);
    this.#all.add(request);
    this.#bytes += request.bytes;
    for (let piece = request.firstPiece; piece <= request.lastPiece; piece++) {
      const list = this.#byPiece[piece];
      if (list) list.push(request);
      else this.#byPiece[piece] = [request];
    }
    this.#late.get(request.peerId)?.delete(request.chunkIndex);
  }

  get(peerId: string, chunkIndex: number): ChunkRequest | undefined {
    return this.#byPeer.get(peerId)?.get(chunkIndex);
  }

  /** Removes and returns the outstanding request, if there is one. */
  take(peerId: string, chunkIndex: number): ChunkRequest | undefined {
    const peer = this.#byPeer.get(peerId);
    const request = peer?.get(chunkIndex);
    if (!peer || !request) return undefined;
    peer.delete(chunkIndex);
    if (peer.size === 0) this.#byPeer.delete(peerId);
    this.#all.delete(request);
    this.#bytes -= request.bytes;
    for (let piece = request.firstPiece; piece <= request.lastPiece; piece++) {
      const list = this.#byPiece[piece]!;
      list.splice(list.indexOf(request), 1);
      if (list.length === 0) this.#byPiece[piece] = undefined;
    }
    return request;
  }

  /** Outstanding requests to a peer, oldest first (a copy: safe to take while iterating). */
  forPeer(peerId: string): ChunkRequest[] {
    return [...(this.#byPeer.get(peerId)?.values() ?? [])];
  }

  /**
   * Every outstanding request, oldest first. Live view: requests added while iterating are
   * visited at the end (Set semantics); do not take while iterating.
   */
  all(): IterableIterator<ChunkRequest> {
    return this.#all.values();
  }

  /** Outstanding requests covering `piece` (a copy). */
  covering(piece: number): ChunkRequest[] {
    return [...(this.#byPiece[piece] ?? [])];
  }

  /** How many outstanding requests cover `piece`. */
  count(piece: number): number {
    return this.#byPiece[piece]?.length ?? 0;
  }

  /** Remembers that an answer to this withdrawn request may still arrive. */
  expectLate(request: ChunkRequest): void {
    let late = this.#late.get(request.peerId);
    if (!late) this.#late.set(request.peerId, (late = new Set()));
    late.delete(request.chunkIndex); // re-insert as newest
    late.add(request.chunkIndex);
    if (late.size > MAX_LATE_PER_PEER) late.delete(late.values().next().value!);
  }

  /** True (once) when an answer for this chunk was expected late. */
  takeLate(peerId: string, chunkIndex: number): boolean {
    return this.#late.get(peerId)?.delete(chunkIndex) ?? false;
  }

  /** Forgets everything about a peer (it left or was banned). Returns its outstanding requests. */
  dropPeer(peerId: string): ChunkRequest[] {
    const requests = this.forPeer(peerId);
    for (const request of requests) this.take(peerId, request.chunkIndex);
    this.#late.delete(peerId);
    return requests;
  }
}
