import { afterEach, describe, expect, it, vi } from 'vitest';
import { FRAME_HEADER_BYTES } from '../../lib/peer/constants.ts';
import { FramePool, POOLED_MIN_BYTES, POOL_SIZE_STEP } from '../../lib/peer/wire/frame-pool.ts';
import { encodeFrame, FrameReader } from '../../lib/peer/wire/frame-reader.ts';

afterEach(() => vi.useRealTimers());

/** toEqual walks 300 KiB element by element, for seconds. */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('FramePool', () => {
  it('lends buffers of exactly the asked length, rounded up underneath', () => {
    const pool = new FramePool();
    const frame = pool.take(1024 * 1024 + 41);
    expect(frame.length).toBe(1024 * 1024 + 41);
    expect(frame.byteOffset).toBe(FRAME_HEADER_BYTES);
    expect(frame.buffer.byteLength).toBe(1024 * 1024 + POOL_SIZE_STEP);
  });

  it('leaves room for the length prefix in front of the frames it lends, and only those', () => {
    const pool = new FramePool();
    const frame = pool.take(128 * 1024);
    const whole = pool.withPrefix(frame)!;
    expect(whole.buffer).toBe(frame.buffer);
    expect([whole.byteOffset, whole.length]).toEqual([0, FRAME_HEADER_BYTES + frame.length]);
    expect(pool.withPrefix(frame.subarray(1))).toBeNull();
    expect(pool.withPrefix(new Uint8Array(new ArrayBuffer(128 * 1024 + 4), 4))).toBeNull();
    pool.release(frame);
    expect(pool.withPrefix(frame)).toBeNull(); // given back: no longer the caller's to write into
  });

  it('hands a released buffer to the next frame of that size class', () => {
    const pool = new FramePool();
    const first = pool.take(1024 * 1024 + 41);
    pool.release(first.subarray(41)); // any view of it gives the buffer back
    expect(pool.freeBytes).toBe(first.buffer.byteLength);
    const second = pool.take(1024 * 1024 + 7);
    expect(second.buffer).toBe(first.buffer);
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(1024 * 1024 + 7).buffer).not.toBe(first.buffer);
  });

  it('does not pool small frames', () => {
    const pool = new FramePool();
    const small = pool.take(POOLED_MIN_BYTES - 1);
    pool.release(small);
    expect(pool.freeBytes).toBe(0);
  });

  it('ignores buffers it did not lend and a second release of the same one', () => {
    const pool = new FramePool();
    pool.release(new Uint8Array(256 * 1024));
    expect(pool.freeBytes).toBe(0);
    const frame = pool.take(256 * 1024);
    pool.release(frame);
    pool.release(frame);
    expect(pool.freeBytes).toBe(frame.buffer.byteLength);
    const a = pool.take(256 * 1024);
    const b = pool.take(256 * 1024);
    expect(a.buffer).not.toBe(b.buffer); // the double release did not list it twice
  });

  it('keeps at most maxFreeBytes', () => {
    const step2 = 2 * POOL_SIZE_STEP; // frames of exactly two size steps with their prefix
    const pool = new FramePool({ maxFreeBytes: 2 * step2 });
    const frames = [1, 2, 3].map(() => pool.take(step2 - FRAME_HEADER_BYTES));
    for (const f of frames) pool.release(f);
    expect(pool.freeBytes).toBe(2 * step2);
  });

  it('drops its free buffers once idle', () => {
    vi.useFakeTimers();
    const pool = new FramePool({ idleMs: 1000 });
    pool.release(pool.take(POOLED_MIN_BYTES));
    vi.advanceTimersByTime(500);
    pool.release(pool.take(POOLED_MIN_BYTES)); // used again: the idle time starts over
    vi.advanceTimersByTime(700);
    expect(pool.freeBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(400);
    expect(pool.freeBytes).toBe(0);
  });
});

describe('FrameReader with a pool', () => {
  it('assembles payloads that span chunks in pooled buffers, and views for the rest', () => {
    const pool = new FramePool();
    const reader = new FrameReader({ allocate: (n) => pool.take(n) });
    const payload = Uint8Array.from({ length: 300 * 1024 }, (_, i) => i % 251);
    const stream = encodeFrame(payload);
    const out: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += 16 * 1024) out.push(...reader.push(stream.subarray(at, at + 16 * 1024)));
    expect(out).toHaveLength(1);
    expect(same(out[0]!, payload)).toBe(true);
    pool.release(out[0]!);
    expect(pool.freeBytes).toBe(out[0]!.buffer.byteLength);
    // The next frame reuses the buffer; a frame inside one chunk is still a view of it.
    const again = reader.push(stream.subarray(0, 100)).concat(reader.push(stream.subarray(100)));
    expect(again[0]!.buffer).toBe(out[0]!.buffer);
    expect(same(again[0]!, payload)).toBe(true);
    const whole = encodeFrame(payload);
    expect(reader.push(whole)[0]!.buffer).toBe(whole.buffer);
  });
});
