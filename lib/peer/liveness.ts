import type { TimerHandle, Timers } from '../util/timers.ts';

/**
 * Whether one connection's remote is still there. Once started it pings on an interval and times
 * each pong; independently, it reports the link idle when nothing at all has been received for the
 * idle timeout. Any frame counts as a sign of life, not only a pong, so a link busy with file data
 * is never declared dead because a pong waits behind it.
 */
export interface LivenessOptions {
  timers: Timers;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  sendPing: () => void;
  onIdle: (idleForMs: number) => void;
}

/** The idle check runs at least this often, so a long idle timeout is still noticed promptly. */
const MAX_IDLE_CHECK_INTERVAL_MS = 5_000;

export class Liveness {
  readonly #options: LivenessOptions;
  #lastReceivedAt: number;
  #pingSentAt: number | null = null;
  #pingTimer: TimerHandle | null = null;
  #idleTimer: TimerHandle | null;

  /** Starts watching for idleness at once: a remote that never completes anything is idle too. */
  constructor(options: LivenessOptions) {
    this.#options = options;
    this.#lastReceivedAt = options.timers.now();
    this.#idleTimer = options.timers.setInterval(
      () => this.#checkIdle(),
      Math.min(options.idleTimeoutMs / 4, MAX_IDLE_CHECK_INTERVAL_MS),
    );
  }

  /** Call on every frame received. */
  received(): void {
    this.#lastReceivedAt = this.#options.timers.now();
  }

  /** Starts the periodic pings (once the connection is open). */
  startPinging(): void {
    if (this.#pingTimer !== null) return;
    this.#pingTimer = this.#options.timers.setInterval(() => this.#ping(), this.#options.pingIntervalMs);
  }

  /** The round trip of the ping this pong answers, or null when no ping is outstanding. */
  pongReceived(): number | null {
    const rtt = this.#pingSentAt === null ? null : this.#options.timers.now() - this.#pingSentAt;
    this.#pingSentAt = null;
    return rtt;
  }

  /** Stops every timer. Safe to call twice. */
  stop(): void {
    for (const timer of [this.#idleTimer, this.#pingTimer]) {
      if (timer !== null) this.#options.timers.clearInterval(timer);
    }
    this.#idleTimer = this.#pingTimer = null;
  }

  #ping(): void {
    this.#pingSentAt = this.#options.timers.now();
    this.#options.sendPing();
  }

  #checkIdle(): void {
    const idleFor = this.#options.timers.now() - this.#lastReceivedAt;
    if (idleFor >= this.#options.idleTimeoutMs) this.#options.onIdle(idleFor);
  }
}
