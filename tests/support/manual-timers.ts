import type { TimerHandle, Timers } from '../../lib/util/timers.ts';

/** Timers driven by the test: time moves only when `advance` is called. */
export class ManualTimers implements Timers {
  time = 1_000_000;
  #nextId = 1;
  #due = new Map<number, { at: number; fn: () => void }>();
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const id = this.#nextId++;
    this.#due.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: TimerHandle) => void this.#due.delete(handle as number);
  setInterval = (): TimerHandle => {
    throw new Error('not used');
  };
  clearInterval = () => {};
  get pending() {
    return this.#due.size;
  }
  advance(ms: number) {
    this.time += ms;
    for (const [id, timer] of [...this.#due].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.time) continue;
      this.#due.delete(id);
      timer.fn();
    }
  }
}
