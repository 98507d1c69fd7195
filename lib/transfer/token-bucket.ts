import type { Timers } from '../util/timers.ts';
import { realTimers } from '../util/timers.ts';

/**
 * A token bucket for `--upload-limit` / `--download-limit`: `rate` bytes per second on average,
 * with bursts of up to `burst` bytes. A rate of 0 or less means unlimited.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #updatedAt: number;
  #timers: Timers;

  constructor(rate: number, options: { burst?: number; timers?: Timers } = {}) {
    this.rate = rate;
    // Default burst: a quarter second of traffic, at least one standard 1 MiB chunk, so a single
    // chunk never waits for more tokens than the bucket can ever hold.
    this.burst = options.burst ?? Math.max(rate / 4, 1024 * 1024);
    this.#timers = options.timers ?? realTimers;
    this.#tokens = this.burst;
    this.#updatedAt = this.#timers.now();
  }

  get unlimited(): boolean {
    return !(this.rate > 0);
  }

  /** Tokens available now (may be negative after a take that overdrew). */
  available(): number {
    if (this.unlimited) return Infinity;
    const now = this.#timers.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate);
    this.#updatedAt = now;
    return this.#tokens;
  }

  /** Takes `bytes` at once, overdrawing if needed: later callers wait for the debt to be repaid. */
  consume(bytes: number): void {
    if (this.unlimited) return;
    this.available();
    this.#tokens -= bytes;
  }

  /** Milliseconds until `bytes` could be taken without overdrawing. */
  delayFor(bytes: number): number {
    const missing = Math.min(bytes, this.burst) - this.available();
    return missing <= 0 ? 0 : Math.ceil((missing / this.rate) * 1000);
  }

  /** Waits until `bytes` can be taken, then takes them. */
  async take(bytes: number): Promise<void> {
    for (;;) {
      const wait = this.delayFor(bytes);
      if (wait === 0) return this.consume(bytes);
      await new Promise<void>((resolve) => this.#timers.setTimeout(resolve, wait));
    }
  }

  /** Waits until `bytes` could be taken, without taking them. */
  async ready(bytes: number): Promise<void> {
    for (;;) {
      const wait = this.delayFor(bytes);
      if (wait === 0) return;
      await new Promise<void>((resolve) => this.#timers.setTimeout(resolve, wait));
    }
  }
}
