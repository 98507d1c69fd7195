/**
 * The outgoing queue of one connection. Everything a connection sends goes through here so that
 * control frames (handshake, ping, cancel) and chat are never stuck behind megabytes of chunk data:
 * a single pump always sends the highest-priority waiting frame next and awaits the transport's
 * `send` (its back-pressure) before taking another. Within one priority, order is FIFO, and frames
 * reach the transport in the order the pump takes them.
 *
 * Small control and chat frames are the exception to awaiting: up to PIPELINED_BYTES of them may be
 * in the transport's hands at once, so the pump hands on the next frame without waiting for their
 * writes to complete. Over TLS a write completes one event-loop turn after it went to the kernel
 * (Node's TLS layer reports even a synchronous write from setImmediate), and a downloader's turns are
 * long while it hashes and writes chunks: with one frame at a time, a chat `ack` waited up to ~90 ms
 * behind chunk requests that had long left (`npm run bench -- --only chat-under-load`). Bulk frames
 * stay one at a time: they are what fills the socket, and chunk frames come from a pool that takes
 * them back once sent.
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

/** Control and chat bytes that may be handed to the transport before earlier ones completed. */
export const PIPELINED_BYTES = 64 * 1024;

interface QueuedFrame {
  frame: Uint8Array;
  priority: Priority;
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
  /** Bytes of pipelined control/chat frames whose `send` has not settled yet. */
  #pipelinedBytes = 0;
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
        queue.push({ frame, priority, resolve, reject });
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
        const size = item.frame.byteLength;
        const pipelined = item.priority !== 'bulk' && this.#pipelinedBytes + size <= PIPELINED_BYTES;
        const sent = this.#sendOne(item);
        if (pipelined) {
          this.#pipelinedBytes += size;
          void sent.then(() => (this.#pipelinedBytes -= size));
        } else {
          await sent;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Settles the frame's promise with the transport's answer; a failed send closes the queue. */
  #sendOne(item: QueuedFrame): Promise<void> {
    let sending: Promise<void>;
    try {
      sending = this.#send(item.frame);
    } catch (err) {
      sending = Promise.reject(err);
    }
    return sending.then(item.resolve, (err: unknown) => {
      const error = err instanceof Error ? err : new SwarmError('TRANSPORT_ERROR', String(err));
      item.reject(error);
      this.close(error);
    });
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
