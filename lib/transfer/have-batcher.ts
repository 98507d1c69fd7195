import type { TimerHandle, Timers } from '../util/timers.ts';

/**
 * Folds the pieces a download stores into fewer `have` messages: a fast download stores thousands
 * of pieces a second, and one message per piece to every swarm peer costs more than the news is
 * worth. Indexes are sent once HAVE_BATCH_MAX_INDEXES are waiting or HAVE_BATCH_MS after the first,
 * whichever comes first, so a peer learns of a piece at most that late.
 */
export const HAVE_BATCH_MS = 100;
export const HAVE_BATCH_MAX_INDEXES = 64;

export class HaveBatcher {
  readonly #timers: Timers;
  readonly #send: (indexes: number[]) => void;
  #pending: number[] = [];
  #timer: TimerHandle | null = null;

  constructor(timers: Timers, send: (indexes: number[]) => void) {
    this.#timers = timers;
    this.#send = send;
  }

  add(indexes: readonly number[]): void {
    this.#pending.push(...indexes);
    if (this.#pending.length >= HAVE_BATCH_MAX_INDEXES) this.flush();
    else this.#timer ??= this.#timers.setTimeout(() => this.flush(), HAVE_BATCH_MS);
  }

  /** Sends what is waiting now (also at the end of a download). Safe to call when nothing waits. */
  flush(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const indexes = this.#pending;
    this.#pending = [];
    this.#send(indexes);
  }
}
