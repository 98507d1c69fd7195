/**
 * Which chunk to ask of which peer next (internal to the scheduler): `fillWindows`.
 *
 * Normal mode, `pickNewChunk`: the rarest candidate the peer has (random among equals) decides the
 * rarity level; then, among chunks of that level,
 * - the peer continues where its previous request ended, so each peer works through runs of
 *   consecutive pieces instead of scattering;
 * - a new run starts at a boundary of the largest chunk size in use (moving back over candidates
 *   as rare as the pick), so small-chunk peers fill whole big chunks rather than leaving a piece
 *   or two in each, which would make a big-chunk peer download pieces we already have;
 * - a big-chunk peer samples a few rarest picks and takes the chunk with the most candidate pieces.
 *
 * In-order mode, when every source of the download has the whole file (no partial peer to spread
 * pieces to or fetch from, so rarity means nothing): the chunk holding the lowest candidate, or
 * one of the next few chunks when that one overlaps a request to another peer. The file then
 * arrives from its start, and the running whole-file hash (node: running-file-hash.node.ts,
 * browser: the chunk store's) keeps up with it instead of hashing half the file after the last
 * byte (bench/README.md). With partial peers among the sources it is rarest first, as below.
 *
 * A seeder slower than the fastest partial peer is asked only for pieces no partial peer has
 * (`sparesPartials`); a partial peer with room left also takes pieces already asked of a seeder
 * when it has them all (`relayChunks`), the first answer cancelling the other.
 *
 * Endgame, `endgameChunks`: once no candidate has a source, the peer's chunks that cover pieces
 * other peers are still fetching, oldest request first, each piece asked of at most
 * 1 + MAX_DUPLICATES_PER_PIECE peers at once.
 */
import type { ChunkGeometry } from './chunk-geometry.ts';
import type { RarityMap } from './rarity.ts';
import type { ChunkRequest, RequestBook } from './request-book.ts';
import { peerHasPiece, type SourcePeer } from './source-peer.ts';

/** Endgame: a request is duplicated once this fraction of its allowed time has passed. */
export const ENDGAME_STRAGGLER_FRACTION = 0.75;
/**
 * From when the endgame may copy `request` (ms): once it is past ENDGAME_STRAGGLER_FRACTION of the
 * time allowed it, or at once when its peer said it will not send it.
 */
function stragglesFrom(request: ChunkRequest): number {
  const late = request.sentAt + (request.deadline - request.sentAt) * ENDGAME_STRAGGLER_FRACTION;
  return Math.min(late, request.refusedAt ?? Infinity);
}

/** The earliest time after `now` at which an outstanding request starts to straggle; Infinity if none. */
export function nextStraggle(book: RequestBook, now: number): number {
  let next = Infinity;
  for (const request of book.all()) {
    const from = stragglesFrom(request);
    if (from > now && from < next) next = from;
  }
  return next;
}

/** Endgame: a piece is asked of at most this many peers besides the first. */
export const MAX_DUPLICATES_PER_PIECE = 2;
/** Rarest picks a big-chunk peer samples looking for a chunk whose pieces are all still needed. */
export const BIG_CHUNK_SAMPLES = 8;

export interface PickContext {
  readonly rarity: RarityMap;
  readonly book: RequestBook;
  /** 1 for each piece held. */
  readonly held: Uint8Array;
  /** True when no active source is a partial peer: pieces are picked in index order. */
  inOrder(): boolean;
  /** Pieces per chunk of the largest chunk size among active peers. */
  alignPieces(): number;
  /** The active seeders (peers with every piece). */
  seeders(): Iterable<SourcePeer>;
  /**
   * True for a seeder slower than the fastest partial peer: it is asked only for pieces no partial
   * peer has, so a capped seeder spends its upload on what the swarm lacks.
   */
  sparesPartials(peer: SourcePeer): boolean;
}

/**
 * Fills the windows of `order` (partial peers first, then by score), calling `send` for each chunk
 * picked; `send` books it, so the next pick sees it. In turn:
 * 1. partial peers, one request per peer per round, so what they have is spread over all of them
 *    instead of the best-scored one's window taking it all (one downloader then served most of a
 *    12-peer swarm while the others idled: bench `swarm`);
 * 2. seeders, best score first;
 * 3. partial peers with room left take seeder requests they can answer (relayChunks);
 * 4. in the endgame (no candidate has a source), any peer with room copies stragglers (endgameChunks).
 */
export function fillWindows(
  ctx: PickContext,
  order: SourcePeer[],
  now: number,
  send: (peer: SourcePeer, chunk: number) => void,
): void {
  let filling = order.filter((peer) => !peer.hasAll);
  while (filling.length > 0) {
    filling = filling.filter((peer) => {
      const chunk = peer.pipeline.hasRoom ? pickNewChunk(ctx, peer) : undefined;
      if (chunk !== undefined) send(peer, chunk);
      return chunk !== undefined;
    });
  }
  for (const peer of order) {
    while (peer.hasAll && peer.pipeline.hasRoom) {
      const chunk = pickNewChunk(ctx, peer);
      if (chunk === undefined) break;
      send(peer, chunk);
    }
  }
  const sendWhileRoom = (peer: SourcePeer, chunks: Iterable<number>) => {
    for (const chunk of chunks) {
      send(peer, chunk);
      if (!peer.pipeline.hasRoom) break;
    }
  };
  for (const peer of order) if (peer.pipeline.hasRoom && !peer.hasAll) sendWhileRoom(peer, relayChunks(ctx, peer));
  if (ctx.rarity.sourcedCandidateCount > 0) return;
  for (const peer of order) if (peer.pipeline.hasRoom) sendWhileRoom(peer, endgameChunks(ctx, peer, now));
}

/** A chunk of this peer's with at least one candidate piece, rarest first; undefined when there is none. */
function pickNewChunk(ctx: PickContext, peer: SourcePeer): number | undefined {
  const { rarity } = ctx;
  const spare = ctx.sparesPartials(peer);
  const sourced = spare ? rarity.unannouncedCandidateCount : rarity.sourcedCandidateCount;
  if (peer.hasAll ? sourced === 0 : peer.candidates === 0) return undefined;
  if (ctx.inOrder()) return lowestChunk(ctx, peer);
  const have = peer.have;
  const accept = have ? (piece: number) => have[piece] === 1 : undefined;
  const maxPartial = spare ? 0 : Infinity;
  const rarest = rarity.pickRarest(accept, maxPartial);
  if (rarest === undefined) return undefined;
  const level = rarity.availability(rarest);
  const g = peer.geometry;
  const next = peer.next;
  if (next !== undefined && g.isChunk(next) && freshPieces(ctx, peer, next, level) === piecesIn(g, next))
    return next;

  const align = ctx.alignPieces();
  let start = rarest;
  while (start % align !== 0 && isFresh(ctx, peer, start - 1, level)) start--;
  let best = g.chunkOf(start);
  let bestFresh = freshPieces(ctx, peer, best, level);
  for (let sample = 0; sample < BIG_CHUNK_SAMPLES && bestFresh < piecesIn(g, best); sample++) {
    const chunk = g.chunkOf(rarity.pickRarest(accept, maxPartial)!);
    const fresh = freshPieces(ctx, peer, chunk, level);
    if (fresh > bestFresh) [best, bestFresh] = [chunk, fresh];
  }
  return best;
}

/**
 * Endgame: this peer's chunks covering pieces already asked of others, oldest requests first, but
 * only requests that straggle (`stragglesFrom`). Copying every outstanding request made capped
 * seeders with deep queues upload much of the file's tail twice (measured: a resumed 24 MiB download
 * cost the seeders 1.4-1.5x its size); stragglers are what the endgame is for.
 */
function* endgameChunks(ctx: PickContext, peer: SourcePeer, now: number): Generator<number> {
  const { book, held } = ctx;
  for (const request of book.all()) {
    if (request.peerId === peer.id) continue;
    if (now < stragglesFrom(request)) continue;
    for (let piece = request.firstPiece; piece <= request.lastPiece; piece++) {
      if (held[piece] || book.count(piece) > MAX_DUPLICATES_PER_PIECE || !peerHasPiece(peer, piece)) continue;
      const chunk = peer.geometry.chunkOf(piece);
      if (!book.get(peer.id, chunk)) yield chunk;
    }
  }
}

/**
 * Pieces asked of a seeder that this partial peer has announced since: its chunks covering them,
 * so the piece comes from the neighbour and the first answer cancels the other request. A capped seeder in a swarm sends what it already
 * sent to someone last (upload-order.ts), and a request queued there would otherwise hold the
 * piece for seconds (bench `swarm`). Only requests whose every missing piece this peer has (else
 * the seeder's answer is needed anyway), oldest first; pieces another peer is asked for already are
 * left to it.
 */
function* relayChunks(ctx: PickContext, peer: SourcePeer): Generator<number> {
  const { book, held } = ctx;
  if (peer.hasAll) return;
  for (const seeder of ctx.seeders())
    for (const request of book.forPeer(seeder.id)) {
      let covered = true;
      for (let piece = request.firstPiece; piece <= request.lastPiece && covered; piece++)
        covered = held[piece] === 1 || peerHasPiece(peer, piece);
      if (!covered) continue;
      for (let piece = request.firstPiece; piece <= request.lastPiece; piece++) {
        const chunk = peer.geometry.chunkOf(piece);
        if (!held[piece] && book.count(piece) === 1 && !book.get(peer.id, chunk)) yield chunk;
      }
    }
}

/**
 * In-order mode: the chunk of the lowest candidate, unless some missing piece of it is asked of
 * another peer already (peers with different chunk sizes); then the first of the next
 * BIG_CHUNK_SAMPLES chunks with a candidate and no such piece, if any.
 */
function lowestChunk(ctx: PickContext, peer: SourcePeer): number | undefined {
  const lowest = ctx.rarity.pickLowest();
  if (lowest === undefined) return undefined;
  const g = peer.geometry;
  const first = g.chunkOf(lowest);
  for (let chunk = first; chunk < first + BIG_CHUNK_SAMPLES && g.isChunk(chunk); chunk++) {
    let candidates = 0;
    let claimed = false;
    for (let piece = g.firstPiece(chunk); piece <= g.lastPiece(chunk) && !claimed; piece++) {
      if (ctx.rarity.isCandidate(piece)) candidates++;
      else claimed = ctx.held[piece] === 0;
    }
    if (candidates > 0 && !claimed) return chunk;
  }
  return first;
}

/** Pieces of the chunk that are candidates this peer has, no more available than `level`. */
function freshPieces(ctx: PickContext, peer: SourcePeer, chunk: number, level: number): number {
  let fresh = 0;
  for (let piece = peer.geometry.firstPiece(chunk); piece <= peer.geometry.lastPiece(chunk); piece++) {
    if (isFresh(ctx, peer, piece, level)) fresh++;
  }
  return fresh;
}

function isFresh(ctx: PickContext, peer: SourcePeer, piece: number, level: number): boolean {
  return (
    ctx.rarity.isCandidate(piece) && peerHasPiece(peer, piece) && ctx.rarity.availability(piece) <= level
  );
}

function piecesIn(g: ChunkGeometry, chunk: number): number {
  return g.lastPiece(chunk) - g.firstPiece(chunk) + 1;
}
