/**
 * Reused buffers for large frames, received and sent.
 *
 * A downloading node receives its data as 1 MiB chunk frames, each assembled by the FrameReader into
 * a buffer of its own. Allocated fresh, every MiB received left a dead MiB behind for V8 to collect,
 * and V8 collects external memory late: that garbage was most of a downloader's peak RSS above its
 * idle size (bench/README.md, "memory / peak RSS"). From this pool, a frame's buffer goes back once
 * its consumer is done with it (the download, after the chunk's disk write), and the next frame is
 * assembled in it: the steady state of a transfer allocates no frame buffers. A seeder reads the
 * chunks it serves into frames of the pool too, and gives each back once sent.
 *
 * Every pooled frame starts FRAME_HEADER_BYTES into its buffer, so a transport can write the length
 * prefix in front of it and send prefix and frame as one buffer (`withPrefix`): TLS copies a write of
 * several buffers into one before encrypting it.
 *
 * Safety rests on one rule: `release` a frame only when nothing reads any view of it any more. A
 * frame never released is simply garbage, as before; releasing a buffer the pool did not lend, or
 * releasing twice, does nothing.
 */
import { FRAME_HEADER_BYTES } from '../constants.ts';

/** Payloads smaller than this are not worth pooling (JSON messages, small chunks). */
export const POOLED_MIN_BYTES = 64 * 1024;
/** Pooled buffers come in sizes rounded up to a multiple of this (prefix + 41-byte header + 1 MiB -> 1 MiB + 64 KiB). */
export const POOL_SIZE_STEP = 64 * 1024;
/**
 * Free buffers kept at most: the downloader holds at most MAX_PENDING_WRITE_BYTES (8 MiB) of received
 * data waiting for the disk, plus the frames being judged; this covers it with room to spare.
 */
export const POOL_MAX_FREE_BYTES = 16 * 1024 * 1024;
/** Free buffers unused this long are dropped, so an idle node does not keep them. */
export const POOL_IDLE_MS = 10_000;

export class FramePool {
  readonly maxFreeBytes: number;
  readonly #idleMs: number;
  /** Free buffers by size. */
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** Buffers lent and not yet released: only these are taken back. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  #trimTimer: ReturnType<typeof setTimeout> | null = null;
  #lastUse = 0;

  constructor(options: { maxFreeBytes?: number; idleMs?: number } = {}) {
    this.maxFreeBytes = options.maxFreeBytes ?? POOL_MAX_FREE_BYTES;
    this.#idleMs = options.idleMs ?? POOL_IDLE_MS;
  }

  /** Bytes held in free buffers (for tests and diagnostics). */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of exactly `length` bytes, pooled when large enough. Its contents are undefined. */
  take(length: number): Uint8Array {
    if (length < POOLED_MIN_BYTES) return new Uint8Array(length);
    const size = Math.ceil((FRAME_HEADER_BYTES + length) / POOL_SIZE_STEP) * POOL_SIZE_STEP;
    let buffer = this.#free.get(size)?.pop();
    if (buffer) this.#freeBytes -= size;
    else buffer = new ArrayBuffer(size);
    this.#lent.add(buffer);
    this.#lastUse = Date.now();
    return new Uint8Array(buffer, FRAME_HEADER_BYTES, length);
  }

  /**
   * `frame` with the FRAME_HEADER_BYTES in front of it, when it is (a view from the start of) a frame
   * this pool lent: those bytes are free for its length prefix. Null for any other buffer.
   */
  withPrefix(frame: Uint8Array): Uint8Array | null {
    const buffer = frame.buffer;
    if (frame.byteOffset !== FRAME_HEADER_BYTES || !(buffer instanceof ArrayBuffer) || !this.#lent.has(buffer)) return null;
    return new Uint8Array(buffer, 0, FRAME_HEADER_BYTES + frame.length);
  }

  /** Gives back the buffer under `view` (any view of it): every view of it is invalid afterwards. */
  release(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.#lent.delete(buffer)) return;
    if (this.#freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    const list = this.#free.get(buffer.byteLength);
    if (list) list.push(buffer);
    else this.#free.set(buffer.byteLength, [buffer]);
    this.#freeBytes += buffer.byteLength;
    this.#lastUse = Date.now();
    this.#scheduleTrim();
  }

  /** Drops every free buffer. */
  trim(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }

  #scheduleTrim(): void {
    if (this.#trimTimer !== null) return;
    const check = (): void => {
      const idle = Date.now() - this.#lastUse;
      if (this.#freeBytes === 0) {
        this.#trimTimer = null;
      } else if (idle >= this.#idleMs) {
        this.trim();
        this.#trimTimer = null;
      } else {
        this.#trimTimer = setTimeout(check, this.#idleMs - idle);
        unref(this.#trimTimer);
      }
    };
    this.#trimTimer = setTimeout(check, this.#idleMs);
    unref(this.#trimTimer);
  }
}

/** Node's timers would keep the process alive; browsers' have no unref. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

/**
 * The process's pool: frames received over TCP (TcpTransport, given back by the transfer service)
 * and chunk frames the chunk server sends.
 */
export const framePool = new FramePool();
