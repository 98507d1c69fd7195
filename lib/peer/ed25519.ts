/**
 * The Ed25519 and SHA-256 operations behind identities and signed texts, behind one interface so the
 * platform is passed in rather than sniffed. The default is WebCrypto (the same in Node 20 and
 * Chromium, so tabs and tests need nothing). A Node process installs node:crypto's synchronous
 * calls at start-up (`useEd25519Crypto(nodeEd25519Crypto)`, ed25519.node.ts): Node runs WebCrypto's
 * sign, verify and digest as jobs on libuv's thread pool, where a running transfer keeps 4 threads
 * busy with chunk writes and fdatasync; a chat text waited there up to ~100 ms for its signature and
 * again for each check at the receiver (`npm run bench -- --only chat-under-load`), for work that
 * takes ~0.1 ms on the main thread.
 */
export interface Ed25519Crypto {
  /** Signs `data` with an identity's private key (a WebCrypto Ed25519 key, extractable or not). */
  sign(privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array>;
  /** Whether `signature` is `publicKeyRaw`'s over `data`; may throw on a malformed key. */
  verify(publicKeyRaw: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  /** SHA-256 of a small buffer (a public key, for its peer id). */
  sha256(data: Uint8Array): Promise<Uint8Array>;
}

const ED25519 = { name: 'Ed25519' } as const;

export const webCryptoEd25519: Ed25519Crypto = {
  async sign(privateKey, data) {
    return new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, asBufferSource(data)));
  },
  async verify(publicKeyRaw, signature, data) {
    const key = await crypto.subtle.importKey('raw', asBufferSource(publicKeyRaw), ED25519, false, ['verify']);
    return crypto.subtle.verify(ED25519, key, asBufferSource(signature), asBufferSource(data));
  },
  async sha256(data) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', asBufferSource(data)));
  },
};

let current: Ed25519Crypto = webCryptoEd25519;

/** The implementation in use (WebCrypto unless the process installed another). */
export function ed25519Crypto(): Ed25519Crypto {
  return current;
}

/** Installs the process's implementation; call once at start-up, before any peer runs. */
export function useEd25519Crypto(implementation: Ed25519Crypto): void {
  current = implementation;
}

/**
 * WebCrypto's types want bytes backed by a plain ArrayBuffer. Ours nearly always are; copy in the
 * rare case they are not (e.g. a view on a SharedArrayBuffer) rather than cast and hope.
 */
export function asBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
