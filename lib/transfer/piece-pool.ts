/**
 * What a download still needs and who has it (internal to the scheduler): the pieces held, each
 * piece's availability among the active sources (rarity.ts), and the *candidates*, i.e. pieces
 * that are missing and covered by no outstanding request. Each partial source also keeps a count
 * of the candidates it has, so the scheduler skips a peer with nothing new in O(1) instead of
 * scanning for it on every call.
 *
 * Call `refresh` for a piece range whenever its held state or its requests change.
 */
import type { ChunkGeometry } from './chunk-geometry.ts';
import { RarityMap } from './rarity.ts';
import type { RequestBook } from './request-book.ts';
import type { HeldPieces } from './scheduler-types.ts';
import type { SourcePeer } from './source-peer.ts';

export class PiecePool {
  readonly pieceCount: number;
  readonly rarity: RarityMap;
  /** 1 for each piece held; read it, change it only through markHeld. */
  readonly held: Uint8Array;
  readonly #pieces: ChunkGeometry;
  readonly #book: RequestBook;
  #heldCount = 0;
  #heldBytes = 0;
  #partialSources: SourcePeer[] = [];

  /** `pieces` is the piece geometry (chunk size = piece size); `have` the pieces held at the start. */
  constructor(pieces: ChunkGeometry, book: RequestBook, random?: () => number, have?: HeldPieces) {
    this.pieceCount = pieces.pieceCount;
    this.#pieces = pieces;
    this.#book = book;
    this.held = new Uint8Array(this.pieceCount);
    this.rarity = new RarityMap(this.pieceCount, random);
    if (have) for (const piece of heldList(have, this.pieceCount)) this.markHeld(piece);
    for (let piece = 0; piece < this.pieceCount; piece++)
      if (!this.held[piece]) this.rarity.addCandidate(piece);
  }

  get heldCount(): number {
    return this.#heldCount;
  }
  get heldBytes(): number {
    return this.#heldBytes;
  }
  get missingCount(): number {
    return this.pieceCount - this.#heldCount;
  }
  /** Active sources that do not have the whole file. */
  get partialSourceCount(): number {
    return this.#partialSources.length;
  }
  get complete(): boolean {
    return this.#heldCount === this.pieceCount;
  }

  /** Marks a piece held; returns its bytes, or 0 when it was held already. Call refresh afterwards. */
  markHeld(piece: number): number {
    if (this.held[piece] !== 0) return 0; // held, or out of range (undefined)
    this.held[piece] = 1;
    this.#heldCount++;
    const bytes = this.#pieces.pieceBytes(piece);
    this.#heldBytes += bytes;
    return bytes;
  }

  /** Brings the candidate status of pieces first..last (and the partial sources' counts) up to date. */
  refresh(first: number, last: number): void {
    for (let piece = first; piece <= last; piece++) {
      const candidate = !this.held[piece] && this.#book.count(piece) === 0;
      if (candidate === this.rarity.isCandidate(piece)) continue;
      if (candidate) this.rarity.addCandidate(piece);
      else this.rarity.removeCandidate(piece);
      for (const peer of this.#partialSources) if (peer.have![piece]) peer.candidates += candidate ? 1 : -1;
    }
  }

  addSource(peer: SourcePeer): void {
    if (peer.hasAll) this.rarity.addSeeder();
    else this.#partialSources.push(peer);
  }

  /** The peer no longer counts as a source (it left or was banned). */
  removeSource(peer: SourcePeer): void {
    if (peer.hasAll) {
      this.rarity.removeSeeder();
      return;
    }
    this.#partialSources = this.#partialSources.filter((other) => other !== peer);
    for (let piece = 0; piece < this.pieceCount; piece++) if (peer.have![piece]) this.rarity.decrement(piece);
  }

  /** A partial source announced pieces first..last; returns false when it had them all already. */
  announce(peer: SourcePeer, first: number, last: number): boolean {
    let changed = false;
    for (let piece = first; piece <= last; piece++) {
      if (peer.have![piece]) continue;
      peer.have![piece] = 1;
      this.rarity.increment(piece);
      if (this.rarity.isCandidate(piece)) peer.candidates++;
      changed = true;
    }
    return changed;
  }
}

function heldList(have: HeldPieces, pieceCount: number): Iterable<number> {
  if ('get' in have && typeof have.get === 'function') {
    const bitfield = have;
    return [...Array(pieceCount).keys()].filter((piece) => bitfield.get(piece));
  }
  return have as Iterable<number>;
}
