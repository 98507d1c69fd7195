import { z } from 'zod';
import { MAX_TEXT_CHARS } from '../constants.ts';

/**
 * The one list of every message on the wire, with its validation. Grammar of each message is written
 * beside its schema and in docs/PROTOCOL.md. Standard messages follow STANDARD-PROTOCOL.md; types marked
 * "swarm" are sent only to peers that advertised the swarm extension in their handshake (the reference
 * peer silently drops types it does not know, so they must never reach it).
 *
 * Validation rules: unknown fields are ignored (kept in the raw payload, stripped from the typed view);
 * unknown types are ignored by the dispatcher; bad content of a known type is reported with a reason.
 */

const peerId = z.string().min(1).max(256);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (SHA-256)');
const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Envelope (standard): every frame is one JSON object with these fields. */
export const envelopeSchema = z.looseObject({
  version: z.string().max(16),
  type: z.string().min(1).max(64),
  sender_id: peerId,
  message_id: z.string().min(1).max(128),
  timestamp: z.number().finite(),
  recipient_id: peerId.nullable().optional(),
  content: z.unknown().optional(),
});

/**
 * swarm: what a swarm-capable peer adds to the standard handshake `content`. The reference peer ignores
 * unknown content fields, so this rides along safely.
 *   swarm: { version, kind, name, key, nonce, proof? }
 * - key: base64 raw Ed25519 public key; the sender's peer id must be derived from it.
 * - nonce: base64 random challenge the other side signs in its proof.
 * - proof (response only): signature over the dialler's nonce (see identity-proof.ts).
 */
export const swarmHelloSchema = z.looseObject({
  version: z.number().int().positive(),
  kind: z.enum(['node', 'browser']),
  name: z.string().max(64).nullable().optional(),
  key: z.string().max(128),
  nonce: z.string().max(128),
  proof: z.string().max(256).optional(),
});

/** handshake (standard): {address, port, public_key, handshake_response} (+ swarm). */
export const handshakeContent = z.looseObject({
  address: z.string().max(255),
  port: z.number().int().min(0).max(65535),
  public_key: z.string().max(16_384).nullable(),
  handshake_response: z.boolean(),
  swarm: swarmHelloSchema.optional(),
});

/** text (standard): {text}, at most 10,000 characters. */
/**
 * swarm: the author's Ed25519 signature over a text (lib/peer/message-signature.ts says what is signed):
 * `key` the author's raw public key, `value` the signature, both base64. Its hash must give sender_id.
 */
export const messageSignatureSchema = z.looseObject({
  key: z.string().min(1).max(64),
  value: z.string().min(1).max(128),
});

/** text (standard): {text}; a swarm author adds `signature` (ignored by the reference peer). */
export const textContent = z.looseObject({
  text: z.string().max(MAX_TEXT_CHARS, `text is longer than ${MAX_TEXT_CHARS} characters`),
  signature: messageSignatureSchema.optional(),
});

/** ack (standard type; content is ours since the reference never sends it): {message_id} delivered. */
export const ackContent = z.looseObject({ message_id: z.string().min(1).max(128) });

/** error (standard type; content is ours): {code, message, ref_message_id?}. */
export const errorContent = z.looseObject({
  code: z.string().max(64),
  message: z.string().max(1024),
  ref_message_id: z.string().max(128).nullable().optional(),
});

/**
 * swarm: the content root beside a manifest. `root` is the Merkle root over the SHA-256 of each
 * `chunk_size` piece (lib/transfer/merkle.ts defines the tree); `hash_count` the number of pieces.
 */
export const swarmContentSchema = z.looseObject({
  root: sha256Hex,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024),
  hash_count: z.number().int().positive(),
});

/** file_manifest (standard) plus, for swarm peers, `swarm_content` (ignored by the reference). */
export const fileManifestContent = z.looseObject({
  file_id: sha256Hex,
  file_name: z.string().min(1).max(4096),
  file_size: nonNegativeInt,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024),
  chunk_count: z.number().int().positive(),
  checksum: sha256Hex,
  owner: peerId,
  swarm_content: swarmContentSchema.optional(),
  /** swarm: the sender is still downloading; its chunks follow as `have` messages. */
  partial: z.boolean().optional(),
  /** swarm: the sender offers a file it fetches from standard peers on demand (lib/transfer/bridge.ts). */
  bridged: z.boolean().optional(),
});

/**
 * file_chunk_request (standard): {file_id, chunk_index}. Swarm peers add `chunk_size` (the size the
 * index counts in); without it the size of the manifest we sent that peer applies.
 */
export const fileChunkRequestContent = z.looseObject({
  file_id: sha256Hex,
  chunk_index: nonNegativeInt,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024).optional(),
});

/** file_chunk (standard): {file_id, chunk_index, data: standard base64}; data at most 2 MiB of base64. */
export const fileChunkContent = z.looseObject({
  file_id: sha256Hex,
  chunk_index: nonNegativeInt,
  data: z.string().max(2 * 1024 * 1024, 'chunk data is over 2 MiB of base64'),
});

/** file_complete (standard, never sent by the reference): {file_id}. */
export const fileCompleteContent = z.looseObject({ file_id: sha256Hex });

/** file_availability (standard): {file_id, peers: [peer id]}. */
export const fileAvailabilityContent = z.looseObject({
  file_id: sha256Hex,
  peers: z.array(peerId).max(1000),
});

/** swarm_auth (swarm): a proof of identity answering the other side's nonce (the dialler's; on TCP both sides', inside TLS). {proof} */
export const swarmAuthContent = z.looseObject({ proof: z.string().max(256) });

/** hashes_request (swarm): {file_id, start, count} asks for piece hashes [start, start+count) with a proof. */
export const hashesRequestContent = z.looseObject({
  file_id: sha256Hex,
  start: nonNegativeInt,
  count: z.number().int().positive().max(65_536),
});

/**
 * hashes (swarm): {file_id, start, hashes, proof}: `hashes` is base64 of the packed 32-byte piece
 * hashes from `start`; `proof` base64 of the packed sibling hashes that lead them to the root.
 */
export const hashesContent = z.looseObject({
  file_id: sha256Hex,
  start: nonNegativeInt,
  hashes: z.string().max(4 * 1024 * 1024),
  proof: z.string().max(64 * 1024),
});

/**
 * have (swarm): {file_id, chunk_size, indexes?, bitfield?}: the sender holds these verified chunks
 * (counted in chunk_size). `bitfield` (base64, bit i = chunk i, most significant bit first) gives
 * the whole picture; `indexes` adds to it.
 */
export const haveContent = z.looseObject({
  file_id: sha256Hex,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024),
  indexes: z.array(nonNegativeInt).max(4096).optional(),
  bitfield: z.string().max(4 * 1024 * 1024).optional(),
});

/** chunk_unavailable (swarm): {file_id, chunk_index, chunk_size}: the sender will not serve this request. */
export const chunkUnavailableContent = z.looseObject({
  file_id: sha256Hex,
  chunk_index: nonNegativeInt,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024),
  reason: z.string().max(200).optional(),
});

/** cancel (swarm): {file_id, chunk_index, chunk_size}: a request the sender no longer needs. */
export const cancelContent = z.looseObject({
  file_id: sha256Hex,
  chunk_index: nonNegativeInt,
  chunk_size: z.number().int().positive().max(16 * 1024 * 1024),
});

/**
 * signal_relay (swarm): {from, to, data}: a WebRTC signalling message (data as on /signal) handed to a
 * peer both ends are linked to, which passes it one hop on to `to`. `from` must be the sender itself.
 */
export const signalRelayContent = z.looseObject({
  from: peerId,
  to: peerId,
  data: z.record(z.string(), z.unknown()),
});

/**
 * peers (swarm): {peers: [{peer_id, kind, name?, tcp?, host?, port?}]}: peer exchange, the swarm peers
 * the sender is linked to, sent when a link opens and when that set changes; `tcp` says the peer
 * listens on TCP, at `host`:`port` as far as the sender knows. A receiver may link to them through the
 * sender (WebRTC), or dial that address (TCP).
 */
export const peersContent = z.looseObject({
  peers: z
    .array(
      z.looseObject({
        peer_id: peerId,
        kind: z.enum(['node', 'browser']),
        name: z.string().max(64).nullable().optional(),
        tcp: z.boolean().optional(),
        host: z.string().min(1).max(255).optional(),
        port: z.number().int().min(1).max(65_535).optional(),
      }),
    )
    .max(200),
});

/**
 * reachable (swarm): {peers: [{peer_id, kind, name?}]}: the peers the sender is linked to, of every
 * kind; the receiver reaches through the sender those it is not linked to itself (standard socket
 * peers always: they take TCP only and have no discovery). Sent when a link opens and whenever that
 * set changes; the latest list replaces the previous one.
 */
export const reachableContent = z.looseObject({
  peers: z
    .array(
      z.looseObject({
        peer_id: peerId,
        kind: z.enum(['node', 'browser', 'standard']),
        name: z.string().max(64).nullable().optional(),
      }),
    )
    .max(1000),
});

const noContent = z.unknown();

/** The dispatch table's key set: every type we understand, its content schema, and who may receive it. */
export const MESSAGE_TYPES = {
  handshake: { content: handshakeContent, swarmOnly: false },
  text: { content: textContent, swarmOnly: false },
  ack: { content: ackContent, swarmOnly: false },
  ping: { content: noContent, swarmOnly: false },
  pong: { content: noContent, swarmOnly: false },
  error: { content: errorContent, swarmOnly: false },
  file_manifest: { content: fileManifestContent, swarmOnly: false },
  file_chunk_request: { content: fileChunkRequestContent, swarmOnly: false },
  file_chunk: { content: fileChunkContent, swarmOnly: false },
  file_complete: { content: fileCompleteContent, swarmOnly: false },
  file_availability: { content: fileAvailabilityContent, swarmOnly: false },
  swarm_auth: { content: swarmAuthContent, swarmOnly: true },
  hashes_request: { content: hashesRequestContent, swarmOnly: true },
  hashes: { content: hashesContent, swarmOnly: true },
  have: { content: haveContent, swarmOnly: true },
  chunk_unavailable: { content: chunkUnavailableContent, swarmOnly: true },
  cancel: { content: cancelContent, swarmOnly: true },
  signal_relay: { content: signalRelayContent, swarmOnly: true },
  peers: { content: peersContent, swarmOnly: true },
  reachable: { content: reachableContent, swarmOnly: true },
} as const;

export type MessageType = keyof typeof MESSAGE_TYPES;

/**
 * Types a swarm neighbour may pass on in another peer's name (lib/peer/message-relay.ts): on a swarm
 * link their sender_id may differ from the link's peer. Texts of swarm authors carry the author's
 * signature; others are marked unverified. A standard peer never relays, so it gets no such leeway.
 */
export const RELAYED_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['text', 'ack']);
export type ContentOf<T extends MessageType> = z.infer<(typeof MESSAGE_TYPES)[T]['content']>;
export type RawEnvelope = z.infer<typeof envelopeSchema>;

/** A decoded, validated message: the envelope with typed content, plus the raw object as received. */
export type Message<T extends MessageType = MessageType> = {
  [K in T]: {
    type: K;
    version: string;
    sender_id: string;
    message_id: string;
    timestamp: number;
    recipient_id: string | null;
    content: ContentOf<K>;
    raw: RawEnvelope;
  };
}[T];

export type SwarmHello = z.infer<typeof swarmHelloSchema>;
export type HandshakeContent = ContentOf<'handshake'>;

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(MESSAGE_TYPES, type);
}
