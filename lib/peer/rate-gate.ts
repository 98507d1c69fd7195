/**
 * Per-connection admission of messages (on peer links and on the signalling server's sockets): a
 * token bucket for the rate, and a count of what it refused to tell a burst (answer once, drop the
 * rest) from a flood (close the connection).
 */
import { TokenBucket } from '../transfer/token-bucket.ts';
import type { Timers } from '../util/timers.ts';

/** Over-limit messages are counted per window of this length to tell a burst from a flood. */
export const FLOOD_WINDOW_MS = 1_000;

/**
 * - `admit`: handle the message.
 * - `refuse-and-tell`: drop it and tell the sender it is over the rate, once per episode (answering
 *   every dropped message would feed the flood).
 * - `refuse`: drop it silently; the sender was told already.
 * - `flood`: a whole second's allowance was dropped within one second: the sender is not slowing down.
 */
export type Admission = 'admit' | 'refuse-and-tell' | 'refuse' | 'flood';

export class MessageRateGate {
  readonly #messagesPerSecond: number;
  readonly #timers: Timers;
  readonly #bucket: TokenBucket;
  #droppedInWindow = 0;
  #dropWindowStart: number;
  #toldSender = false;

  constructor(limits: { messagesPerSecond: number; burstMessages: number }, timers: Timers) {
    this.#messagesPerSecond = limits.messagesPerSecond;
    this.#timers = timers;
    this.#bucket = new TokenBucket(limits.messagesPerSecond, { burst: limits.burstMessages, timers });
    this.#dropWindowStart = timers.now();
  }

  /** Decides about one arriving message. */
  admit(): Admission {
    if (this.#bucket.available() >= 1) {
      this.#bucket.consume(1);
      this.#toldSender = false;
      return 'admit';
    }
    const now = this.#timers.now();
    if (now - this.#dropWindowStart >= FLOOD_WINDOW_MS) {
      this.#dropWindowStart = now;
      this.#droppedInWindow = 0;
    }
    this.#droppedInWindow++;
    if (this.#droppedInWindow > this.#messagesPerSecond) return 'flood';
    if (this.#toldSender) return 'refuse';
    this.#toldSender = true;
    return 'refuse-and-tell';
  }
}
