import { peerIdFromPublicKey, verifySignature } from './identity.ts';
import type { Identity } from './identity.ts';
import { isSwarmPeerId } from './identity.ts';
import { base64ToBytes, bytesToBase64 } from '../util/base64.ts';

/**
 * Author signatures on texts, so a message relayed through other peers cannot be forged or altered
 * by a relay. A swarm author signs every text it writes; the signature rides in `content.signature`
 * (`{key, value}`, base64), which the reference peer ignores. `key` is the author's raw Ed25519
 * public key: its hash must give `sender_id` (identity.ts), so any receiver can check the signature
 * without having met the author.
 *
 * Signed bytes: the UTF-8 of `swarmdrop-message/1\n` followed by the canonical JSON (object keys
 * sorted, no spaces) of `[type, sender_id, message_id, timestamp, recipient_id or null, content
 * without its signature]`. Canonical, so a relay that re-serialises the envelope keeps it valid.
 */
const SIGNATURE_CONTEXT = 'swarmdrop-message/1\n';

/**
 * How a received text's author is vouched for:
 * - 'signed': its signature verified against the key that its sender_id names;
 * - 'link': it came straight from its author over the authenticated link (no relay in between);
 * - 'unverified': it was relayed without a signature (an author that cannot sign, such as a
 *   standard socket peer), so only the relay vouches for it.
 */
export type Authenticity = 'signed' | 'link' | 'unverified';

/** A result of checking: the authenticity, or why the text must be dropped. */
export type SignatureCheck = { ok: true; authenticity: Authenticity } | { ok: false; reason: string };

interface SignableEnvelope {
  type: string;
  sender_id: string;
  message_id: string;
  timestamp: number;
  recipient_id?: string | null;
  content?: unknown;
}

/** JSON with object keys sorted at every level: one spelling for one value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function signedBytes(envelope: SignableEnvelope): Uint8Array {
  const { signature: _signature, ...content } = (envelope.content ?? {}) as Record<string, unknown>;
  const fields = [
    envelope.type,
    envelope.sender_id,
    envelope.message_id,
    envelope.timestamp,
    envelope.recipient_id ?? null,
    content,
  ];
  return new TextEncoder().encode(SIGNATURE_CONTEXT + canonicalJson(fields));
}

/** Adds the author's signature to `content` of an envelope this peer wrote. */
export async function signEnvelope<E extends SignableEnvelope & { content?: Record<string, unknown> }>(
  envelope: E,
  identity: Identity,
): Promise<E> {
  const value = await identity.sign(signedBytes(envelope));
  const signature = { key: bytesToBase64(identity.publicKeyRaw), value: bytesToBase64(value) };
  return { ...envelope, content: { ...envelope.content, signature } };
}

/**
 * Checks a received text. `fromAuthor` says it arrived on the author's own link. A signature that
 * does not verify, or whose key is not the sender's, is a forgery (or an alteration) and is refused;
 * a missing one is only tolerated as 'link' or 'unverified'.
 */
export async function checkEnvelopeSignature(
  envelope: SignableEnvelope,
  fromAuthor: boolean,
): Promise<SignatureCheck> {
  const signature = (envelope.content as { signature?: { key?: unknown; value?: unknown } } | undefined)
    ?.signature;
  if (signature === undefined) {
    if (fromAuthor) return { ok: true, authenticity: 'link' };
    return { ok: true, authenticity: 'unverified' };
  }
  const key = typeof signature.key === 'string' ? base64ToBytes(signature.key) : null;
  const value = typeof signature.value === 'string' ? base64ToBytes(signature.value) : null;
  if (!key || !value) return { ok: false, reason: 'the signature is not base64' };
  if (!isSwarmPeerId(envelope.sender_id))
    return { ok: false, reason: 'a signature from a sender that is not a swarm peer id' };
  let keyId: string;
  try {
    keyId = await peerIdFromPublicKey(key);
  } catch {
    return { ok: false, reason: 'the signature key is not an Ed25519 public key' };
  }
  if (keyId !== envelope.sender_id) return { ok: false, reason: "the signature key is not the sender's" };
  if (!(await verifySignature(key, value, signedBytes(envelope)))) {
    return { ok: false, reason: 'the signature does not match the message (forged or altered)' };
  }
  return { ok: true, authenticity: 'signed' };
}
