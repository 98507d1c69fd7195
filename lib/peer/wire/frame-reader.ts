import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../constants.ts';
import { SwarmError } from '../errors.ts';

/** The largest length a 4-byte unsigned prefix can announce. */
const MAX_PREFIX_VALUE = 0xffff_ffff;

/**
 * The 4-byte big-endian unsigned length prefix of STANDARD-PROTOCOL.md for a payload of `length` bytes.
 * Exported so a socket writer can send header and payload as two writes instead of copying a large
 * payload into one buffer.
 */
export function frameHeader(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_PREFIX_VALUE) {
    throw new RangeError(`frame length ${length} cannot be written as a 4-byte unsigned prefix`);
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, length, false);
  return header;
}

/** Prefix + payload in one new buffer: convenient for small frames and tests; it copies the payload. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  frame.set(frameHeader(payload.length), 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameReaderOptions = {
  /** Largest payload accepted, in bytes; a prefix announcing more is a protocol violation. */
  maxFrameBytes?: number;
  /**
   * Where a payload that spans chunks is copied to (default: a new buffer of its size), e.g. a
   * FramePool's `take`, whose buffers the consumer gives back when done with the payload.
   */
  allocate?: (length: number) => Uint8Array;
};

/**
 * Reassembles length-prefixed frames from a byte stream that arrives split and coalesced arbitrarily
 * (the reference peer reads and writes in small pieces).
 *
 * Copies are kept low: pushed chunks are queued as they are, never concatenated into one growing
 * buffer. A payload is copied once, into a buffer of its own size (from `allocate`), only when it
 * spans chunks, and only once all of it has arrived (a remote cannot make us allocate by announcing
 * a length).
 *
 * Aliasing rule: a payload that lies inside one pushed chunk is returned as a `subarray` view of that
 * chunk. So whoever pushes a chunk hands it over: it must not be modified afterwards (Node gives each
 * socket 'data' event a fresh Buffer, so a socket reader gets this for free). A consumer that keeps a
 * small payload for long may `slice()` it, so as not to keep the whole chunk alive.
 *
 * A violation (an over-size prefix) is thrown as a SwarmError('FRAME_TOO_LARGE') as soon as the four
 * prefix bytes are seen, before any of the announced payload is buffered. The reader is then poisoned:
 * every later `push` throws the same error, since the stream can no longer be parsed. Payloads that the
 * same `push` completed before the bad prefix are discarded with it: the connection is being dropped.
 */
export class FrameReader {
  readonly maxFrameBytes: number;
  readonly #allocate: (length: number) => Uint8Array;
  /** Chunks not yet fully consumed; bytes before `#headOffset` in `#chunks[0]` are already consumed. */
  #chunks: Uint8Array[] = [];
  #headOffset = 0;
  /** Unconsumed bytes across `#chunks`. */
  #buffered = 0;
  /** Payload length announced by the prefix just read, or null while waiting for a prefix. */
  #payloadLength: number | null = null;
  #error: SwarmError | null = null;

  constructor(options: FrameReaderOptions = {}) {
    const max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > MAX_PREFIX_VALUE) {
      throw new RangeError(`maxFrameBytes must be an integer from 0 to ${MAX_PREFIX_VALUE}, got ${max}`);
    }
    this.maxFrameBytes = max;
    this.#allocate = options.allocate ?? ((length) => new Uint8Array(length));
  }

  /** Bytes received but not yet returned as payloads (a partial prefix or a partial payload). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True when the stream stopped between frames; false when it stopped inside a prefix or payload. */
  get atFrameBoundary(): boolean {
    return this.#buffered === 0 && this.#payloadLength === null;
  }

  /** Feed the next bytes of the stream; returns the payloads this chunk completed, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#error) throw this.#error;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const payloads: Uint8Array[] = [];
    for (;;) {
      if (this.#payloadLength === null) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        this.#payloadLength = this.#readPrefix();
      }
      if (this.#buffered < this.#payloadLength) break;
      payloads.push(this.#take(this.#payloadLength, this.#allocate));
      this.#payloadLength = null;
    }
    return payloads;
  }

  #readPrefix(): number {
    const b = this.#take(FRAME_HEADER_BYTES, (length) => new Uint8Array(length));
    // `>>> 0` keeps the value unsigned: a prefix with the top bit set must not turn negative.
    const length = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (length > this.maxFrameBytes) {
      this.#error = new SwarmError(
        'FRAME_TOO_LARGE',
        `the remote announced a frame of ${length} bytes, over the limit of ${this.maxFrameBytes} bytes`,
      );
      // Drop what is buffered: nothing after a bad prefix can be parsed.
      this.#chunks = [];
      this.#headOffset = 0;
      this.#buffered = 0;
      throw this.#error;
    }
    return length;
  }

  /** Removes the next `n` buffered bytes (the caller checked they are there): a view if possible. */
  #take(n: number, allocate: (length: number) => Uint8Array): Uint8Array {
    const head = this.#chunks[0];
    if (n === 0 || head === undefined) return new Uint8Array(0);
    if (head.length - this.#headOffset >= n) {
      const view = head.subarray(this.#headOffset, this.#headOffset + n);
      this.#consume(n);
      return view;
    }
    const out = allocate(n);
    let written = 0;
    let used = 0; // whole chunks consumed, removed in one splice below (not one shift per chunk)
    let offset = this.#headOffset;
    while (written < n) {
      const chunk = this.#chunks[used]!;
      const count = Math.min(chunk.length - offset, n - written);
      out.set(chunk.subarray(offset, offset + count), written);
      written += count;
      offset += count;
      if (offset === chunk.length) {
        used += 1;
        offset = 0;
      }
    }
    this.#chunks.splice(0, used);
    this.#headOffset = offset;
    this.#buffered -= n;
    return out;
  }

  /** Advances past `n` bytes that lie inside the head chunk. */
  #consume(n: number): void {
    this.#headOffset += n;
    this.#buffered -= n;
    if (this.#headOffset === this.#chunks[0]!.length) {
      this.#chunks.shift();
      this.#headOffset = 0;
    }
  }
}
