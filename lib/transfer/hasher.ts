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
  /** SHA-256 of one buffer (a chunk, or a 65-byte Merkle parent). Resolves to HASH_BYTES bytes. */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** A streaming hash for data too large to hold at once (the whole-file id). */
  createStream(): HashStream;
}

/** Bytes in a SHA-256 hash, i.e. in one Merkle node and in one entry of a packed leaf list. */
export const HASH_BYTES = 32;

const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** True for a lower-case 64-digit hex string, the only form a SHA-256 id takes on the wire. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX_PATTERN.test(value);
}
