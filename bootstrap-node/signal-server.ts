import type { IncomingMessage, Server } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { SignalUpgrades } from './signal-upgrade.ts';
import { newNonce } from '../lib/peer/handshake.ts';
import {
  DEFAULT_SIGNAL_LIMITS,
  SIGNAL_CLOSE_CODES,
  SIGNAL_HARD_MAX_FACTOR,
  SIGNAL_PROTOCOL_VERSION,
  limitsOnWire,
  parseClientMessage,
} from '../lib/peer/signalling/messages.ts';
import type {
  ClientMessage,
  ServerMessage,
  SignalErrorCode,
  SignalLimits,
  SignalPeerInfo,
} from '../lib/peer/signalling/messages.ts';
import { HoldQueue } from '../lib/peer/signalling/hold.ts';
import { joinRefusal } from '../lib/peer/signalling/join-proof.ts';
import type { JoinMessage } from '../lib/peer/signalling/join-proof.ts';
import { PresentPeers } from '../lib/peer/signalling/present-peers.ts';
import { MessageRateGate } from '../lib/peer/rate-gate.ts';
import type { Logger } from '../lib/util/logger.ts';
import { realTimers } from '../lib/util/timers.ts';
import type { TimerHandle, Timers } from '../lib/util/timers.ts';

/**
 * The WebSocket signalling endpoint every node serves at `/signal` on its API port (the protocol is in
 * lib/peer/signalling/messages.ts and docs/SIGNALLING.md). It keeps who is present and a few held
 * messages in memory only: nothing on disk, nothing that outlives the process.
 */
export interface SignalServerOptions {
  log: Logger;
  /** Tighter limits for tests; the defaults are the protocol's. */
  limits?: Partial<SignalLimits>;
  timers?: Timers;
  /** A private node (--allow): which proven peer ids may join. Absent: everyone. */
  admit?: (peerId: string) => boolean;
  /** Open sockets allowed from one address (default MAX_CONNECTIONS_PER_ADDRESS). */
  maxConnectionsPerAddress?: number;
}

export interface SignalServer {
  readonly limits: Readonly<SignalLimits>;
  /** The peers joined right now. */
  peers(): SignalPeerInfo[];
  /** Closes every socket (error `shutting_down`) and stops answering upgrades. Safe to call twice. */
  close(): Promise<void>;
}

type CloseCode = keyof typeof SIGNAL_CLOSE_CODES;
type ConnectionState = 'challenged' | 'joining' | 'joined' | 'closing';

/** A socket we asked to close but whose peer never finished the close handshake is cut after this long. */
const CLOSE_GRACE_MS = 1_000;

interface Connection {
  readonly ws: WebSocket;
  readonly remote: string;
  readonly nonce: string;
  readonly rate: MessageRateGate;
  readonly closed: Promise<void>;
  state: ConnectionState;
  info?: SignalPeerInfo;
  lastHeardAt: number;
  joinTimer?: TimerHandle;
  killTimer?: TimerHandle;
}

type SignalPayload = Extract<ServerMessage, { type: 'signal' }>;

export function attachSignalServer(httpServer: Server, options: SignalServerOptions): SignalServer {
  return new SignalHub(httpServer, options);
}

class SignalHub implements SignalServer {
  readonly limits: Readonly<SignalLimits>;
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #admitPeer: ((peerId: string) => boolean) | undefined;
  readonly #upgrades: SignalUpgrades;
  readonly #connections = new Set<Connection>();
  readonly #present: PresentPeers<Connection>;
  /** Signals waiting for their target to join. */
  readonly #held: HoldQueue<Connection, SignalPayload>;
  readonly #sweep: TimerHandle;
  #closing: Promise<void> | undefined;

  constructor(httpServer: Server, options: SignalServerOptions) {
    this.limits = Object.freeze({ ...DEFAULT_SIGNAL_LIMITS, ...options.limits });
    this.#log = options.log.child({ component: 'signal' });
    this.#timers = options.timers ?? realTimers;
    this.#admitPeer = options.admit;
    this.#present = new PresentPeers(this.limits.peersPerPage);
    this.#held = new HoldQueue({
      holdMs: this.limits.holdMs,
      maxPerSender: this.limits.holdMaxMessages,
      timers: this.#timers,
      onExpire: ({ sender, target, ref }) =>
        this.#sendError(
          sender,
          'unknown_peer',
          `peer ${target} is not present (waited ${this.limits.holdMs} ms for it to join)`,
          ref,
        ),
    });
    // Between the message limit and this hard cap we still read a message, so its sender gets a
    // `too_large` answer it can act on.
    const hardMaxBytes = this.limits.maxMessageBytes * SIGNAL_HARD_MAX_FACTOR;
    this.#upgrades = new SignalUpgrades(
      httpServer,
      {
        maxPayloadBytes: hardMaxBytes,
        maxConnectionsPerAddress: options.maxConnectionsPerAddress,
        onRefused: (remote, reason) => this.#log.warn({ remote, reason }, 'refused a signalling socket'),
      },
      (ws, req) => this.#accept(ws, req),
    );
    // Ping every third of the idle timeout: a healthy client answers (browsers do so by themselves),
    // so only a dead or silent one reaches the timeout.
    this.#sweep = this.#timers.setInterval(() => this.#checkLiveness(), this.limits.idleTimeoutMs / 3);
  }

  peers(): SignalPeerInfo[] {
    return this.#present.infos();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#upgrades.stop();
      this.#timers.clearInterval(this.#sweep);
      for (const conn of this.#connections) this.#drop(conn, 'shutting_down', 'the node is shutting down');
      await Promise.all([...this.#connections].map((c) => c.closed));
      await this.#upgrades.close();
    })();
    return this.#closing;
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    let markClosed!: () => void;
    const conn: Connection = {
      ws,
      remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      nonce: newNonce(),
      rate: new MessageRateGate(this.limits, this.#timers),
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      state: 'challenged',
      lastHeardAt: this.#timers.now(),
    };
    this.#connections.add(conn);
    conn.joinTimer = this.#timers.setTimeout(
      () =>
        this.#drop(
          conn,
          'join_timeout',
          `no valid join within ${this.limits.joinTimeoutMs} ms of connecting`,
        ),
      this.limits.joinTimeoutMs,
    );
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    ws.on('pong', () => (conn.lastHeardAt = this.#timers.now()));
    ws.on('ping', () => (conn.lastHeardAt = this.#timers.now()));
    ws.on('error', (err) =>
      this.#log.debug({ remote: conn.remote, reason: err.message }, 'signalling socket error'),
    );
    ws.on('close', (code, reason) => {
      this.#forget(conn);
      this.#timers.clearTimeout(conn.killTimer);
      this.#connections.delete(conn);
      this.#log.debug(
        { remote: conn.remote, peer: conn.info?.peer_id, code, reason: reason.toString() },
        'signalling socket closed',
      );
      markClosed();
    });
    this.#log.debug({ remote: conn.remote }, 'signalling socket opened');
    this.#send(conn, {
      type: 'challenge',
      version: SIGNAL_PROTOCOL_VERSION,
      nonce: conn.nonce,
      limits: limitsOnWire(this.limits),
    });
  }

  #onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.lastHeardAt = this.#timers.now();
    if (conn.state === 'closing' || !this.#admit(conn)) return;
    const bytes = toBuffer(data);
    if (bytes.length > this.limits.maxMessageBytes) {
      this.#sendError(
        conn,
        'too_large',
        `message is ${bytes.length} bytes; the limit is ${this.limits.maxMessageBytes}`,
      );
      return;
    }
    if (isBinary) {
      this.#sendError(
        conn,
        'not_json',
        'binary frames are not part of the signalling protocol: send JSON text frames',
      );
      return;
    }
    const parsed = parseClientMessage(bytes.toString('utf8'));
    if (!parsed.ok) {
      this.#sendError(conn, parsed.code, parsed.reason, parsed.ref);
      return;
    }
    this.#dispatch(conn, parsed.message);
  }

  #dispatch(conn: Connection, message: ClientMessage): void {
    switch (message.type) {
      case 'join':
        this.#join(conn, message).catch((err) => {
          this.#log.error({ err, remote: conn.remote }, 'join failed unexpectedly');
          this.#drop(conn, 'auth_failed', 'the join could not be checked');
        });
        return;
      case 'list':
        if (!this.#requireJoined(conn, message.id)) return;
        this.#send(conn, {
          type: 'peers',
          ...this.#present.page(message.cursor, conn.info!.peer_id),
          ...refOf(message.id),
        });
        return;
      case 'signal':
        if (this.#requireJoined(conn, message.id)) this.#signal(conn, message);
        return;
    }
  }

  /** Over the rate a message is dropped with one error per episode; a flood is closed. */
  #admit(conn: Connection): boolean {
    const admission = conn.rate.admit();
    if (admission === 'admit') return true;
    const { messagesPerSecond, burstMessages } = this.limits;
    if (admission === 'flood') {
      this.#log.warn(
        { remote: conn.remote, peer: conn.info?.peer_id },
        'closed a flooding signalling socket',
      );
      this.#drop(conn, 'rate_limited', `kept sending over ${messagesPerSecond} messages/s: closing`);
    } else if (admission === 'refuse-and-tell') {
      this.#sendError(
        conn,
        'rate_limited',
        `over ${messagesPerSecond} messages/s (bursts of ${burstMessages}): messages are dropped until the rate falls`,
      );
    }
    return false;
  }

  async #join(conn: Connection, message: JoinMessage): Promise<void> {
    if (conn.state !== 'challenged') {
      this.#sendError(
        conn,
        'already_joined',
        'this socket has already joined (open another socket to join as another peer)',
      );
      return;
    }
    conn.state = 'joining';
    const reason = await joinRefusal(conn.nonce, message);
    if (conn.state !== 'joining') return; // the socket closed while we verified
    if (reason) {
      this.#log.info({ remote: conn.remote, peer: message.peer_id, reason }, 'refused a signalling join');
      this.#drop(conn, 'auth_failed', reason);
      return;
    }
    if (this.#admitPeer && !this.#admitPeer(message.peer_id)) {
      const refusal = `peer ${message.peer_id} is not in this node's --allow list`;
      this.#log.warn({ remote: conn.remote, peer: message.peer_id, reason: refusal }, 'refused a signalling join');
      this.#drop(conn, 'not_allowed', refusal);
      return;
    }
    this.#timers.clearTimeout(conn.joinTimer);
    const info: SignalPeerInfo = { peer_id: message.peer_id, kind: message.kind, name: message.name };
    conn.info = info;
    conn.state = 'joined';
    const previous = this.#present.join(conn, info);
    if (previous) this.#drop(previous, 'replaced', 'the same peer id joined on another connection');
    this.#log.info(
      { remote: conn.remote, peer: info.peer_id, kind: info.kind, replaced: Boolean(previous) },
      'peer joined signalling',
    );
    this.#send(conn, {
      type: 'joined',
      peer_id: info.peer_id,
      ...this.#present.page(undefined, info.peer_id),
    });
    for (const other of this.#present.members()) {
      if (other !== conn) this.#send(other, { type: 'peer-joined', peer: info });
    }
    for (const payload of this.#held.release(info.peer_id)) this.#send(conn, payload);
  }

  #signal(conn: Connection, message: Extract<ClientMessage, { type: 'signal' }>): void {
    const from = conn.info!.peer_id;
    if (message.from !== undefined && message.from !== from) {
      this.#sendError(conn, 'bad_message', `from must be your own peer id (${from}) or left out`, message.id);
      return;
    }
    if (message.to === from) {
      this.#sendError(conn, 'bad_message', 'a peer cannot signal itself', message.id);
      return;
    }
    const payload = { type: 'signal' as const, from, to: message.to, data: message.data };
    const target = this.#present.get(message.to);
    if (target) {
      this.#send(target, payload);
      return;
    }
    if (!this.#held.hold(conn, message.to, payload, message.id)) {
      const { holdMaxMessages } = this.limits;
      this.#sendError(
        conn,
        'hold_full',
        `${holdMaxMessages} signals already wait for absent peers; peer ${message.to} is not present`,
        message.id,
      );
    }
  }

  #requireJoined(conn: Connection, ref: string | undefined): boolean {
    if (conn.state === 'joined') return true;
    this.#sendError(conn, 'not_joined', 'send join and wait for joined first', ref);
    return false;
  }

  #checkLiveness(): void {
    const now = this.#timers.now();
    for (const conn of this.#connections) {
      if (conn.state === 'closing') continue;
      if (now - conn.lastHeardAt >= this.limits.idleTimeoutMs) {
        this.#drop(conn, 'idle_timeout', `nothing received for ${this.limits.idleTimeoutMs} ms`);
      } else {
        conn.ws.ping();
      }
    }
  }

  #send(conn: Connection, message: ServerMessage): void {
    if (conn.state === 'closing' || conn.ws.readyState !== conn.ws.OPEN) return;
    if (conn.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.#drop(conn, 'too_slow', `over ${this.limits.maxBufferedBytes} bytes waiting to be read`);
      return;
    }
    conn.ws.send(JSON.stringify(message));
  }

  #sendError(conn: Connection, code: SignalErrorCode, message: string, ref?: string): void {
    this.#log.debug(
      { remote: conn.remote, peer: conn.info?.peer_id, code, reason: message },
      'signalling error',
    );
    this.#send(conn, { type: 'error', code, message, ...refOf(ref) });
  }

  /** Tells the peer why, closes its socket, and forgets it at once. Safe to call twice. */
  #drop(conn: Connection, code: CloseCode, message: string): void {
    if (conn.state === 'closing') return;
    this.#forget(conn);
    this.#log.debug(
      { remote: conn.remote, peer: conn.info?.peer_id, code, reason: message },
      'closing a signalling socket',
    );
    // Written directly: #send refuses a closing socket, and its slow-reader check must not recurse here.
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify({ type: 'error', code, message }));
    conn.ws.close(SIGNAL_CLOSE_CODES[code], code);
    conn.killTimer = this.#timers.setTimeout(() => conn.ws.terminate(), CLOSE_GRACE_MS);
  }

  /** Removes every trace of the connection: presence, its held signals, its timers. Idempotent. */
  #forget(conn: Connection): void {
    const wasJoined = conn.state === 'joined';
    conn.state = 'closing';
    this.#timers.clearTimeout(conn.joinTimer);
    this.#held.dropFrom(conn);
    const id = conn.info?.peer_id;
    // A replaced socket is no longer the one present under its id: its going is not a departure.
    if (!wasJoined || id === undefined || !this.#present.leave(id, conn)) return;
    this.#log.info({ remote: conn.remote, peer: id }, 'peer left signalling');
    for (const other of this.#present.members()) this.#send(other, { type: 'peer-left', peer_id: id });
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function refOf(ref: string | undefined): { ref?: string } {
  return ref === undefined ? {} : { ref };
}
