/**
 * Signals waiting for a target that is not present yet. A signalling server holds them for a while so
 * that two peers told about each other at once do not race; the target gets them when it arrives,
 * the sender hears back when they expire, and a sender that leaves takes its held signals with it.
 * Kept apart from any socket so a relay over peer connections can hold the same way.
 */
import type { TimerHandle, Timers } from '../../util/timers.ts';

/** One held message, as the expiry callback sees it. */
export interface HeldMessage<Sender, Message> {
  readonly sender: Sender;
  /** The peer id the message waits for. */
  readonly target: string;
  readonly message: Message;
  /** The sender's request id, to answer it by when the hold expires. */
  readonly ref: string | undefined;
}

export interface HoldQueueOptions<Sender, Message> {
  /** How long a message waits for its target. */
  holdMs: number;
  /** How many messages one sender may have waiting at once, across all targets. */
  maxPerSender: number;
  timers: Timers;
  /** The target did not arrive within holdMs; the message is gone from the queue. */
  onExpire: (held: HeldMessage<Sender, Message>) => void;
}

interface Entry<Sender, Message> extends HeldMessage<Sender, Message> {
  timer: TimerHandle;
}

/** Senders are told apart by identity (a connection object, say); targets by peer id. */
export class HoldQueue<Sender, Message> {
  readonly #options: HoldQueueOptions<Sender, Message>;
  /** Per target, in the order they were held. */
  readonly #byTarget = new Map<string, Entry<Sender, Message>[]>();
  readonly #countBySender = new Map<Sender, number>();

  constructor(options: HoldQueueOptions<Sender, Message>) {
    this.#options = options;
  }

  /** How many messages this sender has waiting. */
  heldBy(sender: Sender): number {
    return this.#countBySender.get(sender) ?? 0;
  }

  /** Holds a message for an absent target; false (and nothing held) when the sender is at its cap. */
  hold(sender: Sender, target: string, message: Message, ref?: string): boolean {
    if (this.heldBy(sender) >= this.#options.maxPerSender) return false;
    const entry: Entry<Sender, Message> = { sender, target, message, ref, timer: undefined };
    entry.timer = this.#options.timers.setTimeout(() => {
      this.#remove(entry);
      this.#options.onExpire({ sender, target, message, ref });
    }, this.#options.holdMs);
    this.#countBySender.set(sender, this.heldBy(sender) + 1);
    const queue = this.#byTarget.get(target) ?? [];
    queue.push(entry);
    this.#byTarget.set(target, queue);
    return true;
  }

  /** The target arrived: removes and returns what waited for it, oldest first. */
  release(target: string): Message[] {
    const waiting = [...(this.#byTarget.get(target) ?? [])];
    for (const entry of waiting) this.#remove(entry);
    return waiting.map((entry) => entry.message);
  }

  /** The sender left: what it held is dropped, unsent and without expiry callbacks. */
  dropFrom(sender: Sender): void {
    if (this.heldBy(sender) === 0) return;
    for (const queue of [...this.#byTarget.values()]) {
      for (const entry of [...queue]) if (entry.sender === sender) this.#remove(entry);
    }
  }

  #remove(entry: Entry<Sender, Message>): void {
    this.#options.timers.clearTimeout(entry.timer);
    const left = this.heldBy(entry.sender) - 1;
    if (left > 0) this.#countBySender.set(entry.sender, left);
    else this.#countBySender.delete(entry.sender);
    const queue = this.#byTarget.get(entry.target);
    if (!queue) return;
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.#byTarget.delete(entry.target);
  }
}
