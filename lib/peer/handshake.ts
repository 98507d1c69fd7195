import { FRAME_HEADER_BYTES, SWARM_EXTENSION_VERSION } from './constants.ts';
import { isSwarmPeerId, peerIdFromPublicKey, verifySignature } from './identity.ts';
import type { Identity } from './identity.ts';
import { encodeFrame } from './wire/frame-reader.ts';
import type { HandshakeContent, Message, SwarmHello } from './wire/schema.ts';
import type { RemoteInfo } from './connection-types.ts';
import { base64ToBytes, bytesToBase64 } from '../util/base64.ts';

/**
 * The handshake: the standard one of STANDARD-PROTOCOL.md, with the swarm extension riding in
 * `content.swarm`. Identity proof for swarm peers (both sides prove they hold the key their id is
 * derived from, bound to this very exchange by fresh nonces):
 *
 *   dialler  → acceptor: handshake { ..., swarm: { version, kind, name, key, nonce: Nd } }
 *   acceptor → dialler : handshake { ..., handshake_response: true,
 *                                    swarm: { ..., nonce: Na, proof: sign_A(transcript("acceptor", Nd, A, D)) } }
 *   dialler  → acceptor: swarm_auth { proof: sign_D(transcript("dialler", Na, D, A)) }
 *
 * The role string stops a proof from one direction being replayed in the other; the nonce stops
 * replay across connections; the two ids bind it to this pair. Transports that have channel
 * bindings (DTLS fingerprints on WebRTC) append them through `binding`.
 *
 * On TCP between two swarm peers the acceptor's response carries no proof: both sides start TLS 1.3
 * right after the two plain handshake frames and send their proofs as `swarm_auth` inside it, bound to
 * `tlsLinkBinding` (the TLS exporter and both plain frames). See docs/PROTOCOL.md.
 */

export type PeerKind = 'node' | 'browser';
export type ProofRole = 'acceptor' | 'dialler';

const NONCE_BYTES = 32;
const encoder = new TextEncoder();

export function newNonce(): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

export function proofTranscript(
  role: ProofRole,
  nonce: string,
  signerId: string,
  otherId: string,
  binding = '',
): Uint8Array {
  return encoder.encode(`swarmdrop-handshake/1\n${role}\n${nonce}\n${signerId}\n${otherId}\n${binding}`);
}

export async function signProof(
  identity: Identity,
  role: ProofRole,
  nonce: string,
  otherId: string,
  binding = '',
): Promise<string> {
  return bytesToBase64(await identity.sign(proofTranscript(role, nonce, identity.peerId, otherId, binding)));
}

/**
 * The binding of the proofs on a TLS link: the channel's tls-exporter value (different on each leg of
 * a man in the middle) and a digest of both plain handshake frames (so nobody edits them unseen).
 */
export async function tlsLinkBinding(
  exporterBinding: string,
  hello: Uint8Array,
  response: Uint8Array,
): Promise<string> {
  const framedHello = encodeFrame(hello);
  const transcript = new Uint8Array(framedHello.length + FRAME_HEADER_BYTES + response.length);
  transcript.set(framedHello);
  transcript.set(encodeFrame(response), framedHello.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', transcript));
  return `${exporterBinding}\nhandshake-sha256:${bytesToBase64(digest)}`;
}

/** What a handshake says about the remote; `verified` once it proved its key. */
export function remoteFromHandshake(message: Message<'handshake'>, verified: boolean): RemoteInfo {
  const { content } = message;
  const swarm = content.swarm;
  return {
    peerId: message.sender_id,
    kind: swarm ? swarm.kind : 'standard',
    name: swarm?.name ?? null,
    address: content.address || null,
    port: content.port || null,
    publicKey: content.public_key,
    swarmVersion: swarm ? Math.min(swarm.version, SWARM_EXTENSION_VERSION) : null,
    verified,
  };
}

/** Checks that `senderId` is the id derived from the advertised key. Returns the raw key or a reason. */
export async function checkClaimedIdentity(
  senderId: string,
  swarm: SwarmHello,
): Promise<{ ok: true; key: Uint8Array } | { ok: false; reason: string }> {
  const key = base64ToBytes(swarm.key);
  if (!key || key.length !== 32) return { ok: false, reason: 'swarm key is not a base64 Ed25519 public key' };
  const derived = await peerIdFromPublicKey(key);
  if (derived !== senderId) return { ok: false, reason: `peer id ${senderId} is not derived from its key` };
  return { ok: true, key };
}

export async function verifyProof(
  key: Uint8Array,
  proof: string | undefined,
  role: ProofRole,
  nonce: string,
  signerId: string,
  otherId: string,
  binding = '',
): Promise<boolean> {
  const signature = proof === undefined ? null : base64ToBytes(proof);
  if (!signature) return false;
  return verifySignature(key, signature, proofTranscript(role, nonce, signerId, otherId, binding));
}

/** An id that claims to be a swarm id must come with a swarm hello; a standard peer cannot borrow one. */
export function requiresSwarmProof(senderId: string): boolean {
  return isSwarmPeerId(senderId);
}

export function buildHandshakeContent(options: {
  identity: Identity;
  address: string;
  port: number;
  kind: PeerKind;
  name: string | null;
  nonce: string;
  response: boolean;
  proof?: string;
}): HandshakeContent {
  const swarm: SwarmHello = {
    version: SWARM_EXTENSION_VERSION,
    kind: options.kind,
    name: options.name,
    key: bytesToBase64(options.identity.publicKeyRaw),
    nonce: options.nonce,
  };
  if (options.proof !== undefined) swarm.proof = options.proof;
  return {
    address: options.address,
    port: options.port,
    public_key: options.identity.publicKeyPem(),
    handshake_response: options.response,
    swarm,
  };
}
