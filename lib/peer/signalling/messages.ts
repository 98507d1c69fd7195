import { z } from 'zod';
import { isSwarmPeerId } from '../identity.ts';
import { describeIssues } from '../wire/codec.ts';

/**
 * The signalling protocol spoken on `ws://<api-host>:<api-port>/signal`: every message is one JSON
 * object in one WebSocket text frame, told apart by `type`. One table below lists every message
 * each way, with its grammar; docs/SIGNALLING.md is the prose twin.
 *
 *   server → client  challenge {version, nonce, limits}
 *   client → server  join {peer_id, key, signature, kind, name}
 *   server → client  joined {peer_id, peers, next?}          or  error {...} and close
 *   client → server  list {cursor?, id?}                  →  peers {peers, next?, ref?}
 *   client → server  signal {to, data, from?, id?}        →  (to the target) signal {from, to, data}
 *   server → client  peer-joined {peer} / peer-left {peer_id}
 *   server → client  error {code, message, ref?}
 *
 * The `signal` payload `{type:'signal', from, to, data}` is the same one that later travels relayed
 * over existing peer connections, so a peer handles a signal the same way whichever path it came by.
 * Unknown fields are ignored everywhere, so either side can add fields without breaking the other.
 */

export const SIGNAL_PROTOCOL_VERSION = 1;
export const SIGNAL_PATH = '/signal';

/** The text a joining peer signs: binds the proof to this connection's nonce and to the id it claims. */
export const SIGNAL_JOIN_CONTEXT = 'swarmdrop-signal/1';

// ---- Limits (each with its unit and the reason for the number) -------------------------------------

/**
 * 64 KiB per message: an SDP offer is 2-10 KB, a full non-trickle offer with many candidates ~20 KB,
 * and a `peers` page of 100 entries stays under ~50 KB even with the worst names (64 control
 * characters, which JSON escapes to 6 bytes each).
 */
export const SIGNAL_MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * Messages up to 4x the limit are read and answered with `too_large`; anything bigger is refused by
 * the WebSocket layer from its frame header alone (close 1009), before the server buffers it.
 */
export const SIGNAL_HARD_MAX_FACTOR = 4;
/**
 * 50 messages/s sustained with bursts of 100: a peer dialling ~10 others at once sends an offer and
 * up to ~8 trickled ICE candidates to each, which fits in one burst; nothing honest needs more.
 */
export const SIGNAL_MESSAGES_PER_SECOND = 50;
export const SIGNAL_BURST_MESSAGES = 100;
/** 100 peers per `joined`/`peers` page keeps every page far below the message size limit. */
export const SIGNAL_PEERS_PER_PAGE = 100;
/**
 * A connection from which nothing (no message, no pong) arrived for 60 s is closed, as a peer link
 * is (docs/PROTOCOL.md). The server pings every third of this, so one lost pong never kills a
 * healthy client; browsers answer pings by themselves.
 */
export const SIGNAL_IDLE_TIMEOUT_MS = 60_000;
/** A connection must join within 10 s of opening, the same bound as a peer handshake. */
export const SIGNAL_JOIN_TIMEOUT_MS = 10_000;
/**
 * Signals for a peer that is not present are held up to 10 s (it may be a moment from joining: both
 * sides often learn of each other at once), at most 32 per sender (an offer and its candidates),
 * then answered with `unknown_peer`.
 */
export const SIGNAL_HOLD_MS = 10_000;
export const SIGNAL_HOLD_MAX_MESSAGES = 32;
/**
 * A receiver whose socket has 1 MiB unsent (it stopped reading) is closed instead of letting
 * other peers' messages pile up in memory for it.
 */
export const SIGNAL_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SignalLimits {
  maxMessageBytes: number;
  messagesPerSecond: number;
  burstMessages: number;
  peersPerPage: number;
  idleTimeoutMs: number;
  joinTimeoutMs: number;
  holdMs: number;
  holdMaxMessages: number;
  maxBufferedBytes: number;
}

export const DEFAULT_SIGNAL_LIMITS: Readonly<SignalLimits> = Object.freeze({
  maxMessageBytes: SIGNAL_MAX_MESSAGE_BYTES,
  messagesPerSecond: SIGNAL_MESSAGES_PER_SECOND,
  burstMessages: SIGNAL_BURST_MESSAGES,
  peersPerPage: SIGNAL_PEERS_PER_PAGE,
  idleTimeoutMs: SIGNAL_IDLE_TIMEOUT_MS,
  joinTimeoutMs: SIGNAL_JOIN_TIMEOUT_MS,
  holdMs: SIGNAL_HOLD_MS,
  holdMaxMessages: SIGNAL_HOLD_MAX_MESSAGES,
  maxBufferedBytes: SIGNAL_MAX_BUFFERED_BYTES,
});

/** The limits as the `challenge` message announces them (snake_case, like every field on the wire). */
export function limitsOnWire(limits: SignalLimits) {
  return {
    max_message_bytes: limits.maxMessageBytes,
    messages_per_second: limits.messagesPerSecond,
    burst_messages: limits.burstMessages,
    peers_per_page: limits.peersPerPage,
    idle_timeout_ms: limits.idleTimeoutMs,
    join_timeout_ms: limits.joinTimeoutMs,
    hold_ms: limits.holdMs,
    hold_max_messages: limits.holdMaxMessages,
  };
}

// ---- Error codes ------------------------------------------------------------------------------------

/**
 * Every `error.code` the server sends. Codes marked (close) are followed by closing the socket with the
 * WebSocket close code in SIGNAL_CLOSE_CODES and the error code as the close reason.
 */
export const SIGNAL_ERROR_CODES = [
  'not_json', // the text frame is not JSON (or a binary frame arrived)
  'bad_message', // JSON, but not a valid message: missing or malformed fields
  'unknown_type', // a `type` this server does not know
  'too_large', // over maxMessageBytes (bigger than 4x that: closed with 1009 instead)
  'rate_limited', // over the message rate: the message was dropped (close, if it goes on)
  'not_joined', // list/signal before `joined`
  'already_joined', // a second join on the same socket
  'auth_failed', // (close) the key does not give the peer id, or the signature does not verify
  'join_timeout', // (close) no valid join within joinTimeoutMs
  'not_allowed', // (close) a private node (--allow) does not admit this peer id
  'unknown_peer', // the target of a signal did not join within holdMs
  'hold_full', // the sender already has holdMaxMessages waiting for absent peers
  'replaced', // (close) the same peer id joined on another socket
  'idle_timeout', // (close) nothing received for idleTimeoutMs
  'too_slow', // (close) the socket stopped reading and maxBufferedBytes piled up
  'shutting_down', // (close) the node is stopping
] as const;
export type SignalErrorCode = (typeof SIGNAL_ERROR_CODES)[number];

/** WebSocket close codes (4000-4999 is the range RFC 6455 leaves to applications). */
export const SIGNAL_CLOSE_CODES = {
  auth_failed: 4001,
  join_timeout: 4002,
  replaced: 4003,
  idle_timeout: 4004,
  not_allowed: 4006,
  rate_limited: 4008,
  too_slow: 4009,
  shutting_down: 1001,
} as const satisfies Partial<Record<SignalErrorCode, number>>;
/** Set by the WebSocket layer itself when a frame is over the hard size cap. */
export const WS_CLOSE_MESSAGE_TOO_BIG = 1009;

// ---- Field schemas ----------------------------------------------------------------------------------

const peerIdField = z
  .string()
  .max(64)
  .refine(isSwarmPeerId, 'must be a swarm peer id ("sd-" and 40 hex digits)');
/** A client-chosen id echoed back as `ref`, so a reply or error can be matched to its request. */
const requestId = z.string().min(1).max(64);
const peerKind = z.enum(['node', 'browser']);
const displayName = z.string().max(64).nullable();
/** Opaque to the server: `{sdp, type}` for an offer or answer, `{candidate, ...}` for ICE, or anything else. */
const signalData = z.record(z.string(), z.unknown());

/** peer entry: {peer_id, kind, name} as the joining peer gave them. */
export const signalPeerInfo = z.looseObject({ peer_id: peerIdField, kind: peerKind, name: displayName });
export type SignalPeerInfo = z.infer<typeof signalPeerInfo>;

/** The payload that travels unchanged between peers on either path: {from, to, data}. */
export const signalPayload = z.looseObject({ from: peerIdField, to: peerIdField, data: signalData });
export type SignalPayload = z.infer<typeof signalPayload>;

// ---- Client → server --------------------------------------------------------------------------------

/**
 * join {peer_id, key, signature, kind, name}
 * - key: base64 of the raw 32-byte Ed25519 public key; peer_id must be derived from it (docs/PROTOCOL.md).
 * - signature: base64 Ed25519 signature over UTF-8 "swarmdrop-signal/1\n<nonce>\n<peer_id>".
 */
export const joinMessage = z.looseObject({
  type: z.literal('join'),
  peer_id: peerIdField,
  key: z.string().max(128),
  signature: z.string().max(256),
  kind: peerKind,
  name: displayName.optional().default(null),
});

/** list {cursor?, id?}: the next page of present peers after `cursor` (a peer id; pages are in id order). */
export const listMessage = z.looseObject({
  type: z.literal('list'),
  cursor: peerIdField.optional(),
  id: requestId.optional(),
});

/**
 * signal {to, data, from?, id?}: forward `data` to peer `to`. `from`, if present, must be the sender's
 * own id (the server always sets it), so a relayed payload can be passed on as it is.
 */
export const signalSendMessage = z.looseObject({
  type: z.literal('signal'),
  to: peerIdField,
  data: signalData,
  from: peerIdField.optional(),
  id: requestId.optional(),
});

// ---- Server → client --------------------------------------------------------------------------------

/** challenge {version, nonce, limits}: sent on connect; nonce is base64 of 32 random bytes. */
export const challengeMessage = z.looseObject({
  type: z.literal('challenge'),
  version: z.number().int().positive(),
  nonce: z.string().min(1).max(128),
  limits: z
    .looseObject({
      max_message_bytes: z.number(),
      messages_per_second: z.number(),
      burst_messages: z.number(),
      peers_per_page: z.number(),
      idle_timeout_ms: z.number(),
      join_timeout_ms: z.number(),
      hold_ms: z.number(),
      hold_max_messages: z.number(),
    })
    .optional(),
});

/** joined {peer_id, peers, next?}: the join was accepted; `peers` is the first page of the others present. */
export const joinedMessage = z.looseObject({
  type: z.literal('joined'),
  peer_id: peerIdField,
  peers: z.array(signalPeerInfo),
  next: peerIdField.optional(),
});

/** peers {peers, next?, ref?}: answer to `list`; `next` is the cursor of the following page, absent on the last. */
export const peersMessage = z.looseObject({
  type: z.literal('peers'),
  peers: z.array(signalPeerInfo),
  next: peerIdField.optional(),
  ref: requestId.optional(),
});

/** signal {from, to, data}: a signal another peer addressed to us, `from` set by the server. */
export const signalDeliverMessage = signalPayload.extend({ type: z.literal('signal') });

/** peer-joined {peer}: someone joined (or re-joined on a new socket: treat it as an update). */
export const peerJoinedMessage = z.looseObject({ type: z.literal('peer-joined'), peer: signalPeerInfo });

/** peer-left {peer_id}: someone's socket closed. */
export const peerLeftMessage = z.looseObject({ type: z.literal('peer-left'), peer_id: peerIdField });

/** error {code, message, ref?}: `ref` is the `id` of the request it answers, when it had one. */
export const errorMessage = z.looseObject({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(1024),
  ref: requestId.optional(),
});

/** The one table: every message type each way and its schema. */
export const SIGNALLING_MESSAGES = {
  client: { join: joinMessage, list: listMessage, signal: signalSendMessage },
  server: {
    challenge: challengeMessage,
    joined: joinedMessage,
    peers: peersMessage,
    signal: signalDeliverMessage,
    'peer-joined': peerJoinedMessage,
    'peer-left': peerLeftMessage,
    error: errorMessage,
  },
} as const;

type ClientTable = (typeof SIGNALLING_MESSAGES)['client'];
type ServerTable = (typeof SIGNALLING_MESSAGES)['server'];
export type ClientMessage = { [K in keyof ClientTable]: z.infer<ClientTable[K]> }[keyof ClientTable];
export type ServerMessage = { [K in keyof ServerTable]: z.infer<ServerTable[K]> }[keyof ServerTable];
/** What a client writes: defaults (like `name`) may be left out. */
export type ClientMessageInput = { [K in keyof ClientTable]: z.input<ClientTable[K]> }[keyof ClientTable];

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: 'not_json' | 'bad_message' | 'unknown_type'; reason: string; ref?: string };

export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(SIGNALLING_MESSAGES.client, text) as ParseResult<ClientMessage>;
}

export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(SIGNALLING_MESSAGES.server, text) as ParseResult<ServerMessage>;
}

function parseWith(table: Record<string, z.ZodType>, text: string): ParseResult<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'not_json', reason: `message is not JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_message', reason: 'message must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  const ref = requestId.safeParse(record.id).data;
  const type = record.type;
  if (typeof type !== 'string') {
    return withRef({ ok: false, code: 'bad_message', reason: 'message has no string "type"' }, ref);
  }
  if (!Object.hasOwn(table, type)) {
    const known = Object.keys(table).join(', ');
    return withRef(
      {
        ok: false,
        code: 'unknown_type',
        reason: `unknown message type "${type.slice(0, 64)}" (known: ${known})`,
      },
      ref,
    );
  }
  const parsed = table[type]!.safeParse(value);
  if (!parsed.success) {
    return withRef(
      { ok: false, code: 'bad_message', reason: `invalid ${type}: ${describeIssues(parsed.error)}` },
      ref,
    );
  }
  return { ok: true, message: parsed.data };
}

type ParseFailure = Extract<ParseResult<unknown>, { ok: false }>;

function withRef(result: ParseFailure, ref: string | undefined): ParseFailure {
  return ref === undefined ? result : { ...result, ref };
}

const encoder = new TextEncoder();

/** The bytes a joining peer signs. */
export function joinTranscript(nonce: string, peerId: string): Uint8Array {
  return encoder.encode(`${SIGNAL_JOIN_CONTEXT}\n${nonce}\n${peerId}`);
}

/** Size of a message on the wire (UTF-8 bytes), which is what the limits count. */
export function messageBytes(text: string): number {
  return encoder.encode(text).length;
}
