import { describe, expect, it } from 'vitest';
import {
  INITIAL_WINDOW,
  MAX_REQUEST_TIMEOUT_MS,
  MAX_WINDOW_REQUESTS,
  MIN_REQUEST_TIMEOUT_MS,
  MIN_WINDOW,
  PeerPipeline,
  TARGET_QUEUE_MS,
} from '../../lib/transfer/peer-pipeline.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Keeps the pipeline's window full against a simulated peer that serves one request at a time at
 * `rateBps`, with `latencyMs` each way, starting at `startMs`, for `durationMs` of virtual time.
 * Returns the bytes delivered and the time reached.
 */
function drive(
  pipeline: PeerPipeline,
  peer: { rateBps: number; latencyMs: number },
  durationMs: number,
  startMs = 0,
): { bytes: number; now: number } {
  const chunk = pipeline.chunkBytes;
  const pending: { sentAt: number; deliverAt: number }[] = [];
  let busyUntil = startMs;
  let now = startMs;
  let bytes = 0;
  while (now < startMs + durationMs) {
    while (pipeline.hasRoom) {
      pipeline.onSent(now, chunk);
      const serviceStart = Math.max(now + peer.latencyMs, busyUntil);
      busyUntil = serviceStart + (chunk / peer.rateBps) * 1000;
      pending.push({ sentAt: now, deliverAt: busyUntil + peer.latencyMs });
    }
    const next = pending.shift()!;
    now = next.deliverAt;
    pipeline.onDelivered(now, chunk, next.sentAt);
    bytes += chunk;
  }
  pending.forEach(() => pipeline.onCancelled(chunk)); // drain, as a finished transfer would
  return { bytes, now };
}

describe('PeerPipeline', () => {
  it('starts small and caps the window in requests and in bytes', () => {
    expect(new PeerPipeline(64 * KiB).window).toBe(INITIAL_WINDOW);
    expect(new PeerPipeline(64 * KiB).maxWindow).toBe(MAX_WINDOW_REQUESTS);
    expect(new PeerPipeline(MiB).maxWindow).toBe(32); // 32 MiB in flight
    expect(new PeerPipeline(16 * MiB).maxWindow).toBe(MIN_WINDOW);
    expect(() => new PeerPipeline(0)).toThrow(RangeError);
  });

  it('grows to a deep pipeline for a fast peer and measures its rate', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    const rateBps = 500e6;
    drive(pipeline, { rateBps, latencyMs: 1 }, 3_000);
    // Deep, but no deeper than about TARGET_QUEUE_MS of its rate: whatever is in flight is queued
    // in TCP buffers ahead of chat on the same link.
    const inFlightMs = ((pipeline.window * pipeline.chunkBytes) / rateBps) * 1000;
    expect(pipeline.window).toBeGreaterThan(16 * INITIAL_WINDOW);
    expect(inFlightMs).toBeGreaterThanOrEqual(TARGET_QUEUE_MS);
    expect(inFlightMs).toBeLessThanOrEqual(2 * TARGET_QUEUE_MS);
    expect(pipeline.rateBps).toBeGreaterThan(0.9 * rateBps);
    expect(pipeline.rateBps).toBeLessThan(1.1 * rateBps);
  });

  it('keeps a throttled peer busy with a window proportional to its rate', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    const rateBps = 1e6;
    const { bytes, now } = drive(pipeline, { rateBps, latencyMs: 10 }, 10_000);
    // A queue of one round trip (~85 ms with the service time) plus the round trip, plus headroom:
    // about 5 requests.
    expect(pipeline.window).toBeGreaterThanOrEqual(4);
    expect(pipeline.window).toBeLessThanOrEqual(7);
    expect(pipeline.rateBps).toBeGreaterThan(0.9 * rateBps);
    expect(bytes / (now / 1000)).toBeGreaterThan(0.9 * rateBps);
  });

  it('fills a long, fat link (window covers the round trip)', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    const rateBps = 20e6;
    drive(pipeline, { rateBps, latencyMs: 150 }, 5_000); // warm up
    const warm = drive(pipeline, { rateBps, latencyMs: 150 }, 5_000, 6_000);
    expect(warm.bytes / ((warm.now - 6_000) / 1000)).toBeGreaterThan(0.9 * rateBps);
  });

  it('halves the window on a timeout, never below the minimum, and forgets on a delivery', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    drive(pipeline, { rateBps: 100e6, latencyMs: 1 }, 500);
    const before = pipeline.window;
    pipeline.onSent(1_000, 64 * KiB);
    pipeline.onTimeout(64 * KiB);
    expect(pipeline.window).toBe(Math.floor(before / 2));
    expect(pipeline.consecutiveTimeouts).toBe(1);
    for (let i = 0; i < 20; i++) {
      pipeline.onSent(1_000, 64 * KiB);
      pipeline.onTimeout(64 * KiB);
    }
    expect(pipeline.window).toBe(MIN_WINDOW);
    expect(pipeline.consecutiveTimeouts).toBe(21);
    pipeline.onSent(2_000, 64 * KiB);
    pipeline.onDelivered(2_010, 64 * KiB, 2_000);
    expect(pipeline.consecutiveTimeouts).toBe(0);
    expect(pipeline.inFlight).toBe(0);
  });

  it('sets deadlines from a floor (10 s per MiB like the reference peer) and from the queue ahead', () => {
    expect(new PeerPipeline(64 * KiB).onSent(1_000, 64 * KiB)).toBe(1_000 + MIN_REQUEST_TIMEOUT_MS);
    expect(new PeerPipeline(MiB).onSent(0, MiB)).toBe(10_000);
    const slow = new PeerPipeline(64 * KiB);
    const { now } = drive(slow, { rateBps: 200e3, latencyMs: 5 }, 5_000);
    let deadline = 0;
    for (let i = 0; i < slow.window; i++) deadline = slow.onSent(now, 64 * KiB);
    // The last of ~4 queued chunks at 200 kB/s is expected after ~1.3 s; 3x slack is above the floor.
    expect(deadline - now).toBeGreaterThan(MIN_REQUEST_TIMEOUT_MS);
    expect(deadline - now).toBeLessThanOrEqual(MAX_REQUEST_TIMEOUT_MS);
  });

  it('does not count idle time against the rate', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    const rateBps = 5e6;
    const first = drive(pipeline, { rateBps, latencyMs: 2 }, 2_000);
    expect(pipeline.inFlight).toBe(0);
    drive(pipeline, { rateBps, latencyMs: 2 }, 2_000, first.now + 60_000); // a minute with nothing to ask
    expect(pipeline.rateBps).toBeGreaterThan(0.9 * rateBps);
  });

  it('treats a cancel as neutral', () => {
    const pipeline = new PeerPipeline(64 * KiB);
    pipeline.onSent(0, 64 * KiB);
    pipeline.onSent(0, 64 * KiB);
    pipeline.onCancelled(64 * KiB);
    expect(pipeline.inFlight).toBe(1);
    expect(pipeline.inFlightBytes).toBe(64 * KiB);
    expect(pipeline.consecutiveTimeouts).toBe(0);
    expect(pipeline.window).toBe(INITIAL_WINDOW);
  });
});
