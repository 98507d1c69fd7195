import type { Connection } from './connection.ts';
import { SwarmError } from './errors.ts';
import { MAX_QUEUED_FRAMES_PER_CONNECTION, PEER_BURST_MESSAGES, PEER_MESSAGES_PER_SECOND } from './limits.ts';
import { MessageRateGate } from './rate-gate.ts';
import type { Message } from './wire/schema.ts';
import type { Logger } from '../util/logger.ts';
import type { Timers } from '../util/timers.ts';

/** JSON messages accepted per connection: a steady rate, and the burst allowed on top of it. */
export type MessageRate = { messagesPerSecond: number; burstMessages: number };

export const DEFAULT_MESSAGE_RATE: MessageRate = {
  messagesPerSecond: PEER_MESSAGES_PER_SECOND,
  burstMessages: PEER_BURST_MESSAGES,
};

/**
 * The limits one connection lives under, against a hostile remote: a message rate (over it messages
 * are dropped, logged once per episode, and a flood is closed), and a bound on what we buffer for a
 * remote that keeps sending while our answers to it wait unread.
 */
export class ConnectionGuard {
  readonly #connection: Connection;
  readonly #rate: MessageRateGate;
  readonly #messagesPerSecond: number;
  readonly #log: Logger;

  constructor(connection: Connection, rate: MessageRate, timers: Timers, log: Logger) {
    this.#connection = connection;
    this.#rate = new MessageRateGate(rate, timers);
    this.#messagesPerSecond = rate.messagesPerSecond;
    this.#log = log;
  }

  /** Whether to handle an arriving message; false when it is over the rate (closing a flood). */
  admit(message: Message): boolean {
    const admission = this.#rate.admit();
    if (admission === 'admit') return true;
    const connection = this.#connection;
    const who = { peer: connection.peerId, remote: connection.transport.remoteAddress, type: message.type };
    if (admission === 'flood') {
      const reason = `kept sending over ${this.#messagesPerSecond} messages/s: closing the connection`;
      this.#log.warn({ ...who, reason }, 'closed a flooding connection');
      connection.close(new SwarmError('RATE_LIMITED', reason));
    } else if (admission === 'refuse-and-tell') {
      this.#log.warn({ ...who, reason: `over ${this.#messagesPerSecond} messages/s` }, 'dropping messages: over the rate');
    }
    return false;
  }

  /** Called as bytes arrive: closes the connection once too many of our frames wait unread behind them. */
  checkReading(): void {
    const connection = this.#connection;
    if (connection.state === 'closed' || connection.queueSize <= MAX_QUEUED_FRAMES_PER_CONNECTION) return;
    const reason = `${connection.queueSize} frames wait to be sent while the remote keeps sending without reading (limit ${MAX_QUEUED_FRAMES_PER_CONNECTION})`;
    this.#log.warn({ peer: connection.peerId, remote: connection.transport.remoteAddress, reason }, 'closed a connection that does not read');
    connection.close(new SwarmError('RATE_LIMITED', reason));
  }
}
