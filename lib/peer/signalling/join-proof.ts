/**
 * What a signalling endpoint checks before it lets a socket join as a peer id: the key derives the
 * id, and the signature over the endpoint's nonce proves the joiner holds the key (the transcript is
 * `joinTranscript` in messages.ts, which the client signs).
 */
import { ED25519_PUBLIC_KEY_BYTES, peerIdFromPublicKey, verifySignature } from '../identity.ts';
import { base64ToBytes } from '../../util/base64.ts';
import { joinTranscript } from './messages.ts';
import type { ClientMessage } from './messages.ts';

export type JoinMessage = Extract<ClientMessage, { type: 'join' }>;

/** Null if the join proves its peer id for this nonce; otherwise why not, for the refusal. */
export async function joinRefusal(nonce: string, message: JoinMessage): Promise<string | null> {
  const key = base64ToBytes(message.key);
  if (key?.length !== ED25519_PUBLIC_KEY_BYTES)
    return 'key is not base64 of a raw 32-byte Ed25519 public key';
  if ((await peerIdFromPublicKey(key)) !== message.peer_id)
    return `peer_id ${message.peer_id} is not derived from key`;
  const signature = base64ToBytes(message.signature);
  if (!signature || !(await verifySignature(key, signature, joinTranscript(nonce, message.peer_id)))) {
    return 'signature does not verify over "swarmdrop-signal/1\\n<nonce>\\n<peer_id>" with this nonce';
  }
  return null;
}
