import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBrowserHasher } from '../../lib/transfer/hasher.browser.ts';
import { nodeHasher } from '../../lib/transfer/hasher.node.ts';
import { Sha256, sha256Sync } from '../../lib/transfer/sha256-incremental.ts';
import { makeWasmCompressor } from '../../lib/transfer/sha256-wasm.ts';
import { bytesToHex } from '../../lib/util/base64.ts';

const ascii = (text: string) => new TextEncoder().encode(text);
const nodeSha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('Sha256 (pure TS)', () => {
  it('matches the FIPS 180-2 / NIST example vectors', () => {
    expect(bytesToHex(sha256Sync(ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(bytesToHex(sha256Sync(ascii('')))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(bytesToHex(sha256Sync(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    const million = new Sha256();
    for (let i = 0; i < 1000; i++) million.update(ascii('a'.repeat(1000)));
    expect(bytesToHex(million.digest())).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('handles every length around the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
      expect(bytesToHex(sha256Sync(data)), `length ${length}`).toBe(nodeSha(data));
    }
  });

  it('equals node:crypto on random inputs fed in random pieces', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 8 }),
        (data, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          const hash = new Sha256();
          let from = 0;
          for (const point of [...points, data.length]) {
            hash.update(data.subarray(from, point));
            from = point;
          }
          expect(bytesToHex(hash.digest())).toBe(nodeSha(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equals node:crypto on large inputs, through the WebAssembly rounds and across their 64 KiB memory', () => {
    expect(makeWasmCompressor()).not.toBeNull(); // Node compiles the module, so long runs take that path
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.nat({ max: 300_000 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 7 }),
        (length, cuts, misalign) => {
          // An odd byteOffset: the bytes are copied into the module's memory, never read in place.
          const data = randomBytes(length + misalign).subarray(misalign);
          const points = [...new Set(cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b);
          const hash = new Sha256();
          let from = 0;
          for (const point of [...points, length]) {
            hash.update(data.subarray(from, point));
            from = point;
          }
          expect(bytesToHex(hash.digest())).toBe(nodeSha(data));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses to be used after digest', () => {
    const hash = new Sha256().update(ascii('x'));
    hash.digest();
    expect(() => hash.digest()).toThrow();
    expect(() => hash.update(ascii('y'))).toThrow();
  });
});

describe('hashers', () => {
  const data = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  for (const [name, hasher] of [
    ['node', nodeHasher],
    ['browser (WebCrypto + pure TS)', createBrowserHasher(globalThis.crypto.subtle)],
  ] as const) {
    it(`${name}: one-shot and streaming agree with node:crypto`, async () => {
      expect(bytesToHex(await hasher.sha256(data))).toBe(nodeSha(data));
      expect(bytesToHex(await hasher.sha256(data.subarray(0, 65)))).toBe(nodeSha(data.subarray(0, 65)));
      const stream = hasher.createStream();
      stream.update(data.subarray(0, 12_345));
      stream.update(data.subarray(12_345));
      expect(bytesToHex(await stream.digest())).toBe(nodeSha(data));
    });
  }
});
