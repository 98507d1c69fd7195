/**
 * Stall detection for one download (internal to the scheduler): the download is stalled once some
 * missing piece has had no usable source for the stall timeout.
 *
 * With a usable seeder every piece is covered, an O(peers) check. With only partial peers it takes
 * a scan of the missing pieces, so that scan runs at most once per COVERAGE_SCAN_INTERVAL_MS,
 * except right after a source was lost (`markDirty`), when it runs at once so the stall clock
 * starts on time. A source gained is noticed at the next scan: a stall ends at most that late.
 */
import type { PeerStats } from './scheduler.ts';
import type { SourcePeer } from './source-peer.ts';

/** Why a stalled download failed, naming the peers banned on the way. */
export function stallReason(peers: PeerStats[], stallTimeoutMs: number): string {
  const banned = peers.filter((p) => p.banned);
  const seconds = Math.round(stallTimeoutMs / 1000);
  if (banned.length) {
    return `no usable source for ${seconds} s: ${banned.map((p) => `${p.peerId} ${p.banReason}`).join('; ')}`;
  }
  return `no usable source for ${seconds} s (no connected peer has the missing chunks)`;
}

/** With only partial peers, coverage needs a scan of the missing pieces: at most once per this. */
export const COVERAGE_SCAN_INTERVAL_MS = 1_000;

export class StallWatch {
  readonly stallTimeoutMs: number;
  #uncoveredSince: number | undefined;
  #lastScanAt = -Infinity;
  #lastScanCovered = false;
  #dirty = true;

  constructor(stallTimeoutMs: number) {
    if (!(stallTimeoutMs >= 0)) throw new RangeError(`stall timeout ${stallTimeoutMs} is invalid`);
    this.stallTimeoutMs = stallTimeoutMs;
  }

  /** A source was lost (left, banned, stopped answering): rescan at the next update. */
  markDirty(): void {
    this.#dirty = true;
  }

  /**
   * Re-evaluates coverage at `now`. `usable` are the peers that count as sources; `held` marks
   * the pieces we have; `complete` short-cuts everything.
   */
  update(now: number, complete: boolean, usable: readonly SourcePeer[], held: Uint8Array): void {
    if (complete || this.#covered(now, usable, held)) this.#uncoveredSince = undefined;
    else this.#uncoveredSince ??= now;
  }

  /** True once pieces have lacked a source for the whole stall timeout (as of the last update). */
  stalled(now: number): boolean {
    return this.#uncoveredSince !== undefined && now - this.#uncoveredSince >= this.stallTimeoutMs;
  }

  #covered(now: number, usable: readonly SourcePeer[], held: Uint8Array): boolean {
    if (usable.some((peer) => peer.hasAll)) return true;
    if (usable.length === 0) return false;
    if (!this.#dirty && now - this.#lastScanAt < COVERAGE_SCAN_INTERVAL_MS) return this.#lastScanCovered;
    let covered = true;
    for (let piece = 0; piece < held.length && covered; piece++) {
      covered = held[piece] === 1 || usable.some((peer) => peer.have![piece] === 1);
    }
    this.#lastScanAt = now;
    this.#lastScanCovered = covered;
    this.#dirty = false;
    return covered;
  }
}
