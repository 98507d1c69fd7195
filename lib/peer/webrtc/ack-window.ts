/**
 * The end-to-end acknowledgement window of the WebRTC transport, both sides of it: the sender counts
 * frame bytes sent and acknowledged, the receiver counts frame bytes delivered to its listeners and
 * reports them in the text control message "swarmdrop/ack <bytes>" (the running total).
 */
import { SwarmError } from '../errors.ts';

/**
 * The sender stops handing frames to the channel while this many bytes it sent are not yet
 * acknowledged as delivered to the receiver's 'frame' listeners. Needed because SCTP flow control
 * stops short of JavaScript: node-datachannel queues received messages for the event loop without
 * limit (measured 12-40 MiB queued, growing with the amount sent). 8 MiB covers the
 * bandwidth-delay product of ~50 MB/s at 150 ms round trip.
 */
export const WEBRTC_WINDOW_BYTES = 8 * 1024 * 1024;
/** The receiver acknowledges after consuming this much, and at latest WEBRTC_ACK_DELAY_MS after a frame. */
export const WEBRTC_ACK_EVERY_BYTES = WEBRTC_WINDOW_BYTES / 4;
/** Short enough that a sender waiting to send a frame bigger than what is left of the window barely notices. */
export const WEBRTC_ACK_DELAY_MS = 20;
/** Text control message "swarmdrop/ack <bytes>": total frame bytes delivered so far. */
const ACK_PREFIX = 'swarmdrop/ack ';

/** Whether a data-channel message is an acknowledgement (frames are binary, so never one). */
export function isAckMessage(data: unknown): data is string {
  return typeof data === 'string' && data.startsWith(ACK_PREFIX);
}

/**
 * One transport's window. `sendAck` puts an acknowledgement on the channel (it may throw; the
 * transport decides what a failed send means); it is never called after `stop`.
 */
export class AckWindow {
  readonly #sendAck: (message: string) => void;
  /** Frame bytes sent / acknowledged by the remote (sender side). */
  #sentBytes = 0;
  #ackedBytes = 0;
  /** Frame bytes delivered to our listeners / acknowledged to the remote (receiver side). */
  #consumedBytes = 0;
  #reportedBytes = 0;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  constructor(sendAck: (message: string) => void) {
    this.#sendAck = sendAck;
  }

  /** Whether a frame of this size may go to the channel now. */
  admits(frameBytes: number): boolean {
    const unacknowledged = this.#sentBytes - this.#ackedBytes;
    // A frame larger than the window goes alone, once everything before it is acknowledged.
    return unacknowledged === 0 || unacknowledged + frameBytes <= WEBRTC_WINDOW_BYTES;
  }

  /** Counts a frame handed to the channel. */
  sent(frameBytes: number): void {
    this.#sentBytes += frameBytes;
  }

  /**
   * Takes an acknowledgement from the remote (see isAckMessage). Returns the error to close with when
   * it is not one we can believe: not a count, going backwards, or more than we sent.
   */
  acknowledged(message: string): SwarmError | null {
    const count = message.slice(ACK_PREFIX.length);
    const total = Number(count);
    if (!Number.isSafeInteger(total) || total < this.#ackedBytes || total > this.#sentBytes) {
      return new SwarmError(
        'TRANSPORT_ERROR',
        `the remote acknowledged ${count} bytes; we sent ${this.#sentBytes}`,
      );
    }
    this.#ackedBytes = total;
    return null;
  }

  /** Counts frame bytes handed to our listeners and acknowledges them, at once or after a short delay. */
  consumed(frameBytes: number): void {
    if (this.#stopped) return;
    this.#consumedBytes += frameBytes;
    const pending = this.#consumedBytes - this.#reportedBytes;
    if (pending >= WEBRTC_ACK_EVERY_BYTES) this.#acknowledge();
    else this.#ackTimer ??= setTimeout(() => this.#acknowledge(), WEBRTC_ACK_DELAY_MS);
  }

  /** No acknowledgement goes out after this (the transport closed). Safe to call twice. */
  stop(): void {
    this.#stopped = true;
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
  }

  #acknowledge(): void {
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (this.#stopped || this.#consumedBytes === this.#reportedBytes) return;
    this.#reportedBytes = this.#consumedBytes;
    this.#sendAck(`${ACK_PREFIX}${this.#consumedBytes}`);
  }
}
