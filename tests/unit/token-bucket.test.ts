import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../lib/transfer/token-bucket.ts';
import type { Timers } from '../../lib/util/timers.ts';

/** Virtual time: `advance` runs due timers in order. */
function virtualTimers() {
  let now = 0;
  const due: { at: number; fn: () => void }[] = [];
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const entry = { at: now + ms, fn };
      due.push(entry);
      return entry;
    },
    clearTimeout: (h) => void due.splice(due.indexOf(h as never), 1),
    setInterval: () => {
      throw new Error('unused');
    },
    clearInterval: () => {},
  };
  // Lets the awaiting code run between timer callbacks.
  const settle = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  const advance = async (ms: number) => {
    const end = now + ms;
    await settle();
    for (;;) {
      due.sort((a, b) => a.at - b.at);
      const next = due[0];
      if (!next || next.at > end) break;
      due.shift();
      now = next.at;
      next.fn();
      await settle();
    }
    now = end;
  };
  return { timers, advance, now: () => now };
}

describe('TokenBucket', () => {
  it('is unlimited at rate 0', async () => {
    const bucket = new TokenBucket(0);
    expect(bucket.unlimited).toBe(true);
    expect(bucket.available()).toBe(Infinity);
    await bucket.take(1e12);
  });

  it('lets a burst through, then holds the average rate', async () => {
    const clock = virtualTimers();
    const rate = 1024 * 1024; // 1 MiB/s, burst 1 MiB
    const bucket = new TokenBucket(rate, { timers: clock.timers });
    let taken = 0;
    const pump = (async () => {
      for (let i = 0; i < 20; i++) {
        await bucket.take(256 * 1024);
        taken += 256 * 1024;
      }
    })();
    await clock.advance(0);
    expect(taken).toBe(1024 * 1024); // the burst
    await clock.advance(2_000);
    // One more MiB per second after the burst (within one 256 KiB step).
    expect(taken).toBeGreaterThanOrEqual(3 * 1024 * 1024 - 256 * 1024);
    expect(taken).toBeLessThanOrEqual(3 * 1024 * 1024 + 256 * 1024);
    await clock.advance(10_000);
    await pump;
    expect(taken).toBe(20 * 256 * 1024);
  });

  it('lets consume overdraw, and makes later takers repay the debt', () => {
    const clock = virtualTimers();
    const bucket = new TokenBucket(1000, { burst: 1000, timers: clock.timers });
    bucket.consume(3000);
    expect(bucket.available()).toBe(-2000);
    expect(bucket.delayFor(500)).toBe(2500);
  });
});
