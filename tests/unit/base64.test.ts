import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes } from '../../lib/util/base64.ts';

describe('base64', () => {
  it('encodes exactly as Node does and decodes back (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = bytesToBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(base64ToBytes(text)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts only canonical encodings: whatever decodes re-encodes to the same text (property)', () => {
    const base64ish = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHQRSTYZabgwxyz0189+/= \n-_'),
      maxLength: 16,
    });
    fc.assert(
      fc.property(base64ish, (text) => {
        const bytes = base64ToBytes(text);
        if (bytes !== null) expect(bytesToBase64(bytes)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns null on invalid input', () => {
    for (const bad of [
      'abc', // length not a multiple of 4
      'YQ', // missing padding
      'ab=c', // padding in the middle
      'a===', // too much padding
      '====',
      'YR==', // non-zero unused bits (non-canonical "a")
      'YWJ=', // non-zero unused bits
      'YW Jj', // whitespace
      'YWJj\n',
      'YW-_', // base64url characters
      'YWé=', // not ASCII
      'YW\u0100j', // char code above 255
    ]) {
      expect(base64ToBytes(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('handles the empty string and padding lengths', () => {
    expect(base64ToBytes('')).toEqual(new Uint8Array(0));
    expect(bytesToBase64(new Uint8Array(0))).toBe('');
    expect(base64ToBytes('YQ==')).toEqual(new TextEncoder().encode('a'));
    expect(base64ToBytes('YWI=')).toEqual(new TextEncoder().encode('ab'));
    expect(base64ToBytes('YWJj')).toEqual(new TextEncoder().encode('abc'));
  });

  it('round-trips 1 MiB', () => {
    const bytes = new Uint8Array(1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const text = bytesToBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString('base64'));
    // Buffer#equals: a deep toEqual over a million elements is needlessly slow.
    expect(Buffer.from(base64ToBytes(text)!).equals(bytes)).toBe(true);
  });
});

describe('hex', () => {
  it('round-trips and matches Node (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const hex = bytesToHex(bytes);
        expect(hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(hexToBytes(hex)).toEqual(bytes);
        expect(hexToBytes(hex.toUpperCase())).toEqual(bytes);
      }),
    );
  });

  it('returns null on invalid hex', () => {
    for (const bad of ['a', 'abc', 'zz', '0g', ' 0a', '0x00']) expect(hexToBytes(bad), bad).toBeNull();
    expect(hexToBytes('')).toEqual(new Uint8Array(0));
  });

  it('round-trips 1 MiB', () => {
    const bytes = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
    const hex = bytesToHex(bytes);
    expect(hex).toBe(Buffer.from(bytes).toString('hex'));
    expect(Buffer.from(hexToBytes(hex)!).equals(bytes)).toBe(true);
  });
});
