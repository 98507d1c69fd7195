/**
 * Remembers message ids seen recently, so a message that arrives twice (the standard peer sends a
 * broadcast on every socket it holds; a swarm message may come back through several neighbours)
 * is handled once. Memory is bounded twice over: ids expire after the window, and a hard cap
 * evicts the oldest first if a flood arrives within one window.
 */
import { DEDUP_WINDOW_MS } from './constants.ts';

/** At ~100 bytes per entry about 10 MB: far above any honest message rate over DEDUP_WINDOW_MS. */
export const DEFAULT_MAX_SEEN_IDS = 100_000;

export interface SeenIdsOptions {
  windowMs?: number;
  maxIds?: number;
}

export class SeenIds {
  readonly #windowMs: number;
  readonly #maxIds: number;
  /** id -> first seen (ms). A Map iterates in insertion order, which is time order: oldest first. */
  readonly #firstSeen = new Map<string, number>();

  constructor(options: SeenIdsOptions = {}) {
    this.#windowMs = options.windowMs ?? DEDUP_WINDOW_MS;
    this.#maxIds = options.maxIds ?? DEFAULT_MAX_SEEN_IDS;
    if (!(this.#maxIds >= 1)) throw new RangeError('maxIds must be at least 1');
  }

  /** True if `id` is new (and now remembered), false if it was seen within the window. */
  checkAndAdd(id: string, now: number): boolean {
    this.#expire(now);
    if (this.#firstSeen.has(id)) return false;
    this.#firstSeen.set(id, now);
    if (this.#firstSeen.size > this.#maxIds) {
      const oldest = this.#firstSeen.keys().next().value;
      if (oldest !== undefined) this.#firstSeen.delete(oldest);
    }
    return true;
  }

  has(id: string, now: number): boolean {
    this.#expire(now);
    return this.#firstSeen.has(id);
  }

  get size(): number {
    return this.#firstSeen.size;
  }

  clear(): void {
    this.#firstSeen.clear();
  }

  /**
   * Drops ids older than the window, from the oldest on. Stops at the first id still inside it;
   * if the injected clock stepped backwards, a few ids may be kept a little longer, never dropped early.
   */
  #expire(now: number): void {
    const cutoff = now - this.#windowMs;
    for (const [id, seenAt] of this.#firstSeen) {
      if (seenAt > cutoff) break;
      this.#firstSeen.delete(id);
    }
  }
}
