/**
 * The multi-peer download scheduler: decides what to ask whom and when, and reacts to outcomes.
 * Pure logic: no sockets, files or timers. The caller passes the current time (ms) to every call
 * that depends on it and acts on what comes back:
 *
 *   loop: onTimeouts(now) -> (log them); nextRequests(now) -> send each; on every chunk that arrives:
 *         verify it, onChunk(...) -> store `accepted` pieces, announce them, send `cancel`s;
 *         on a peer's refusal, onUnavailable(...) and ask again; state(now) -> 'complete' |
 *         'stalled' ends the loop. nextDeadline() says when to wake up.
 *
 * Model. The file is tracked in pieces of `pieceSize` (the smallest chunk size among sources,
 * 64 KiB for swarm peers). Each peer is asked in its own chunk size, a multiple of the piece size
 * (see chunk-geometry.ts); a verified chunk completes every piece it covers that is still missing,
 * so a 1 MiB chunk from a standard peer completes 16 pieces and pieces held already are skipped
 * (bytes are credited once). A piece is a *candidate* while it is missing and no request covers it.
 * Helpers, each small: piece-pool.ts (held pieces, availability, candidates), request-book.ts
 * (outstanding requests), piece-picker.ts (what to ask), peer-pipeline.ts / peer-score.ts (per
 * peer), stall-watch.ts ('stalled').
 *
 * Policy.
 * - Pieces in index order while every source is a seeder (the running whole-file hash keeps up);
 *   else rarest first (rarity.ts), random tie-break. Among equally rare pieces a peer continues
 *   where its last request ended and starts runs at a boundary of the largest chunk size in use, so
 *   small-chunk peers fill whole big chunks; a big-chunk peer takes the fullest of a few samples.
 * - Partial peers are filled first; a seeder slower than the fastest partial peer is asked only for
 *   pieces no partial peer has, and a partial peer with room takes over a seeder request whose
 *   pieces it has (piece-picker.ts): a capped seeder's upload goes to what the swarm lacks.
 * - Each peer's window (peer-pipeline.ts) follows its measured speed; fast peers get deep queues.
 * - A request past its deadline (or REFUSED_RETRY_MS after its peer refused it) is withdrawn: its
 *   pieces become candidates, the peer is penalised and its window halves. Its answer is still
 *   accepted if the pieces are still missing.
 * - Endgame: once no candidate has a source, idle peers duplicate outstanding requests that
 *   straggle or that their peer refused (oldest first, at most MAX_DUPLICATES_PER_PIECE extra per
 *   piece); the first good answer cancels the rest.
 * - A chunk that fails verification, has the wrong size or was never asked for counts against the
 *   peer (peer-score.ts); at the ban threshold the peer is dropped from the transfer with a reason.
 * - 'stalled' once some missing piece has had no usable source (an unbanned peer that has it and
 *   has not timed out UNRESPONSIVE_AFTER_TIMEOUTS times in a row) for stallTimeoutMs.
 */
import { ChunkGeometry } from './chunk-geometry.ts';
import type { BadChunkKind } from './peer-score.ts';
import { fillWindows, nextStraggle, type PickContext } from './piece-picker.ts';
import { PiecePool } from './piece-pool.ts';
import { dueAt, RequestBook, type ChunkRequest } from './request-book.ts';
import { createSourcePeer, sourcePeerStats, type SourcePeer } from './source-peer.ts';
import { StallWatch } from './stall-watch.ts';
import type {
  AddPeerResult,
  ChunkResult,
  ChunkVerdict,
  PeerSource,
  SchedulerOptions,
  SchedulerState,
  SchedulerStats,
} from './scheduler-types.ts';

export type * from './scheduler-types.ts';
export type { ChunkRequest } from './request-book.ts';
export { MAX_DUPLICATES_PER_PIECE } from './piece-picker.ts';

/** standard CLI default of --stall-timeout: 30 s without any usable source fails the download. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** A peer whose last this-many requests all timed out is not counted as a usable source. */
export const UNRESPONSIVE_AFTER_TIMEOUTS = 3;

export class Scheduler {
  readonly fileSize: number;
  readonly pieceSize: number;
  readonly pieceCount: number;
  readonly #pool: PiecePool;
  readonly #book: RequestBook;
  readonly #peers = new Map<string, SourcePeer>();
  /** Ban reasons, kept after removePeer so a banned peer cannot rejoin the transfer. */
  readonly #bans = new Map<string, string>();
  readonly #stall: StallWatch;
  /** Largest chunk size in use, in pieces: new runs start at its boundaries. */
  #alignPieces = 1;
  /** Measured rate of the fastest partial source, updated by nextRequests. */
  #fastestPartialBps = 0;
  /** Never later than the earliest dueAt of an outstanding request (removals only raise the true one). */
  #deadlineFloor = Infinity;
  readonly #pickContext: PickContext;

  constructor(options: SchedulerOptions) {
    const made = ChunkGeometry.create(options.fileSize, options.pieceSize, options.pieceSize);
    if (!made.ok) throw new RangeError(made.reason);
    this.#stall = new StallWatch(options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
    this.fileSize = options.fileSize;
    this.pieceSize = options.pieceSize;
    this.pieceCount = made.geometry.pieceCount;
    this.#book = new RequestBook(this.pieceCount);
    this.#pool = new PiecePool(made.geometry, this.#book, options.random, options.have);
    this.#pickContext = {
      rarity: this.#pool.rarity,
      book: this.#book,
      held: this.#pool.held,
      inOrder: () => this.#pool.partialSourceCount === 0,
      alignPieces: () => this.#alignPieces,
      seeders: () => [...this.#peers.values()].filter((peer) => peer.hasAll && !peer.score.banned),
      sparesPartials: (peer) => peer.hasAll && peer.pipeline.rateBps < this.#fastestPartialBps,
    };
    this.#updateCoverage(options.now);
  }

  /** Adds a source. A chunk size that is not a multiple of the piece size, or a banned peer, is refused. */
  addPeer(peerId: string, source: PeerSource): AddPeerResult {
    const banned = this.#bans.get(peerId);
    if (banned !== undefined) return { ok: false, reason: `peer is banned from this transfer (${banned})` };
    if (this.#peers.has(peerId)) return { ok: false, reason: 'peer is already a source of this transfer' };
    const made = ChunkGeometry.create(this.fileSize, this.pieceSize, source.chunkSize);
    if (!made.ok) return { ok: false, reason: made.reason };
    const peer = createSourcePeer(peerId, made.geometry, source.hasAll);
    this.#peers.set(peerId, peer);
    this.#pool.addSource(peer);
    this.#alignPieces = Math.max(this.#alignPieces, made.geometry.piecesPerChunk);
    return { ok: true };
  }

  /** The peer left: its requests go back to the pool (answers that still come are ignored). */
  removePeer(peerId: string, now: number): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    if (!peer.score.banned) this.#deactivate(peer);
    this.#peers.delete(peerId);
    this.#updateCoverage(now);
  }

  /** A partial peer announced a chunk (in its chunk size). Returns false when that told us nothing new. */
  peerHas(peerId: string, chunkIndex: number): boolean {
    const peer = this.#peers.get(peerId);
    if (!peer?.have || peer.score.banned || !peer.geometry.isChunk(chunkIndex)) return false;
    return this.#pool.announce(
      peer,
      peer.geometry.firstPiece(chunkIndex),
      peer.geometry.lastPiece(chunkIndex),
    );
  }

  /** Fills every peer's window; the caller sends each returned request. */
  nextRequests(now: number): ChunkRequest[] {
    const sent: ChunkRequest[] = [];
    if (this.#pool.complete) return sent;
    const order = this.#fillOrder();
    this.#fastestPartialBps = Math.max(0, ...order.filter((peer) => !peer.hasAll).map((peer) => peer.pipeline.rateBps));
    fillWindows(this.#pickContext, order, now, (peer, chunk) => sent.push(this.#send(peer, chunk, now)));
    this.#updateCoverage(now);
    return sent;
  }

  /** Records a chunk the caller received and verified (see ChunkResult). */
  onChunk(peerId: string, chunkIndex: number, now: number, verdict: ChunkVerdict): ChunkResult {
    const peer = this.#peers.get(peerId);
    if (!peer || peer.score.banned) return { outcome: 'ignored', accepted: [], cancel: [] };
    const request = this.#book.take(peerId, chunkIndex);
    if (request) peer.pipeline.onDelivered(now, request.bytes, request.sentAt);
    const expected = request !== undefined || this.#book.takeLate(peerId, chunkIndex);
    const bad: BadChunkKind | undefined = !expected ? 'wrong-index' : verdict === 'ok' ? undefined : verdict;
    const g = peer.geometry;
    const accepted: number[] = [];
    if (!bad) {
      for (let piece = g.firstPiece(chunkIndex); piece <= g.lastPiece(chunkIndex); piece++) {
        const bytes = this.#pool.markHeld(piece);
        if (bytes === 0) continue;
        peer.bytes += bytes;
        accepted.push(piece);
      }
    }
    if (request) this.#pool.refresh(request.firstPiece, request.lastPiece);
    else if (!bad) this.#pool.refresh(g.firstPiece(chunkIndex), g.lastPiece(chunkIndex));
    if (bad) {
      const banned = peer.score.recordBad(chunkIndex, bad);
      if (banned !== undefined) this.#ban(peer, banned, now);
      return banned === undefined
        ? { outcome: 'rejected', accepted, cancel: [] }
        : { outcome: 'rejected', accepted, cancel: [], banned };
    }
    peer.score.recordGood();
    peer.receivedBytes += g.chunkBytes(chunkIndex);
    if (accepted.length > 0) peer.chunks++;
    else peer.redundantChunks++;
    return {
      outcome: accepted.length > 0 ? 'accepted' : 'redundant',
      accepted,
      cancel: this.#cancelCompleted(accepted),
    };
  }

  /** Bans a peer for a reason found by the caller (e.g. a whole-file checksum that did not match). */
  banPeer(peerId: string, reason: string, now: number): void {
    const peer = this.#peers.get(peerId);
    if (peer && !peer.score.banned) this.#ban(peer, reason, now);
    else if (!peer) this.#bans.set(peerId, reason);
  }

  /**
   * The peer said it will not send this chunk (`chunk_unavailable`: a partial peer between finishing
   * its download and listing the file, a seeder whose file changed). The request stays booked to it,
   * but the endgame copies it to another peer at once instead of after 3 s and more (bench/README.md,
   * sixth session: swarm), and onTimeouts withdraws it REFUSED_RETRY_MS later (request-book.ts says
   * why). False when no such request is open.
   */
  onUnavailable(peerId: string, chunkIndex: number, now: number): boolean {
    const request = this.#book.get(peerId, chunkIndex);
    if (!request || request.refusedAt !== undefined) return false;
    request.refusedAt = now;
    this.#deadlineFloor = Math.min(this.#deadlineFloor, dueAt(request));
    return true;
  }

  /**
   * Withdraws every request past its deadline, or refused REFUSED_RETRY_MS ago, and returns them
   * (the caller may log or cancel them).
   */
  onTimeouts(now: number): ChunkRequest[] {
    if (now < this.#deadlineFloor) return [];
    const expired: ChunkRequest[] = [];
    this.#deadlineFloor = Infinity;
    for (const request of this.#book.all()) {
      const due = dueAt(request);
      if (due <= now) expired.push(request);
      else this.#deadlineFloor = Math.min(this.#deadlineFloor, due);
    }
    for (const request of expired) {
      this.#book.take(request.peerId, request.chunkIndex);
      this.#book.expectLate(request);
      const peer = this.#peers.get(request.peerId)!;
      peer.pipeline.onTimeout(request.bytes);
      peer.score.recordTimeout();
      if (peer.pipeline.consecutiveTimeouts === UNRESPONSIVE_AFTER_TIMEOUTS) this.#stall.markDirty();
      this.#pool.refresh(request.firstPiece, request.lastPiece);
    }
    this.#updateCoverage(now);
    return expired;
  }

  /**
   * Withdraws every request in flight without blaming anyone (the download is paused); answers that
   * still come are taken as late answers. Returns them so the caller can cancel them at the peers.
   */
  withdrawAll(): ChunkRequest[] {
    const withdrawn = [...this.#book.all()];
    for (const request of withdrawn) {
      this.#book.take(request.peerId, request.chunkIndex);
      this.#book.expectLate(request);
      this.#peers.get(request.peerId)?.pipeline.onCancelled(request.bytes);
      this.#pool.refresh(request.firstPiece, request.lastPiece);
    }
    return withdrawn;
  }

  /**
   * When to call onTimeouts next (ms), for the caller's single timer; undefined when nothing is in
   * flight. Never later than the earliest dueAt, possibly earlier (then onTimeouts finds nothing
   * and the next answer is exact).
   */
  nextDeadline(now = -Infinity): number | undefined {
    if (this.#book.size === 0) return undefined;
    if (this.#pool.complete || this.#pool.rarity.sourcedCandidateCount > 0) return this.#deadlineFloor;
    // Endgame: also wake when a request starts to straggle (past `now`), so an idle peer can copy it.
    return Math.min(this.#deadlineFloor, nextStraggle(this.#book, now));
  }

  state(now: number): SchedulerState {
    if (this.#pool.complete) return 'complete';
    this.#updateCoverage(now);
    return this.#stall.stalled(now) ? 'stalled' : 'running';
  }

  /** Bytes requested and not yet answered, across all peers. */
  get requestedBytes(): number {
    return this.#book.bytes;
  }

  hasPiece(piece: number): boolean {
    return this.#pool.held[piece] === 1;
  }

  /** Bytes a chunk from this peer must have, for the caller's wrong-size check; undefined if no such chunk. */
  expectedChunkBytes(peerId: string, chunkIndex: number): number | undefined {
    const g = this.#peers.get(peerId)?.geometry;
    return g?.isChunk(chunkIndex) ? g.chunkBytes(chunkIndex) : undefined;
  }

  stats(): SchedulerStats {
    const peers = [...this.#peers.values()].map((peer) =>
      sourcePeerStats(peer, !this.#usable(peer) && !peer.score.banned),
    );
    const missingCount = this.#pool.missingCount;
    return {
      peers,
      pieceCount: this.pieceCount,
      missingCount,
      bytesHeld: this.#pool.heldBytes,
      progress: this.fileSize === 0 ? 1 : this.#pool.heldBytes / this.fileSize,
      inFlight: this.#book.size,
      endgame: missingCount > 0 && this.#pool.rarity.sourcedCandidateCount === 0,
    };
  }

  // ---- picking ------------------------------------------------------------------------------

  /**
   * Active peers: partial peers first, so what they have goes to them before a seeder is asked for
   * it (a seeder's upload is often the swarm's scarcest); then best score first (trusted peers get
   * first pick of the rarest pieces).
   */
  #fillOrder(): SourcePeer[] {
    return [...this.#peers.values()]
      .filter((peer) => !peer.score.banned)
      .sort((a, b) => Number(a.hasAll) - Number(b.hasAll) || b.score.value - a.score.value);
  }

  #send(peer: SourcePeer, chunk: number, now: number): ChunkRequest {
    const g = peer.geometry;
    const bytes = g.chunkBytes(chunk);
    const request: ChunkRequest = {
      peerId: peer.id,
      chunkIndex: chunk,
      firstPiece: g.firstPiece(chunk),
      lastPiece: g.lastPiece(chunk),
      bytes,
      sentAt: now,
      deadline: peer.pipeline.onSent(now, bytes),
    };
    this.#book.add(request);
    this.#deadlineFloor = Math.min(this.#deadlineFloor, request.deadline);
    this.#pool.refresh(request.firstPiece, request.lastPiece);
    peer.next = chunk + 1;
    return request;
  }

  // ---- book-keeping -------------------------------------------------------------------------

  /** Withdraws requests whose pieces are now all held (duplicates elsewhere) and returns them. */
  #cancelCompleted(accepted: number[]): ChunkRequest[] {
    const cancelled: ChunkRequest[] = [];
    for (const piece of accepted) {
      for (const request of this.#book.covering(piece)) {
        let allHeld = true;
        for (let p = request.firstPiece; p <= request.lastPiece && allHeld; p++)
          allHeld = this.#pool.held[p] === 1;
        if (!allHeld) continue;
        this.#book.take(request.peerId, request.chunkIndex);
        this.#book.expectLate(request);
        this.#peers.get(request.peerId)?.pipeline.onCancelled(request.bytes);
        cancelled.push(request);
      }
    }
    return cancelled;
  }

  #ban(peer: SourcePeer, reason: string, now: number): void {
    peer.score.ban(reason);
    this.#bans.set(peer.id, peer.score.banReason!);
    this.#deactivate(peer);
    this.#updateCoverage(now);
  }

  /** Takes a peer out of the pick and the availability counts; its requests go back to the pool. */
  #deactivate(peer: SourcePeer): void {
    this.#pool.removeSource(peer);
    for (const request of this.#book.dropPeer(peer.id)) {
      peer.pipeline.onCancelled(request.bytes);
      this.#pool.refresh(request.firstPiece, request.lastPiece);
    }
    this.#alignPieces = 1;
    for (const other of this.#peers.values()) {
      if (other !== peer && !other.score.banned)
        this.#alignPieces = Math.max(this.#alignPieces, other.geometry.piecesPerChunk);
    }
    this.#stall.markDirty();
  }

  // ---- stall detection ----------------------------------------------------------------------

  #usable(peer: SourcePeer): boolean {
    return !peer.score.banned && peer.pipeline.consecutiveTimeouts < UNRESPONSIVE_AFTER_TIMEOUTS;
  }

  #updateCoverage(now: number): void {
    const usable = [...this.#peers.values()].filter((peer) => this.#usable(peer));
    this.#stall.update(now, this.#pool.complete, usable, this.#pool.held);
  }
}
