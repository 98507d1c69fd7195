import type { TokenBucket } from './token-bucket.ts';
import { realTimers, type Timers } from '../util/timers.ts';

/**
 * Which queued chunk a node with an upload cap sends next, across all its connections: the one
 * whose bytes it has sent least often so far (ties: the connection that has waited longest). Like
 * BitTorrent's super-seeding, a capped seeder of a swarm then spends its scarce upload on pieces
 * nobody has yet, and a piece it already sent waits at the back, where the requester can get it
 * from the peer that has it (and cancel the request here) long before the seeder would get to it.
 * Measured with one seeder capped at 8 MiB/s and 12 downloaders starting together (bench `swarm`):
 * in request order the seeder sent every piece about four times.
 *
 * Each connection's queue waits for a turn with its queued requests (`turn`); when the bucket has
 * tokens for the best request among all waiting connections, that request is granted (its bytes
 * taken from the bucket, its sending counted) and handed to its connection to read and send. What
 * a peer got counts while it is connected: pieces sent to a downloader that has gone (or to one
 * before the swarm formed and left) are as new as pieces never sent.
 * Without a cap every connection is granted its oldest request at once (request order).
 */

/** A queued request, as the order sees it. */
export interface QueuedChunk {
  readonly fileId: string;
  readonly chunkIndex: number;
  readonly chunkSize: number;
  /** Bytes the answer carries (the last chunk of a file is short). */
  readonly bytes: number;
}

/**
 * A request for bytes this node sent to a connected peer less than this long ago waits until then,
 * even when the upload is idle: the peer that got them announces them within 100 ms (have-batcher.ts)
 * and a requester connected to it fetches them there and cancels the request here. The bucket keeps
 * its tokens meanwhile (a quarter second of burst), so a short wait costs little when nobody else
 * has them; a requester not connected to that peer waits this long once per such request. A
 * standard peer's requests are never held: it learns nothing from `have`s and cannot relay.
 */
export const HOLD_RECENTLY_SENT_MS = 500;

/** Sends are counted in units of this many bytes of a file: the smallest piece size in use. */
export const SENT_UNIT_BYTES = 64 * 1024;

interface Waiter<T extends QueuedChunk> {
  peer: object;
  /** Whether its requests may be held back (see HOLD_RECENTLY_SENT_MS). */
  relays: boolean;
  /** The connection's queued requests now (cancelled ones left out); empty once it has none. */
  queued(): readonly T[];
  resolve(chosen: T | undefined): void;
}

export class UploadOrder {
  readonly #bucket: TokenBucket;
  readonly #timers: Timers;
  /** Per file: to how many connected peers each unit was sent. */
  readonly #sent = new Map<string, Uint32Array>();
  /** Per file: when each unit was last sent (ms). */
  readonly #sentAt = new Map<string, Float64Array>();
  /** Per connected peer and file: 1 for each unit sent to it (undone when it goes, see `forgetPeer`). */
  readonly #sentTo = new Map<object, Map<string, Uint8Array>>();
  readonly #waiters = new Set<Waiter<QueuedChunk>>();
  #granting = false;
  /** Ends the grant loop's current sleep early (a new connection waits: it may go first). */
  #wake: (() => void) | null = null;

  constructor(bucket: TokenBucket, timers: Timers = realTimers) {
    this.#bucket = bucket;
    this.#timers = timers;
  }

  /**
   * Waits for this connection's turn and returns the request it is to send now (its bytes already
   * taken from the bucket), or undefined when it has nothing left to send. `relays`: the peer can
   * fetch from its neighbours what they announce (a swarm peer), so its requests may be held back;
   * a standard peer's never are.
   */
  turn<T extends QueuedChunk>(peer: object, relays: boolean, queued: () => readonly T[]): Promise<T | undefined> {
    if (this.#bucket.unlimited) return Promise.resolve(queued()[0]);
    return new Promise((resolve) => {
      this.#waiters.add({ peer, relays, queued, resolve } as Waiter<QueuedChunk>);
      if (!this.#granting) void this.#grant();
      else this.#wake?.();
    });
  }

  /** Forgets what was sent of a file (it is no longer shared). */
  forget(fileId: string): void {
    this.#sent.delete(fileId);
    this.#sentAt.delete(fileId);
    for (const files of this.#sentTo.values()) files.delete(fileId);
  }

  /** The peer went: what it got no longer counts (it cannot pass it on). */
  forgetPeer(peer: object): void {
    for (const [fileId, got] of this.#sentTo.get(peer) ?? []) {
      const sent = this.#sent.get(fileId);
      if (sent) for (let unit = 0; unit < got.length; unit++) sent[unit] = sent[unit]! - got[unit]!;
    }
    this.#sentTo.delete(peer);
  }

  /**
   * To how many connected peers, on average, the bytes of `chunk` were sent already (lower goes
   * first), and until when it is held back: while every one of its bytes went to a connected peer
   * less than HOLD_RECENTLY_SENT_MS ago.
   */
  standing(chunk: QueuedChunk): { times: number; heldUntil: number } {
    const sent = this.#sent.get(chunk.fileId);
    const sentAt = this.#sentAt.get(chunk.fileId);
    if (!sent || !sentAt) return { times: 0, heldUntil: 0 };
    const [first, last] = units(chunk);
    let total = 0;
    let heldUntil = Infinity;
    for (let unit = first; unit <= last; unit++) {
      const times = sent[unit] ?? 0;
      total += times;
      heldUntil = Math.min(heldUntil, times > 0 ? (sentAt[unit] ?? 0) + HOLD_RECENTLY_SENT_MS : 0);
    }
    return { times: total / (last - first + 1), heldUntil };
  }

  async #grant(): Promise<void> {
    this.#granting = true;
    try {
      while (this.#waiters.size > 0) {
        const now = this.#timers.now();
        const best = this.#best(now);
        if (!best) continue;
        const wait = Math.max(best.heldUntil - now, this.#bucket.delayFor(best.chunk.bytes));
        if (wait > 0) {
          await this.#sleep(wait);
          continue; // pick again: better requests may have come meanwhile
        }
        this.#bucket.consume(best.chunk.bytes);
        this.#count(best.waiter.peer, best.chunk, now);
        this.#waiters.delete(best.waiter);
        best.waiter.resolve(best.chunk);
      }
    } finally {
      this.#granting = false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#timers.setTimeout(() => done(), ms);
      const done = () => {
        this.#timers.clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
    });
  }

  /**
   * The least-sent request among the waiting connections that is not held back, or if all are, the
   * one released first. Connections with nothing left to send are let go.
   */
  #best(now: number): { waiter: Waiter<QueuedChunk>; chunk: QueuedChunk; heldUntil: number } | undefined {
    let best: { waiter: Waiter<QueuedChunk>; chunk: QueuedChunk; times: number; heldUntil: number } | undefined;
    for (const waiter of this.#waiters) {
      const queued = waiter.queued();
      if (queued.length === 0) {
        this.#waiters.delete(waiter);
        waiter.resolve(undefined);
        continue;
      }
      for (const chunk of queued) {
        const standing = this.standing(chunk);
        const times = standing.times;
        const heldUntil = waiter.relays ? standing.heldUntil : 0;
        const held = heldUntil > now;
        const better =
          !best ||
          (best.heldUntil > now
            ? !held || heldUntil < best.heldUntil
            : !held && times < best.times);
        if (better) best = { waiter, chunk, times, heldUntil };
      }
    }
    return best;
  }

  #count(peer: object, chunk: QueuedChunk, now: number): void {
    const [first, last] = units(chunk);
    let files = this.#sentTo.get(peer);
    if (!files) this.#sentTo.set(peer, (files = new Map()));
    const got = grown(files, chunk.fileId, last, Uint8Array);
    const sent = grown(this.#sent, chunk.fileId, last, Uint32Array);
    const sentAt = grown(this.#sentAt, chunk.fileId, last, Float64Array);
    for (let unit = first; unit <= last; unit++) {
      sentAt[unit] = now;
      if (got[unit]) continue; // sent to this peer before: it still counts once
      got[unit] = 1;
      sent[unit] = sent[unit]! + 1;
    }
  }
}

/** The array of `key`, created or grown so that index `last` is in it. */
function grown<A extends Uint8Array | Uint32Array | Float64Array>(
  map: Map<string, A>,
  key: string,
  last: number,
  Make: new (length: number) => A,
): A {
  const old = map.get(key);
  if (old && old.length > last) return old;
  const array = new Make(Math.max(last + 1, (old?.length ?? 0) * 2));
  if (old) array.set(old);
  map.set(key, array);
  return array;
}

/** The units of SENT_UNIT_BYTES a request's bytes cover, inclusive. */
function units(chunk: QueuedChunk): [number, number] {
  const start = chunk.chunkIndex * chunk.chunkSize;
  const first = Math.floor(start / SENT_UNIT_BYTES);
  const last = Math.max(first, Math.ceil((start + chunk.bytes) / SENT_UNIT_BYTES) - 1);
  return [first, last];
}
