import { describe, it, expect } from 'vitest';
import { SeenIds } from '../../lib/peer/dedup.ts';
import { DEDUP_WINDOW_MS } from '../../lib/peer/constants.ts';

describe('SeenIds', () => {
  it('reports an id as new once, then as seen', () => {
    const seen = new SeenIds();
    expect(seen.checkAndAdd('a', 0)).toBe(true);
    expect(seen.checkAndAdd('a', 1)).toBe(false);
    expect(seen.checkAndAdd('b', 2)).toBe(true);
    expect(seen.has('a', 3)).toBe(true);
    expect(seen.has('zzz', 3)).toBe(false);
  });

  it('forgets ids after the window (DEDUP_WINDOW_MS by default), counted from first sight', () => {
    const seen = new SeenIds();
    const t0 = 1_000_000;
    seen.checkAndAdd('a', t0);
    expect(seen.checkAndAdd('a', t0 + DEDUP_WINDOW_MS - 1)).toBe(false); // a repeat does not extend the window
    expect(seen.checkAndAdd('a', t0 + DEDUP_WINDOW_MS)).toBe(true);
  });

  it('expires old ids so memory follows the recent rate', () => {
    const seen = new SeenIds({ windowMs: 1_000 });
    for (let i = 0; i < 500; i++) seen.checkAndAdd(`old-${i}`, i);
    expect(seen.size).toBe(500);
    seen.checkAndAdd('new', 5_000);
    expect(seen.size).toBe(1);
  });

  it('caps memory, evicting the oldest ids first', () => {
    const seen = new SeenIds({ windowMs: 1_000_000, maxIds: 100 });
    for (let i = 0; i < 250; i++) expect(seen.checkAndAdd(`id-${i}`, i)).toBe(true);
    expect(seen.size).toBe(100);
    expect(seen.checkAndAdd('id-249', 300)).toBe(false); // newest kept
    expect(seen.checkAndAdd('id-150', 300)).toBe(false);
    expect(seen.checkAndAdd('id-149', 300)).toBe(true); // oldest evicted
    expect(seen.size).toBe(100);
  });

  it('keeps (never drops early) ids when the injected clock steps backwards', () => {
    const seen = new SeenIds({ windowMs: 100 });
    seen.checkAndAdd('a', 1_000);
    expect(seen.checkAndAdd('a', 900)).toBe(false);
    expect(seen.checkAndAdd('b', 950)).toBe(true);
    expect(seen.checkAndAdd('a', 1_099)).toBe(false);
  });

  it('refuses a cap below one', () => {
    expect(() => new SeenIds({ maxIds: 0 })).toThrow(RangeError);
  });
});
