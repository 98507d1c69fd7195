import type { z } from 'zod';
import { PROTOCOL_VERSION } from '../constants.ts';
import type { ErrorCode } from '../errors.ts';
import { envelopeSchema, isMessageType, MESSAGE_TYPES } from './schema.ts';
import type { ContentOf, Message, MessageType, RawEnvelope } from './schema.ts';
import { uuid4 } from '../../util/uuid.ts';

/**
 * Turns frame payloads into validated messages and back. Pure: bytes in, bytes out.
 *
 * Outcomes of decoding one payload, and what the connection does with each:
 * - 'message': a valid message of a known type → dispatch;
 * - 'unknown-type': a valid envelope of a type we do not know → ignore (a newer peer may send it);
 * - 'bad-content': a valid envelope whose content is invalid for its type → drop, log, answer `error`;
 * - 'framing': not JSON or not an envelope → the peer does not speak the protocol: close the connection.
 */
export type DecodeResult =
  | { kind: 'message'; message: Message }
  | { kind: 'unknown-type'; envelope: RawEnvelope }
  | { kind: 'bad-content'; envelope: RawEnvelope; reason: string }
  | { kind: 'framing'; code: Extract<ErrorCode, 'FRAME_NOT_JSON' | 'FRAME_NO_ENVELOPE'>; reason: string };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Summarises a zod error as one short line naming the offending path, for logs and `error` replies. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export function decodeMessage(payload: Uint8Array): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(payload));
  } catch (err) {
    return { kind: 'framing', code: 'FRAME_NOT_JSON', reason: `frame is not UTF-8 JSON (${(err as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'framing', code: 'FRAME_NO_ENVELOPE', reason: 'frame is JSON but not an object' };
  }
  const envelope = envelopeSchema.safeParse(parsed);
  if (!envelope.success) {
    return {
      kind: 'framing',
      code: 'FRAME_NO_ENVELOPE',
      reason: `frame is not a valid envelope: ${describeIssues(envelope.error)}`,
    };
  }
  const raw = envelope.data;
  if (!isMessageType(raw.type)) return { kind: 'unknown-type', envelope: raw };
  const content = MESSAGE_TYPES[raw.type].content.safeParse(raw.content);
  if (!content.success) {
    return { kind: 'bad-content', envelope: raw, reason: `bad ${raw.type} content: ${describeIssues(content.error)}` };
  }
  const message = {
    type: raw.type,
    version: raw.version,
    sender_id: raw.sender_id,
    message_id: raw.message_id,
    timestamp: raw.timestamp,
    recipient_id: raw.recipient_id ?? null,
    content: content.data,
    raw,
  } as Message;
  return { kind: 'message', message };
}

export type OutgoingEnvelope<T extends MessageType = MessageType> = {
  version: string;
  type: T;
  sender_id: string;
  message_id: string;
  timestamp: number;
  recipient_id?: string | null;
  content?: ContentOf<T>;
};

/**
 * Builds an envelope shaped like the reference peer's: `content` is left out for ping/pong, and
 * `recipient_id` is present (null for a broadcast) whenever the caller passes it.
 */
export function makeEnvelope<T extends MessageType>(
  type: T,
  senderId: string,
  options: { content?: ContentOf<T>; recipientId?: string | null; now?: number; messageId?: string } = {},
): OutgoingEnvelope<T> {
  const envelope: OutgoingEnvelope<T> = {
    version: PROTOCOL_VERSION,
    type,
    sender_id: senderId,
    message_id: options.messageId ?? uuid4(),
    timestamp: (options.now ?? Date.now()) / 1000,
  };
  if (options.recipientId !== undefined) envelope.recipient_id = options.recipientId;
  if (options.content !== undefined) envelope.content = options.content;
  return envelope;
}

export function encodeEnvelope(envelope: OutgoingEnvelope | RawEnvelope): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(envelope));
}
