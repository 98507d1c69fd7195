/**
 * The SHA-256 provider the transfer engine is given, so the platform is passed in rather than
 * sniffed: Node injects node:crypto (hasher.node.ts), the browser WebCrypto plus a pure-TS stream
 * (hasher.browser.ts). Everything here is isomorphic.
 */

/** An incremental SHA-256: `update` any number of times, then `digest` once. */
export interface HashStream {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

export interface Hasher {
  /** SHA-256 of one buffer (a chunk, or a 65-byte Merkle parent). Resolves to 32 bytes. */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** A streaming hash for data too large to hold at once (the whole-file id). */
  createStream(): HashStream;
}

const HEX_DIGITS = '0123456789abcdef';
const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** Lower-case hex, the form the standard protocol uses for file ids. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!;
  return out;
}

/** Parses hex (either case); throws a RangeError on odd length or a non-hex digit. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** True for a lower-case 64-digit hex string, the only form a SHA-256 id takes on the wire. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX_PATTERN.test(value);
}

/** Byte-wise equality. Not constant-time: the hashes compared here are public, so timing leaks nothing. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
