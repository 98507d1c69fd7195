import { RECONNECT_INITIAL_MS, RECONNECT_JITTER, RECONNECT_MAX_MS } from './constants.ts';

/**
 * Exponential back-off with jitter, so that many peers that lost the same node do not all redial it
 * in the same instant. Delay n = min(max, initial * 2^n) * (1 ± jitter).
 */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly options: { initialMs?: number; maxMs?: number; jitter?: number; random?: () => number } = {},
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const initial = this.options.initialMs ?? RECONNECT_INITIAL_MS;
    const max = this.options.maxMs ?? RECONNECT_MAX_MS;
    const jitter = this.options.jitter ?? RECONNECT_JITTER;
    const random = this.options.random ?? Math.random;
    const base = Math.min(max, initial * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base * (1 - jitter + 2 * jitter * random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
