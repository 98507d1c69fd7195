/**
 * The outgoing queue of one connection. Everything a connection sends goes through here so that
 * control frames (handshake, ping, cancel) and chat are never stuck behind megabytes of chunk data:
 * a single pump always sends the highest-priority waiting frame next and awaits the transport's
 * `send` (its back-pressure) before taking another. Within one priority, order is FIFO.
 *
 * Frames are never dropped for being many: the caller's back-pressure is the promise `enqueue`
 * returns, which settles once that frame has been handed to the transport.
 */
import { SwarmError } from './errors.ts';
import type { MessageType } from './wire/schema.ts';

export type Priority = 'control' | 'chat' | 'bulk';

/** Highest first: the pump scans in this order. */
export const PRIORITIES: readonly Priority[] = ['control', 'chat', 'bulk'];

/** Which queue a message type goes through: control before chat before bulk file data. */
export function priorityOf(type: MessageType): Priority {
  switch (type) {
    case 'text':
    case 'ack':
      return 'chat';
    case 'file_chunk':
      return 'bulk';
    default:
      return 'control';
  }
}

export type SendFrame = (frame: Uint8Array) => Promise<void>;

interface QueuedFrame {
  frame: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class OutgoingQueue {
  readonly #send: SendFrame;
  readonly #queues: Record<Priority, Fifo<QueuedFrame>> = {
    control: new Fifo(),
    chat: new Fifo(),
    bulk: new Fifo(),
  };
  #bytesQueued = 0;
  #pumping = false;
  #closedWith: Error | null = null;

  constructor(send: SendFrame) {
    this.#send = send;
  }

  /**
   * Queues a frame. Resolves once `send` has accepted it; rejects if the queue is (or gets) closed
   * first, or if `send` fails (which also closes the queue: a transport that failed one write
   * cannot be trusted to deliver the next one in order).
   */
  enqueue(frame: Uint8Array, priority: Priority): Promise<void> {
    if (this.#closedWith) return quietly(Promise.reject(this.#closedWith));
    const queue = this.#queues[priority];
    if (!queue) return quietly(Promise.reject(new TypeError(`unknown priority ${String(priority)}`)));
    return quietly(
      new Promise<void>((resolve, reject) => {
        queue.push({ frame, resolve, reject });
        this.#bytesQueued += frame.byteLength;
        if (!this.#pumping) void this.#pump();
      }),
    );
  }

  /** Frames waiting (not yet handed to `send`). */
  get size(): number {
    return this.#queues.control.length + this.#queues.chat.length + this.#queues.bulk.length;
  }

  get sizeByPriority(): Record<Priority, number> {
    return {
      control: this.#queues.control.length,
      chat: this.#queues.chat.length,
      bulk: this.#queues.bulk.length,
    };
  }

  /** Bytes in waiting frames (not counting one currently inside `send`). */
  get bytesQueued(): number {
    return this.#bytesQueued;
  }

  get closed(): boolean {
    return this.#closedWith !== null;
  }

  /** Rejects every waiting frame and refuses new ones. Safe to call more than once (the first error wins). */
  close(err?: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = err ?? new SwarmError('TRANSPORT_CLOSED', 'outgoing queue closed');
    for (const priority of PRIORITIES) {
      const queue = this.#queues[priority];
      for (let item = queue.shift(); item; item = queue.shift()) item.reject(this.#closedWith);
    }
    this.#bytesQueued = 0;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (let item = this.#takeNext(); item; item = this.#takeNext()) {
        try {
          await this.#send(item.frame);
        } catch (err) {
          const error = err instanceof Error ? err : new SwarmError('TRANSPORT_ERROR', String(err));
          item.reject(error);
          this.close(error);
          return;
        }
        item.resolve();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #takeNext(): QueuedFrame | undefined {
    if (this.#closedWith) return undefined;
    for (const priority of PRIORITIES) {
      const item = this.#queues[priority].shift();
      if (item) {
        this.#bytesQueued -= item.frame.byteLength;
        return item;
      }
    }
    return undefined;
  }
}

/**
 * Marks the promise as handled, so that closing a connection with a thousand fire-and-forget frames
 * queued does not raise a thousand unhandled rejections (fatal in Node). Whoever awaits the
 * returned promise still sees the rejection.
 */
function quietly(promise: Promise<void>): Promise<void> {
  promise.catch(() => {});
  return promise;
}

/** FIFO with O(1) amortised shift (Array#shift is O(n), and a bulk queue can hold thousands). */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined; // let the frame be collected
    // Compact once the consumed prefix dominates, keeping memory proportional to what is waiting.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
