/**
 * One peer's request pipeline: how many chunk requests may be in flight to it, how fast it
 * delivers, and how long a request to it may take before it is given to someone else.
 *
 * Window sizing. To keep a peer busy we need in flight at least what it can send during one round
 * trip; to keep the end of a transfer short we want no more than that plus a little queue. So
 * the window is sized so that in-flight bytes ~= measured rate x (queue + minimum round trip), plus
 * WINDOW_HEADROOM requests, the queue being TARGET_QUEUE_MS or one round trip, whichever is longer
 * (and chat on the same link waits behind all of it). While a peer is limited by our window its
 * measured rate grows with the window, so the window grows with it (a few rate samples take a fast
 * loopback peer to ~10 ms of its rate); a throttled peer settles at a window proportional to its rate, and a timeout
 * halves it. The minimum round trip is the lifetime minimum so that queueing delay, which the
 * window itself causes, never feeds back into the window.
 *
 * Rate. Bytes are counted only while the peer has requests in flight (an idle peer is not a slow
 * one), folded every RATE_SAMPLE_MS (or when the pipeline drains) into an exponential moving
 * average weighted by the sample's duration.
 *
 * Deadlines. A request is expected back after the bytes queued ahead of it (and its own) have
 * been sent at the measured rate, plus a round trip; it times out after TIMEOUT_SLACK times that,
 * never sooner than the floor (10 s per MiB like the reference downloader, at least
 * MIN_REQUEST_TIMEOUT_MS) and never later than MAX_REQUEST_TIMEOUT_MS.
 *
 * Pure logic: every method takes the current time in ms.
 */

const MIB = 1024 * 1024;

/** Requests in flight to a peer we know nothing about yet (3 is what the reference downloader uses). */
export const INITIAL_WINDOW = 4;
/** Never fewer than this, so one slow chunk does not leave the peer idle. */
export const MIN_WINDOW = 2;
/** Never more requests than this in flight to one peer ... */
export const MAX_WINDOW_REQUESTS = 256;
/** ... nor more bytes than this (32 requests of 1 MiB), which bounds the memory a peer can tie up. */
export const MAX_WINDOW_BYTES = 32 * MIB;
/**
 * Queue we keep at a peer beyond its round trip: this many ms of its measured rate, or one more
 * round trip's worth where that is longer. Kept short because everything in flight sits in TCP
 * buffers (ours, the kernel's at both ends) ahead of any chat or control frame sent on the same link,
 * where the priority queue cannot reorder it: a fixed 500 ms queue made chat round trips take
 * 0.2-1.7 s during a loopback download (bench `chat-under-load`). The round-trip term keeps the
 * window growing on a long link: while a peer is limited by our window its rate is window / RTT,
 * so a queue shorter than the RTT would grow the window by only a few percent per sample.
 */
export const TARGET_QUEUE_MS = 10;
/** Extra requests beyond the rate-derived size, so a window-limited peer can show it is faster. */
export const WINDOW_HEADROOM = 2;
/** The window at most doubles per rate sample. */
export const WINDOW_GROWTH_PER_SAMPLE = 2;
/** Round trips longer than this do not grow the window further (bounds the queue on awful links). */
export const MAX_RTT_ALLOWANCE_MS = 2_000;
/** Rate samples cover at least this long, so bursts of back-to-back arrivals do not read as infinite speed. */
export const RATE_SAMPLE_MS = 100;
/** Time constant of the rate's moving average: older samples fade over about a second. */
export const RATE_SMOOTHING_MS = 1_000;
/** standard: the reference downloader times a 1 MiB chunk request out after 10 s. */
export const REFERENCE_TIMEOUT_MS_PER_MIB = 10_000;
/** No request times out sooner than this, however small (WebRTC and relays hiccup). */
export const MIN_REQUEST_TIMEOUT_MS = 4_000;
/** No request waits longer than this; the standard idle timeout is 60 s. */
export const MAX_REQUEST_TIMEOUT_MS = 60_000;
/** A request may take this many times its expected time before it counts as lost. */
export const TIMEOUT_SLACK = 3;

export class PeerPipeline {
  readonly chunkBytes: number;
  readonly maxWindow: number;
  #window = INITIAL_WINDOW;
  #inFlight = 0;
  #inFlightBytes = 0;
  #rateBps = 0;
  #minRttMs: number | undefined;
  #consecutiveTimeouts = 0;
  /** Start of the current rate sample; undefined while the pipeline is idle. */
  #sampleStart: number | undefined;
  #sampleBytes = 0;

  /** `chunkBytes` is the peer's chunk size: the window's byte cap is counted in it. */
  constructor(chunkBytes: number) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) {
      throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
    }
    this.chunkBytes = chunkBytes;
    this.maxWindow = Math.max(
      MIN_WINDOW,
      Math.min(MAX_WINDOW_REQUESTS, Math.floor(MAX_WINDOW_BYTES / chunkBytes)),
    );
    this.#window = Math.min(INITIAL_WINDOW, this.maxWindow);
  }

  /** Requests the peer may have in flight now. */
  get window(): number {
    return this.#window;
  }
  get inFlight(): number {
    return this.#inFlight;
  }
  get inFlightBytes(): number {
    return this.#inFlightBytes;
  }
  /** Smoothed delivery rate in bytes per second; 0 until the first sample. */
  get rateBps(): number {
    return this.#rateBps;
  }
  /** Shortest request round trip seen, in ms; undefined before the first delivery. */
  get minRttMs(): number | undefined {
    return this.#minRttMs;
  }
  /** Timeouts since the last delivery: a peer that accepts requests and never answers piles these up. */
  get consecutiveTimeouts(): number {
    return this.#consecutiveTimeouts;
  }
  get hasRoom(): boolean {
    return this.#inFlight < this.#window;
  }

  /** Records a request of `bytes` sent at `now`; returns its deadline (ms, same clock). */
  onSent(now: number, bytes: number): number {
    if (this.#inFlight === 0) this.#sampleStart = now;
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    return now + this.#timeoutFor(bytes);
  }

  /** Records the answer to a request sent at `sentAt` (whatever its verdict: the peer did answer). */
  onDelivered(now: number, bytes: number, sentAt: number): void {
    this.#release(bytes);
    this.#consecutiveTimeouts = 0;
    const rtt = Math.max(0, now - sentAt);
    this.#minRttMs = this.#minRttMs === undefined ? rtt : Math.min(this.#minRttMs, rtt);
    this.#sampleBytes += bytes;
    const elapsed = now - (this.#sampleStart ?? sentAt);
    const idle = this.#inFlight === 0;
    // A sample ends after RATE_SAMPLE_MS, or early when the pipeline drains (a peer we rarely have
    // work for must still be measured; the time weighting keeps a short sample from counting much).
    if (elapsed >= RATE_SAMPLE_MS || (idle && elapsed > 0)) {
      this.#foldSample(this.#sampleBytes / (elapsed / 1000), elapsed);
      this.#sampleStart = now;
      this.#sampleBytes = 0;
      this.#resize();
    }
    if (idle) this.#endSample();
  }

  /** Records a request that passed its deadline: the window halves and the rate estimate with it. */
  onTimeout(bytes: number): void {
    this.#release(bytes);
    this.#consecutiveTimeouts++;
    this.#rateBps /= 2;
    this.#window = Math.max(MIN_WINDOW, Math.floor(this.#window / 2));
    if (this.#inFlight === 0) this.#endSample();
  }

  /** Records a request we withdrew (its chunk came from elsewhere); says nothing about the peer. */
  onCancelled(bytes: number): void {
    this.#release(bytes);
    if (this.#inFlight === 0) this.#endSample();
  }

  #release(bytes: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    this.#inFlightBytes = Math.max(0, this.#inFlightBytes - bytes);
  }

  /** An idle pipeline measures nothing: the next sample starts with the next request. */
  #endSample(): void {
    this.#sampleStart = undefined;
    this.#sampleBytes = 0;
  }

  #foldSample(sampleBps: number, elapsedMs: number): void {
    if (this.#rateBps === 0) {
      this.#rateBps = sampleBps;
      return;
    }
    const weight = 1 - Math.exp(-elapsedMs / RATE_SMOOTHING_MS);
    this.#rateBps += (sampleBps - this.#rateBps) * weight;
  }

  #resize(): void {
    const rttMs = Math.min(this.#minRttMs ?? 0, MAX_RTT_ALLOWANCE_MS);
    const queueMs = Math.max(TARGET_QUEUE_MS, rttMs);
    const targetBytes = (this.#rateBps * (queueMs + rttMs)) / 1000;
    // Grow at most 2x per sample, like TCP's slow start: a capped seeder's token bucket answers its
    // first requests in one burst, which reads as a huge rate; trusting it at once filled that peer's
    // queue with seconds of requests that then timed out and were fetched twice (seen in the resume test).
    const wanted = Math.min(Math.ceil(targetBytes / this.chunkBytes) + WINDOW_HEADROOM, this.#window * WINDOW_GROWTH_PER_SAMPLE);
    this.#window = Math.max(MIN_WINDOW, Math.min(this.maxWindow, wanted));
  }

  #timeoutFor(bytes: number): number {
    const floor = Math.max(MIN_REQUEST_TIMEOUT_MS, (REFERENCE_TIMEOUT_MS_PER_MIB * bytes) / MIB);
    let expected = 0;
    if (this.#rateBps > 0) expected = (this.#inFlightBytes / this.#rateBps) * 1000 + (this.#minRttMs ?? 0);
    return Math.min(MAX_REQUEST_TIMEOUT_MS, Math.max(floor, expected * TIMEOUT_SLACK));
  }
}
