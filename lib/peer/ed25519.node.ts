import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import type { Ed25519Crypto } from './ed25519.ts';
import { ED25519_SPKI_PREFIX } from './identity.ts';

/**
 * Ed25519 and SHA-256 through node:crypto's synchronous calls, on the main thread (~0.05 ms to sign,
 * ~0.1 ms to verify here) instead of WebCrypto's jobs on libuv's thread pool, where they queue behind
 * a transfer's file writes and fdatasync (see ed25519.ts). Installed by the node at start-up.
 */

/** KeyObjects of our own private keys (one or two per process), made once per WebCrypto key. */
const privateKeys = new WeakMap<CryptoKey, KeyObject>();
/** Public keys seen lately (authors of texts, peers linking), so each is parsed once. */
const publicKeys = new Map<string, KeyObject>();
const MAX_PUBLIC_KEYS = 1024;

function privateKeyObject(key: CryptoKey): KeyObject {
  let object = privateKeys.get(key);
  if (!object) {
    object = KeyObject.from(key as webcrypto.CryptoKey);
    privateKeys.set(key, object);
  }
  return object;
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  let object = publicKeys.get(id);
  if (!object) {
    object = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    // Oldest first out: a Map iterates in insertion order.
    if (publicKeys.size >= MAX_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, object);
  }
  return object;
}

export const nodeEd25519Crypto: Ed25519Crypto = {
  async sign(privateKey, data) {
    return new Uint8Array(sign(null, data, privateKeyObject(privateKey)));
  },
  async verify(publicKeyRaw, signature, data) {
    return verify(null, data, publicKeyObject(publicKeyRaw), signature);
  },
  async sha256(data) {
    return new Uint8Array(createHash('sha256').update(data).digest());
  },
};
