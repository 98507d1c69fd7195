import type { Connection } from './connection.ts';
import { MAX_TEXT_CHARS } from './constants.ts';
import { SwarmError } from './errors.ts';
import type { HistoryEntry, MessageHistory } from './message-history.ts';
import { MessageRelay, withoutSignature } from './message-relay.ts';
import { checkEnvelopeSignature, signEnvelope } from './message-signature.ts';
import type { Peer } from './peer.ts';
import { makeEnvelope } from './wire/codec.ts';
import type { Message } from './wire/schema.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Chat: direct and broadcast text, each delivered once (the Peer drops duplicate message ids), kept
 * in the history. Swarm peers acknowledge direct messages with `ack`, which marks them delivered;
 * standard peers never acknowledge, so their messages stay "sent". Texts for peers we are not linked
 * to go through a neighbour that reaches them, and we pass on texts for others (message-relay.ts);
 * what we write to swarm peers carries our signature (message-signature.ts).
 */
export type MessagingEvents = {
  text: (entry: HistoryEntry) => void;
};

/**
 * CHAT_BEFORE_DISK: texts and acks do not wait for the history's append to the disk. The append runs
 * on libuv's thread pool, which a running transfer keeps busy with chunk writes and fdatasync; waiting
 * for it put up to ~1 s between a text and its ack while a download saturated the connection
 * (`npm run bench -- --only chat-under-load`). A failed append is still reported to the caller.
 */
export class Messaging extends Emitter<MessagingEvents> {
  #peer: Peer;
  #history: MessageHistory;
  #log: Logger;
  readonly relay: MessageRelay;

  constructor(peer: Peer, history: MessageHistory, log: Logger) {
    super();
    this.#peer = peer;
    this.#history = history;
    this.#log = log;
    this.relay = new MessageRelay(peer, log);
    peer.handle('text', (message, connection) => this.#onText(message, connection));
    peer.handle('ack', (message, connection) => this.#onAck(message, connection));
    peer.handle('error', (message, connection) => {
      this.#log.warn({ peer: connection.peerId, ...message.content }, 'peer reported an error');
    });
  }

  close(): void {
    this.relay.close();
  }

  /**
   * Sends a text to one peer (linked, or reached through a neighbour), or to every linked peer when
   * recipientId is null (they pass it on to theirs).
   */
  async send(text: string, recipientId: string | null): Promise<HistoryEntry> {
    if (text.length === 0) throw new SwarmError('BAD_CONTENT', 'text is empty');
    if (text.length > MAX_TEXT_CHARS) {
      throw new SwarmError('BAD_CONTENT', `text is ${text.length} characters; the limit is ${MAX_TEXT_CHARS}`);
    }
    let targets: Connection[];
    if (recipientId === null) {
      targets = this.#peer.primaryConnections();
    } else {
      const connection = this.relay.route(recipientId);
      if (!connection) throw new SwarmError('PEER_UNKNOWN', `peer ${recipientId} is not connected`);
      targets = [connection];
    }
    const envelope = await signEnvelope(makeEnvelope('text', this.#peer.id, { content: { text }, recipientId }), this.#peer.identity);
    const entry: HistoryEntry = { direction: 'outgoing', payload: envelope, at: Date.now(), status: 'sent' };
    // In memory at once; the text goes out while the history line is written (see CHAT_BEFORE_DISK).
    const persisted = this.#history.add(entry);
    await Promise.all([
      persisted,
      ...targets.map((c) =>
        c.sendEnvelope(c.isSwarm ? envelope : withoutSignature(envelope), 'chat').catch((err) => {
          this.#log.warn({ peer: c.peerId, reason: (err as Error).message }, 'text could not be sent');
        }),
      ),
    ]);
    return entry;
  }

  async #onText(message: Message<'text'>, connection: Connection): Promise<void> {
    // Our own text coming back round the swarm (or someone writing in our name): never ours to take.
    if (message.sender_id === this.#peer.id) return;
    const fromAuthor = connection.peerId === message.sender_id;
    const check = await checkEnvelopeSignature(message.raw, fromAuthor);
    if (!check.ok) {
      this.#peer.messagesFailed++;
      this.#log.warn({ peer: connection.peerId, sender: message.sender_id, reason: check.reason }, 'dropped a text: bad signature');
      return;
    }
    if (message.recipient_id !== null && message.recipient_id !== this.#peer.id) {
      this.relay.forward(message, connection);
      return;
    }
    if (message.recipient_id === null) this.relay.flood(message, connection);
    const entry: HistoryEntry = {
      direction: 'incoming',
      payload: message.raw,
      at: Date.now(),
      status: 'received',
      authenticity: check.authenticity,
    };
    // Acknowledged once it is in the history's memory, not once its line is on disk: see CHAT_BEFORE_DISK.
    const persisted = this.#history.add(entry);
    if (message.recipient_id !== null) this.#acknowledge(message, connection, fromAuthor);
    this.emit('text', entry);
    await persisted;
  }

  /** Swarm authors learn their direct text arrived: on the link it came by, or routed back to them. */
  #acknowledge(message: Message<'text'>, connection: Connection, fromAuthor: boolean): void {
    const content = { message_id: message.message_id };
    if (fromAuthor) {
      if (connection.isSwarm) connection.send('ack', { content }).catch(() => {});
      return;
    }
    const back = this.relay.route(message.sender_id);
    if (back?.isSwarm) back.send('ack', { content, recipientId: message.sender_id }).catch(() => {});
  }

  async #onAck(message: Message<'ack'>, connection: Connection): Promise<void> {
    if (message.recipient_id !== null && message.recipient_id !== this.#peer.id) {
      this.relay.forward(message, connection);
      return;
    }
    // The history announces the delivery ('delivered'); listeners follow it there.
    await this.#history.markDelivered(message.content.message_id);
  }
}
