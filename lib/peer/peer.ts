import { Connection } from './connection.ts';
import type { ConnectionRole, LocalInfo, RemoteInfo } from './connection.ts';
import { ConnectionGuard, DEFAULT_MESSAGE_RATE } from './connection-guard.ts';
import type { MessageRate } from './connection-guard.ts';
import { DialTargets } from './dial-targets.ts';
import type { DialFn } from './dial-targets.ts';
import { DEDUP_WINDOW_MS, MAX_CLOCK_SKEW_SECONDS } from './constants.ts';
import { SeenIds } from './dedup.ts';
import { SwarmError } from './errors.ts';
import type { PeerKind } from './handshake.ts';
import type { Identity } from './identity.ts';
import type { PeerRegistry, PeerTransportKind } from './registry.ts';
import type { Transport } from './transport.ts';
import type { Message, MessageType } from './wire/schema.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';
import { realTimers } from '../util/timers.ts';
import type { Timers } from '../util/timers.ts';

/**
 * The Peer ties one identity to many connections: it accepts and dials transports, keeps the registry
 * current, picks the connection traffic to a peer uses, drops duplicate and stale messages, and
 * dispatches each message type through one table. Features (messaging, transfers) register handlers.
 */

export type MessageHandler<T extends MessageType = MessageType> = (
  message: Message<T>,
  connection: Connection,
) => void | Promise<void>;

export interface PeerOptions {
  identity: Identity;
  kind: PeerKind;
  name: string | null;
  registry: PeerRegistry;
  log: Logger;
  timers?: Timers;
  dial?: DialFn;
  /** Address announced in handshakes on this transport (see the node's advertise rule). */
  advertiseAddress: LocalInfo['advertiseAddress'];
  connectionTimings?: { pingIntervalMs?: number; idleTimeoutMs?: number; handshakeTimeoutMs?: number };
  /**
   * A private swarm (--allow): only these peer ids are admitted, on every transport. The check runs
   * once the handshake has proven the remote's id (a standard peer's id is only claimed, not proven).
   * Absent: everyone is admitted.
   */
  allow?: ReadonlySet<string>;
  /** JSON messages accepted per connection (default PEER_MESSAGES_PER_SECOND, bursts of PEER_BURST_MESSAGES). */
  messageRate?: MessageRate;
}

export type PeerEvents = {
  'peer:connected': (remote: RemoteInfo, connection: Connection) => void;
  'peer:disconnected': (peerId: string) => void;
};

export class Peer extends Emitter<PeerEvents> {
  readonly identity: Identity;
  readonly kind: PeerKind;
  readonly name: string | null;
  readonly registry: PeerRegistry;
  /** Listening port announced in handshakes; set by whoever opens the listener. */
  listenPort = 0;
  messagesProcessed = 0;
  messagesFailed = 0;

  #log: Logger;
  #timers: Timers;
  #advertise: LocalInfo['advertiseAddress'];
  #timings: PeerOptions['connectionTimings'];
  #allow: ReadonlySet<string> | undefined;
  #all = new Set<Connection>();
  #byPeer = new Map<string, Set<Connection>>();
  #handlers = new Map<MessageType, MessageHandler>();
  #binaryHandler: ((frame: Uint8Array, connection: Connection) => void) | undefined;
  #seen = new SeenIds({ windowMs: DEDUP_WINDOW_MS });
  #dialTargets: DialTargets;
  #closed = false;
  #messageRate: MessageRate;

  constructor(options: PeerOptions) {
    super();
    this.identity = options.identity;
    this.kind = options.kind;
    this.name = options.name;
    this.registry = options.registry;
    this.#log = options.log;
    this.#timers = options.timers ?? realTimers;
    this.#dialTargets = new DialTargets({
      dial: options.dial,
      attach: (transport) => this.attach(transport, 'dialler'),
      isLinked: (peerId) => this.connectionTo(peerId) !== undefined,
      isClosed: () => this.#closed,
      timers: this.#timers,
      log: this.#log,
    });
    this.#advertise = options.advertiseAddress;
    this.#timings = options.connectionTimings;
    this.#messageRate = options.messageRate ?? DEFAULT_MESSAGE_RATE;
    this.#allow = options.allow;
  }

  /** Whether this peer id may link to us (always true unless an allow list is set). */
  admits(peerId: string): boolean {
    return this.#allow === undefined || this.#allow.has(peerId);
  }

  get id(): string {
    return this.identity.peerId;
  }

  /** One handler per type: the dispatch table. Registering twice is a programming error. */
  handle<T extends MessageType>(type: T, handler: MessageHandler<T>): void {
    if (this.#handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
    this.#handlers.set(type, handler as MessageHandler);
  }

  /** The handler of binary swarm frames (chunk data); one, like the message handlers. */
  handleBinary(handler: (frame: Uint8Array, connection: Connection) => void): void {
    if (this.#binaryHandler) throw new Error('a binary frame handler is already registered');
    this.#binaryHandler = handler;
  }

  /** Open connections, one per connected peer: the one traffic to that peer uses. */
  primaryConnections(): Connection[] {
    return this.connectedPeerIds().flatMap((id) => this.connectionTo(id) ?? []);
  }

  /** Wraps a transport (accepted or dialled) in a connection and runs the handshake on it. */
  attach(transport: Transport, role: ConnectionRole): Connection {
    const connection = new Connection({
      transport,
      role,
      log: this.#log.child({ remote: `${transport.remoteAddress}:${transport.remotePort}`, role }),
      timers: this.#timers,
      ...this.#timings,
      local: {
        identity: this.identity,
        kind: this.kind,
        name: this.name,
        port: this.listenPort,
        advertiseAddress: this.#advertise,
        ...(this.#allow && { admits: (peerId: string) => this.admits(peerId) }),
      },
    });
    if (this.#closed) {
      connection.close(new SwarmError('SHUTDOWN', 'peer is shutting down'));
      return connection;
    }
    this.#all.add(connection);
    connection.on('open', (remote) => this.#onOpen(connection, remote));
    const guard = new ConnectionGuard(connection, this.#messageRate, this.#timers, this.#log);
    connection.on('message', (message) => {
      if (guard.admit(message)) this.#dispatch(message, connection);
      else this.messagesFailed++;
    });
    connection.on('rejected', () => this.messagesFailed++);
    connection.on('binary', (frame) => {
      try {
        this.#binaryHandler?.(frame, connection);
      } catch (err) {
        this.#log.error({ err, peer: connection.peerId }, 'binary frame handler failed');
      }
    });
    // A peer refused by --allow leaves no trace in the registry (nor in GET /api/peers).
    const tracked = () => (connection.peerId && this.admits(connection.peerId) ? connection.peerId : null);
    connection.on('rtt', (ms) => {
      const peerId = tracked();
      if (peerId) this.registry.setRtt(peerId, ms);
    });
    connection.on('traffic', (bytesIn, bytesOut) => {
      if (bytesIn) guard.checkReading();
      const peerId = tracked();
      if (peerId) this.registry.addBytes(peerId, bytesIn, bytesOut);
      if (bytesIn && peerId) this.registry.markSeen(peerId, this.#timers.now());
    });
    connection.on('close', (err) => this.#onClose(connection, err));
    return connection;
  }

  /**
   * Dials host:port and resolves once the handshake completes. The target is remembered and redialled
   * with back-off whenever the link to it drops.
   */
  async connect(host: string, port: number): Promise<RemoteInfo> {
    const target = this.#dialTargets.target(host, port);
    // Already linked to whoever listens there: nothing to dial.
    const existing = target.peerId ? this.connectionTo(target.peerId)?.remote : undefined;
    return existing ?? this.#dialTargets.dialOnce(target);
  }

  /** Keeps redialling host:port in the background (a known peer from an earlier run). */
  redial(host: string, port: number, peerId: string | null): void {
    this.#dialTargets.keepDialling(host, port, peerId);
  }

  /** Open connections to peerId; the first is the one traffic uses. */
  connectionsTo(peerId: string): Connection[] {
    const set = this.#byPeer.get(peerId);
    if (!set) return [];
    return [...set].filter((c) => c.state === 'open').sort((a, b) => this.#preference(a, b));
  }

  connectionTo(peerId: string): Connection | undefined {
    return this.connectionsTo(peerId)[0];
  }

  connectedPeerIds(): string[] {
    return [...this.#byPeer.keys()].filter((id) => this.connectionTo(id));
  }

  get queueSize(): number {
    let total = 0;
    for (const c of this.#all) total += c.queueSize;
    return total;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dialTargets.stop();
    for (const c of [...this.#all]) c.close(new SwarmError('SHUTDOWN', 'peer is shutting down'));
  }

  /**
   * Which of two connections to one peer carries traffic, the same answer on both sides: TCP before
   * WebRTC (between nodes that reach each other's port, TCP is the cheaper path), then the one dialled
   * by the peer with the lower id, then the older one. The other stays open (tolerated) so nothing in
   * flight on it is lost, and takes over if the first drops.
   */
  #preference(a: Connection, b: Connection): number {
    const remote = a.peerId ?? '';
    const preferredRole: ConnectionRole = this.id < remote ? 'dialler' : 'acceptor';
    const kindRank = (c: Connection) => (c.transport.kind === 'tcp' ? 0 : 1);
    const roleRank = (c: Connection) => (c.role === preferredRole ? 0 : 1);
    return kindRank(a) - kindRank(b) || roleRank(a) - roleRank(b) || a.openedAt - b.openedAt;
  }

  /** The registry names the transport of the connection that carries traffic (see #preference). */
  #primaryTransportKind(peerId: string): PeerTransportKind | null {
    const kind = this.connectionTo(peerId)?.transport.kind;
    return kind === undefined || kind === 'memory' ? null : kind;
  }

  #onOpen(connection: Connection, remote: RemoteInfo): void {
    if (remote.peerId === this.id) {
      connection.close(new SwarmError('HANDSHAKE_FAILED', 'connected to ourselves'));
      return;
    }
    if (!this.admits(remote.peerId)) {
      // Unreachable: the connection refuses such an id during the handshake (and logs why). Kept so
      // that no path to 'open' can ever admit one.
      connection.close(new SwarmError('PEER_NOT_ALLOWED', `peer ${remote.peerId} is not in this node's --allow list`));
      return;
    }
    let set = this.#byPeer.get(remote.peerId);
    if (!set) this.#byPeer.set(remote.peerId, (set = new Set()));
    set.add(connection);
    const now = this.#timers.now();
    const dialTarget = this.#dialTargets.targetOf(connection);
    this.registry.upsert(remote.peerId, {
      address: dialTarget?.host ?? remote.address ?? connection.transport.remoteAddress,
      port: dialTarget?.port ?? remote.port,
      publicKey: remote.publicKey,
      name: remote.name,
      kind: remote.kind,
      status: 'online',
      lastSeen: now,
      transport: this.#primaryTransportKind(remote.peerId),
      via: null,
      encrypted: connection.encrypted,
      ...(dialTarget ? { dialable: true } : {}),
    });
    this.#log.info(
      {
        peer: remote.peerId,
        kind: remote.kind,
        name: remote.name,
        role: connection.role,
        verified: remote.verified,
        encrypted: connection.encrypted,
      },
      'peer connected',
    );
    if (set.size === 1) this.emit('peer:connected', remote, connection);
  }

  #onClose(connection: Connection, err: Error | undefined): void {
    this.#all.delete(connection);
    const peerId = connection.peerId;
    if (peerId) {
      const set = this.#byPeer.get(peerId);
      set?.delete(connection);
      if (set && set.size === 0) {
        this.#byPeer.delete(peerId);
        this.registry.setStatus(peerId, 'offline');
        this.#log.info({ peer: peerId, reason: err?.message }, 'peer disconnected');
        this.emit('peer:disconnected', peerId);
      } else if (set) {
        this.registry.upsert(peerId, { transport: this.#primaryTransportKind(peerId) });
      }
    }
    this.#dialTargets.connectionClosed(connection);
  }

  #dispatch(message: Message, connection: Connection): void {
    const now = this.#timers.now();
    if (Math.abs(now / 1000 - message.timestamp) > MAX_CLOCK_SKEW_SECONDS) {
      this.messagesFailed++;
      this.#log.warn({ peer: connection.peerId, type: message.type }, 'dropped a message: timestamp too far from our clock');
      return;
    }
    if (!this.#seen.checkAndAdd(message.message_id, now)) {
      this.#log.debug({ peer: connection.peerId, id: message.message_id }, 'dropped a duplicate message');
      return;
    }
    const handler = this.#handlers.get(message.type);
    if (!handler) {
      this.#log.debug({ type: message.type }, 'no handler for message type');
      return;
    }
    this.messagesProcessed++;
    Promise.resolve()
      .then(() => handler(message, connection))
      .catch((err) => {
        this.messagesFailed++;
        this.#log.error({ err, type: message.type, peer: connection.peerId }, 'message handler failed');
      });
  }
}
