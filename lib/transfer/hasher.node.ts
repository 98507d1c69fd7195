/** node:crypto SHA-256: native and synchronous under the hood, the fastest option on Node. */
import * as crypto from 'node:crypto';
import type { Hasher, HashStream } from './hasher.ts';

/** `crypto.hash` (Node >= 20.12) skips the Hash object and is ~15 % faster on 64 KiB pieces. */
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Synchronous SHA-256 for Node-only callers that want to skip the promise (file hashing). */
export function sha256Node(data: Uint8Array): Uint8Array {
  if (oneShotHash !== undefined) return toBytes(oneShotHash('sha256', data, 'buffer'));
  return toBytes(crypto.createHash('sha256').update(data).digest());
}

export const nodeHasher: Hasher = {
  sha256: (data) => Promise.resolve(sha256Node(data)),
  createStream(): HashStream {
    const hash = crypto.createHash('sha256');
    return {
      update: (data) => void hash.update(data),
      digest: () => Promise.resolve(toBytes(hash.digest())),
    };
  },
};
