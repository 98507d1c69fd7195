import type { Connection } from './connection.ts';
import { MAX_TEXT_CHARS } from './constants.ts';
import { SwarmError } from './errors.ts';
import type { HistoryEntry, MessageHistory } from './message-history.ts';
import type { Peer } from './peer.ts';
import { makeEnvelope } from './wire/codec.ts';
import type { Message } from './wire/schema.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Chat: direct and broadcast text, each delivered once (the Peer drops duplicate message ids), kept
 * in the history. Swarm peers acknowledge direct messages with `ack`, which marks them delivered;
 * standard peers never acknowledge, so their messages stay "sent".
 */
export type MessagingEvents = {
  text: (entry: HistoryEntry) => void;
};

export class Messaging extends Emitter<MessagingEvents> {
  #peer: Peer;
  #history: MessageHistory;
  #log: Logger;

  constructor(peer: Peer, history: MessageHistory, log: Logger) {
    super();
    this.#peer = peer;
    this.#history = history;
    this.#log = log;
    peer.handle('text', (message, connection) => this.#onText(message, connection));
    peer.handle('ack', (message) => this.#onAck(message));
    peer.handle('error', (message, connection) => {
      this.#log.warn({ peer: connection.peerId, ...message.content }, 'peer reported an error');
    });
  }

  /** Sends a text to one connected peer, or to every connected peer when recipientId is null. */
  async send(text: string, recipientId: string | null): Promise<HistoryEntry> {
    if (text.length === 0) throw new SwarmError('BAD_CONTENT', 'text is empty');
    if (text.length > MAX_TEXT_CHARS) {
      throw new SwarmError('BAD_CONTENT', `text is ${text.length} characters; the limit is ${MAX_TEXT_CHARS}`);
    }
    let targets: Connection[];
    if (recipientId === null) {
      targets = this.#peer.primaryConnections();
    } else {
      const connection = this.#peer.connectionTo(recipientId);
      if (!connection) throw new SwarmError('PEER_UNKNOWN', `peer ${recipientId} is not connected`);
      targets = [connection];
    }
    const envelope = makeEnvelope('text', this.#peer.id, { content: { text }, recipientId });
    const entry: HistoryEntry = { direction: 'outgoing', payload: envelope, at: Date.now(), status: 'sent' };
    await this.#history.add(entry);
    await Promise.all(
      targets.map((c) =>
        c.sendEnvelope(envelope, 'chat').catch((err) => {
          this.#log.warn({ peer: c.peerId, reason: (err as Error).message }, 'text could not be sent');
        }),
      ),
    );
    return entry;
  }

  async #onText(message: Message<'text'>, connection: Connection): Promise<void> {
    if (message.recipient_id !== null && message.recipient_id !== this.#peer.id) {
      this.#log.debug({ to: message.recipient_id }, 'text for another peer: not relayed');
      return;
    }
    const entry: HistoryEntry = { direction: 'incoming', payload: message.raw, at: Date.now(), status: 'received' };
    await this.#history.add(entry);
    if (message.recipient_id !== null && connection.isSwarm) {
      connection.send('ack', { content: { message_id: message.message_id } }).catch(() => {});
    }
    this.emit('text', entry);
  }

  async #onAck(message: Message<'ack'>): Promise<void> {
    // The history announces the delivery ('delivered'); listeners follow it there.
    await this.#history.markDelivered(message.content.message_id);
  }
}
