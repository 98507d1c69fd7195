import { MAX_FRAME_BYTES } from './constants.ts';
import { SwarmError } from './errors.ts';
import type { Transport, TransportEvents } from './transport.ts';
import { Emitter } from '../util/emitter.ts';
import { scheduleTask } from '../util/next-task.ts';

/**
 * Bytes that may wait in a memory endpoint's inbox before the peer's `send` stops resolving at once.
 * Small, so unit tests exercise the back-pressure path often; the size of a typical socket buffer.
 */
export const MEMORY_HIGH_WATER_MARK_BYTES = 64 * 1024;

export type MemoryTransportOptions = {
  /** Largest frame either side accepts, in bytes (default MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** Inbox size, in bytes, above which `send` waits for the receiver to catch up. */
  highWaterMark?: number;
};

type PendingSend = { resolve: () => void; reject: (err: Error) => void };

/** What waits in an inbox: a frame, or the news that the sending side closed after it. */
type InboxItem = { kind: 'frame'; frame: Uint8Array } | { kind: 'remote-closed' };

/**
 * One end of an in-memory pair. Mimics a socket closely enough for protocol tests: delivery is
 * asynchronous and ordered, `send` copies (the caller may reuse its buffer as soon as `send` returns),
 * back-pressure holds `send` while the peer's inbox is over the high-water mark, and an orderly close
 * lets the peer receive what was already sent before it sees 'close' (as TCP's FIN does).
 */
class MemoryTransport extends Emitter<TransportEvents> implements Transport {
  readonly kind = 'memory' as const;
  readonly remoteAddress = null;
  readonly remotePort = null;
  readonly maxFrameBytes: number;
  readonly #highWaterMark: number;
  #peer: MemoryTransport | null = null;
  #closed = false;
  #inbox: InboxItem[] = [];
  #inboxBytes = 0;
  #deliveryScheduled = false;
  /** This side's sends whose frames sit in the peer's inbox while it is over the high-water mark. */
  #pendingSends: PendingSend[] = [];

  constructor(maxFrameBytes: number, highWaterMark: number) {
    super();
    this.maxFrameBytes = maxFrameBytes;
    this.#highWaterMark = highWaterMark;
  }

  static pair(options: MemoryTransportOptions): [MemoryTransport, MemoryTransport] {
    const max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    const hwm = options.highWaterMark ?? MEMORY_HIGH_WATER_MARK_BYTES;
    const a = new MemoryTransport(max, hwm);
    const b = new MemoryTransport(max, hwm);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: Uint8Array): Promise<void> {
    const peer = this.#peer;
    if (this.#closed || !peer || peer.#closed) {
      return Promise.reject(
        new SwarmError('TRANSPORT_CLOSED', 'cannot send: the memory transport is closed'),
      );
    }
    if (frame.length > this.maxFrameBytes) {
      return Promise.reject(
        new SwarmError(
          'FRAME_TOO_LARGE',
          `cannot send a frame of ${frame.length} bytes, over the limit of ${this.maxFrameBytes} bytes`,
        ),
      );
    }
    peer.#enqueue({ kind: 'frame', frame: frame.slice() });
    if (peer.#inboxBytes <= this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve, reject) => this.#pendingSends.push({ resolve, reject }));
  }

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    this.#inboxBytes = 0;
    this.#rejectPendingSends();
    const peer = this.#peer;
    if (peer && !peer.#closed) {
      // The peer's sends waiting on our inbox can no longer be delivered.
      peer.#rejectPendingSends();
      peer.#enqueue({ kind: 'remote-closed' });
    }
    this.emit('close', err);
  }

  #rejectPendingSends(): void {
    const pending = this.#pendingSends;
    this.#pendingSends = [];
    for (const p of pending) {
      p.reject(
        new SwarmError('TRANSPORT_CLOSED', 'the memory transport closed before the frame was accepted'),
      );
    }
  }

  #enqueue(item: InboxItem): void {
    this.#inbox.push(item);
    if (item.kind === 'frame') this.#inboxBytes += item.frame.length;
    if (this.#deliveryScheduled) return;
    this.#deliveryScheduled = true;
    scheduleTask(() => this.#deliver());
  }

  /** Empties the inbox in one task, as a socket delivers what one read returned. */
  #deliver(): void {
    this.#deliveryScheduled = false;
    // Take the whole inbox: frames the peer sends from inside a 'frame' listener go to a fresh
    // inbox and a new task, so this loop always ends.
    const items = this.#inbox;
    this.#inbox = [];
    for (const item of items) {
      if (this.#closed) break;
      if (item.kind === 'remote-closed') {
        this.close();
        break;
      }
      this.#inboxBytes -= item.frame.length;
      this.emit('frame', item.frame);
    }
    const peer = this.#peer;
    if (peer) peer.#onPeerInboxDrained();
  }

  /** Called by the peer after it delivered: releases our sends once its inbox is under the mark. */
  #onPeerInboxDrained(): void {
    const peer = this.#peer;
    if (!peer || peer.#inboxBytes > this.#highWaterMark) return;
    const pending = this.#pendingSends;
    this.#pendingSends = [];
    for (const p of pending) p.resolve();
  }
}

/**
 * Two connected in-memory transports, for unit tests of everything above the transport layer
 * (kind 'memory', no remote address). Closing either end closes both.
 */
export function createMemoryTransportPair(options: MemoryTransportOptions = {}): [Transport, Transport] {
  return MemoryTransport.pair(options);
}
