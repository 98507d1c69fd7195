/**
 * A peer's identity: an Ed25519 key pair (WebCrypto, the same in Node 20 and Chromium). The peer id
 * is derived from the public key, so a peer proves its id by signing with the matching private key
 * and nobody can claim an id without holding that key.
 *
 * Peer id = "sd-" + lowercase hex of the first 20 bytes of SHA-256(raw 32-byte public key).
 * The prefix makes swarm ids recognisable next to the standard peers' uuid-style ids.
 */
import { base64ToBytes, bytesToBase64, bytesToHex } from '../util/base64.ts';
import { SwarmError } from './errors.ts';
import { bytesEqual } from '../util/bytes.ts';
import { asBufferSource, ed25519Crypto } from './ed25519.ts';

export const SWARM_PEER_ID_PREFIX = 'sd-';
/** 20 bytes (160 bits) of SHA-256 is far beyond any collision anyone could search for, and short enough to read. */
export const PEER_ID_HASH_BYTES = 20;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** The version of the IdentityJSON layout, so a later format can be told apart from this one. */
const IDENTITY_JSON_VERSION = 1;

/**
 * DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 },
 * BIT STRING (32 bytes) }. Fixed for every Ed25519 key, so SPKI = prefix + raw key.
 */
export const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);
const PEM_HEADER = '-----BEGIN PUBLIC KEY-----';
const PEM_FOOTER = '-----END PUBLIC KEY-----';
/** RFC 7468 lines of 64 base64 characters, as OpenSSL and Python's `cryptography` write them. */
const PEM_LINE_CHARS = 64;

const SWARM_PEER_ID_PATTERN = new RegExp(`^${SWARM_PEER_ID_PREFIX}[0-9a-f]{${PEER_ID_HASH_BYTES * 2}}$`);
const ED25519 = { name: 'Ed25519' } as const;

/** What is persisted: keys as base64 (private: PKCS#8 DER; public: the raw 32 bytes). */
export interface IdentityJSON {
  version: number;
  peerId: string;
  publicKey: string;
  privateKey: string;
}

export class Identity {
  readonly peerId: string;
  readonly publicKeyRaw: Uint8Array;
  readonly #privateKey: CryptoKey;

  private constructor(peerId: string, publicKeyRaw: Uint8Array, privateKey: CryptoKey) {
    this.peerId = peerId;
    this.publicKeyRaw = publicKeyRaw;
    this.#privateKey = privateKey;
  }

  static async generate(): Promise<Identity> {
    const pair = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKeyRaw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return new Identity(await peerIdFromPublicKey(publicKeyRaw), publicKeyRaw, pair.privateKey);
  }

  /**
   * Rebuilds an identity from `toJSON()` output. Throws a SwarmError if the data is malformed
   * (BAD_CONTENT) or if the public key or peer id do not belong to the private key
   * (IDENTITY_MISMATCH): a damaged identity must be noticed, never used.
   */
  static async fromJSON(json: IdentityJSON): Promise<Identity> {
    if (typeof json !== 'object' || json === null) throw invalid('identity is not an object');
    if (json.version !== IDENTITY_JSON_VERSION) {
      throw invalid(`unsupported identity version ${String(json.version)}`);
    }
    const pkcs8 = typeof json.privateKey === 'string' ? base64ToBytes(json.privateKey) : null;
    if (!pkcs8) throw invalid('privateKey is not base64');
    const publicKeyRaw = typeof json.publicKey === 'string' ? base64ToBytes(json.publicKey) : null;
    if (publicKeyRaw?.length !== ED25519_PUBLIC_KEY_BYTES) {
      throw invalid(`publicKey is not ${ED25519_PUBLIC_KEY_BYTES} bytes of base64`);
    }

    let privateKey: CryptoKey;
    try {
      privateKey = await crypto.subtle.importKey('pkcs8', asBufferSource(pkcs8), ED25519, true, ['sign']);
    } catch (err) {
      throw invalid('privateKey is not an Ed25519 PKCS#8 key', err);
    }
    // WebCrypto cannot derive a public key from a private one, but the private key's JWK carries it.
    const jwk = await crypto.subtle.exportKey('jwk', privateKey);
    const derivedPublic = typeof jwk.x === 'string' ? base64UrlToBytes(jwk.x) : null;
    if (!derivedPublic || !bytesEqual(derivedPublic, publicKeyRaw)) {
      throw new SwarmError('IDENTITY_MISMATCH', 'identity publicKey does not belong to its privateKey');
    }
    const peerId = await peerIdFromPublicKey(publicKeyRaw);
    if (json.peerId !== peerId) {
      throw new SwarmError(
        'IDENTITY_MISMATCH',
        `identity peerId ${String(json.peerId)} is not derived from its key (${peerId})`,
      );
    }
    return new Identity(peerId, publicKeyRaw, privateKey);
  }

  /**
   * Async because WebCrypto exports keys asynchronously. Note that `JSON.stringify(identity)` would
   * therefore serialise a Promise: always `await identity.toJSON()` first.
   */
  async toJSON(): Promise<IdentityJSON> {
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', this.#privateKey));
    return {
      version: IDENTITY_JSON_VERSION,
      peerId: this.peerId,
      publicKey: bytesToBase64(this.publicKeyRaw),
      privateKey: bytesToBase64(pkcs8),
    };
  }

  /** SPKI PEM, the form the standard handshake's `public_key` field carries. */
  publicKeyPem(): string {
    return publicKeyRawToPem(this.publicKeyRaw);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return ed25519Crypto().sign(this.#privateKey, data);
  }
}

export async function peerIdFromPublicKey(raw: Uint8Array): Promise<string> {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new SwarmError(
      'BAD_CONTENT',
      `an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${raw.length}`,
    );
  }
  const digest = await ed25519Crypto().sha256(raw);
  return SWARM_PEER_ID_PREFIX + bytesToHex(digest.subarray(0, PEER_ID_HASH_BYTES));
}

/** True only for a valid signature; false (never a throw) for malformed keys or signatures. */
export async function verifySignature(
  publicKeyRaw: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  if (!(publicKeyRaw instanceof Uint8Array) || publicKeyRaw.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  if (!(data instanceof Uint8Array)) return false;
  try {
    return await ed25519Crypto().verify(publicKeyRaw, signature, data);
  } catch {
    return false;
  }
}

export function publicKeyRawToPem(raw: Uint8Array): string {
  const spki = new Uint8Array(ED25519_SPKI_PREFIX.length + raw.length);
  spki.set(ED25519_SPKI_PREFIX);
  spki.set(raw, ED25519_SPKI_PREFIX.length);
  const body = bytesToBase64(spki);
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += PEM_LINE_CHARS) lines.push(body.slice(i, i + PEM_LINE_CHARS));
  return `${PEM_HEADER}\n${lines.join('\n')}\n${PEM_FOOTER}\n`;
}

/**
 * The raw 32-byte key from an Ed25519 SPKI PEM, or null for anything else (standard peers may
 * send RSA keys, or garbage: neither can prove a swarm id).
 */
export function publicKeyRawFromPem(pem: string): Uint8Array | null {
  if (typeof pem !== 'string') return null;
  const trimmed = pem.trim();
  if (!trimmed.startsWith(PEM_HEADER) || !trimmed.endsWith(PEM_FOOTER)) return null;
  const body = trimmed.slice(PEM_HEADER.length, trimmed.length - PEM_FOOTER.length).replace(/\s+/g, '');
  const der = base64ToBytes(body);
  if (der?.length !== ED25519_SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES) return null;
  if (!bytesEqual(der.subarray(0, ED25519_SPKI_PREFIX.length), ED25519_SPKI_PREFIX)) return null;
  return der.slice(ED25519_SPKI_PREFIX.length);
}

export function isSwarmPeerId(id: string): boolean {
  return typeof id === 'string' && SWARM_PEER_ID_PATTERN.test(id);
}

function invalid(message: string, cause?: unknown): SwarmError {
  return new SwarmError('BAD_CONTENT', `invalid identity: ${message}`, { cause });
}

/** JWK uses unpadded base64url (RFC 7515); map it onto the strict standard decoder. */
function base64UrlToBytes(text: string): Uint8Array | null {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64ToBytes(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}
