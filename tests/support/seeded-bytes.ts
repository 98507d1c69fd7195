/**
 * Deterministic pseudo-random bytes (xorshift32), made the same in Node and in a page: a test asks a
 * page to make a file instead of passing megabytes through page.evaluate, and knows its bytes.
 */
export function seededBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
