import { hashListPieces, verifyHashPiece } from './merkle.ts';
import type { LeafRange } from './merkle.ts';
import type { Hasher } from './hasher.ts';
import { HASH_BYTES } from './hasher.ts';
import { hexToBytes } from '../util/base64.ts';
import type { Timers } from '../util/timers.ts';

/**
 * Fetches a file's piece hashes from swarm peers, piece of the hash list by piece, each verified
 * against the content root with its Merkle proof as it arrives (so a 10 GiB file's hashes never
 * travel as one over-sized frame, and no piece needs another to be trusted).
 */
export const HASHES_TIMEOUT_MS = 10_000;

export interface HashFetcherDeps {
  hasher: Hasher;
  timers: Timers;
  /** Peers that can answer (swarm sources announcing this root), best first. */
  candidates(): string[];
  request(peerId: string, start: number, count: number): void;
  /** A peer sent hashes that do not verify. */
  blame(peerId: string, reason: string): void;
}

interface Pending {
  range: LeafRange;
  peerId: string | null;
  deadline: number;
  tried: Set<string>;
}

export class HashFetcher {
  readonly leaves: Uint8Array;
  readonly #root: Uint8Array;
  readonly #leafCount: number;
  readonly #deps: HashFetcherDeps;
  readonly #pending: Pending[];
  /** Since when no peer could answer (null while one can). */
  #noCandidateSince: number | null = null;

  constructor(rootHex: string, leafCount: number, deps: HashFetcherDeps) {
    this.#root = hexToBytes(rootHex)!;
    this.#leafCount = leafCount;
    this.#deps = deps;
    this.leaves = new Uint8Array(leafCount * HASH_BYTES);
    this.#pending = hashListPieces(leafCount).map((range) => ({ range, peerId: null, deadline: 0, tried: new Set() }));
  }

  get done(): boolean {
    return this.#pending.length === 0;
  }

  /**
   * Sends requests that are due (unsent, or timed out); call on every tick and when sources change.
   * Returns false once no peer could answer for HASHES_TIMEOUT_MS: the download then goes on without
   * the hashes (the whole-file hash still checks the file).
   */
  pump(now: number): boolean {
    const candidates = this.#deps.candidates();
    if (candidates.length > 0) this.#noCandidateSince = null;
    else if (this.#noCandidateSince === null) this.#noCandidateSince = now;
    else if (now - this.#noCandidateSince > HASHES_TIMEOUT_MS) return false;
    for (const pending of this.#pending) {
      if (pending.peerId !== null && now < pending.deadline) continue;
      const peerId = candidates.find((id) => !pending.tried.has(id)) ?? candidates[0];
      if (peerId === undefined) continue;
      pending.tried.add(peerId);
      pending.peerId = peerId;
      pending.deadline = now + HASHES_TIMEOUT_MS;
      this.#deps.request(peerId, pending.range.start, pending.range.end - pending.range.start);
    }
    return true;
  }

  /** Handles a `hashes` answer; returns true when it filled a piece of the list. */
  async onHashes(peerId: string, start: number, hashes: Uint8Array, proof: Uint8Array): Promise<boolean> {
    const index = this.#pending.findIndex((p) => p.range.start === start);
    if (index < 0) return false;
    const pending = this.#pending[index]!;
    if (hashes.length !== (pending.range.end - start) * HASH_BYTES) {
      this.#deps.blame(peerId, 'sent a hash list piece of the wrong length');
      pending.peerId = null;
      return false;
    }
    if (!(await verifyHashPiece(this.#root, this.#leafCount, start, hashes, proof, this.#deps.hasher))) {
      this.#deps.blame(peerId, 'sent chunk hashes that do not match the content root');
      pending.peerId = null;
      return false;
    }
    if (!this.#pending.includes(pending)) return false; // filled meanwhile by another answer
    this.leaves.set(hashes, start * HASH_BYTES);
    this.#pending.splice(this.#pending.indexOf(pending), 1);
    return true;
  }
}
