import { FRAME_HEADER_BYTES, HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, PING_INTERVAL_MS } from './constants.ts';
import { isSwarmError, SwarmError } from './errors.ts';
import {
  buildHandshakeContent,
  checkClaimedIdentity,
  newNonce,
  remoteFromHandshake,
  requiresSwarmProof,
  signProof,
  tlsLinkBinding,
  verifyProof,
} from './handshake.ts';
import type { ProofRole } from './handshake.ts';
import { Liveness } from './liveness.ts';
import { OutgoingQueue, priorityOf } from './priority-queue.ts';
import type { Priority } from './priority-queue.ts';
import type { Transport } from './transport.ts';
import { decodeMessage, encodeEnvelope, makeEnvelope } from './wire/codec.ts';
import type { OutgoingEnvelope } from './wire/codec.ts';
import { MESSAGE_TYPES, RELAYED_TYPES } from './wire/schema.ts';
import type { ContentOf, Message, MessageType } from './wire/schema.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';
import type { TimerHandle, Timers } from '../util/timers.ts';
import type {
  ConnectionEvents,
  ConnectionOptions,
  ConnectionRole,
  ConnectionState,
  LocalInfo,
  RemoteInfo,
} from './connection-types.ts';

/**
 * One connection to one remote peer over one transport: runs the handshake in either role, decodes
 * and validates every frame, answers pings, measures RTT, drops the link when idle, and sends through
 * a priority queue. It knows nothing of other connections: the Peer object routes between them.
 */

// The connection's types live beside it (connection-types.ts); importers keep using this module.
export type * from './connection-types.ts';

const JSON_OPEN_BRACE = 0x7b;

export class Connection extends Emitter<ConnectionEvents> {
  readonly transport: Transport;
  readonly role: ConnectionRole;
  readonly openedAt: number;
  state: ConnectionState = 'handshaking';
  remote: RemoteInfo | null = null;
  closeReason: Error | undefined;

  #local: LocalInfo;
  #log: Logger;
  #timers: Timers;
  #queue: OutgoingQueue;
  #ourNonce = newNonce();
  #remoteKey: Uint8Array | null = null;
  #handshakeTimer: TimerHandle | null = null;
  /** Pings, RTT and the idle timeout (liveness.ts). */
  readonly #liveness: Liveness;
  /** Frames are handled one at a time, in order, even when a handler awaits crypto. */
  #inbox: Promise<void> = Promise.resolve();
  /** The frame being handled, as it came off the wire. */
  #lastFrame: Uint8Array | null = null;
  /** The plain handshake frames as this side sent or received them: a TLS link's proofs cover them. */
  #helloFrame: Uint8Array | null = null;
  #responseFrame: Uint8Array | null = null;
  /** On a TCP link between swarm peers, once TLS is up: what both identity proofs are bound to. */
  #tlsBinding: string | null = null;

  constructor(options: ConnectionOptions) {
    super();
    this.transport = options.transport;
    this.role = options.role;
    this.#local = options.local;
    this.#log = options.log;
    this.#timers = options.timers;
    this.openedAt = this.#timers.now();
    this.#queue = new OutgoingQueue((frame) => this.transport.send(frame));

    this.transport.on('frame', (frame) => {
      // Until the handshake is handled, whatever follows a frame may already be TLS: hold the rest.
      const upgrade = this.state === 'handshaking' ? this.transport.tlsUpgrade : undefined;
      upgrade?.hold();
      this.#inbox = this.#inbox
        .then(() => this.#onFrame(frame))
        .then(() => upgrade?.release())
        .catch((err) => this.close(err as Error));
    });
    this.transport.on('close', (err) => this.close(err));
    this.#handshakeTimer = this.#timers.setTimeout(
      () => this.close(new SwarmError('HANDSHAKE_FAILED', 'no handshake completed in time')),
      options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    );
    this.#liveness = new Liveness({
      timers: this.#timers,
      pingIntervalMs: options.pingIntervalMs ?? PING_INTERVAL_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      sendPing: () => void this.send('ping', { priority: 'control' }).catch(() => {}),
      onIdle: (idleFor) =>
        this.close(new SwarmError('IDLE_TIMEOUT', `nothing received for ${Math.round(idleFor / 1000)} s`)),
    });
    if (this.role === 'dialler') void this.#sendHandshake(false, undefined);
  }

  /**
   * What the identity proofs are bound to besides the nonces: the transport's channel binding (on
   * WebRTC both DTLS fingerprints), so a signalling server that swaps SDPs to sit in the middle holds
   * two different DTLS sessions and neither side's proof verifies on the other.
   */
  get #binding(): string {
    return this.#tlsBinding ?? this.transport.channelBinding ?? '';
  }

  /** True when traffic on this link is encrypted (WebRTC; TCP between swarm peers, after TLS). */
  get encrypted(): boolean {
    return this.transport.encrypted ?? false;
  }

  get peerId(): string | null {
    return this.remote?.peerId ?? null;
  }

  get isSwarm(): boolean {
    return this.remote?.swarmVersion != null;
  }

  get queueSize(): number {
    return this.#queue.size;
  }

  /** Sends a message; resolves when it has been handed to the transport (back-pressure included). */
  async send<T extends MessageType>(
    type: T,
    options: {
      content?: ContentOf<T>;
      /** Defaults to this connection's peer; `omit` leaves the field out (the standard handshake has none). */
      recipientId?: string | null | 'omit';
      priority?: Priority;
      messageId?: string;
    } = {},
  ): Promise<OutgoingEnvelope<T>> {
    const recipient = options.recipientId !== undefined ? options.recipientId : (this.remote?.peerId ?? null);
    const envelope = makeEnvelope(type, this.#local.identity.peerId, {
      content: options.content,
      recipientId: recipient === 'omit' ? undefined : recipient,
      messageId: options.messageId,
      now: this.#timers.now(),
    });
    await this.sendEnvelope(envelope, options.priority ?? priorityOf(type));
    return envelope;
  }

  /** Sends an envelope as it is (relays keep the author's sender_id, message_id and timestamp). */
  async sendEnvelope(envelope: OutgoingEnvelope | Message['raw'], priority: Priority): Promise<void> {
    await this.sendFrame(encodeEnvelope(envelope), priority);
  }

  async sendFrame(frame: Uint8Array, priority: Priority): Promise<void> {
    if (this.state === 'closed') throw new SwarmError('TRANSPORT_CLOSED', 'connection is closed');
    await this.#queue.enqueue(frame, priority);
    this.emit('traffic', 0, frame.byteLength + FRAME_HEADER_BYTES);
  }

  close(err?: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = err;
    if (err && !isSwarmError(err, 'SHUTDOWN')) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      this.#log.warn({ peer: this.peerId, code, reason: err.message }, 'connection closed');
    } else {
      this.#log.debug({ peer: this.peerId }, 'connection closed');
    }
    if (this.#handshakeTimer !== null) this.#timers.clearTimeout(this.#handshakeTimer);
    this.#liveness.stop();
    this.#queue.close(err ?? new SwarmError('TRANSPORT_CLOSED', 'connection closed'));
    this.transport.close(err);
    this.emit('close', err);
  }

  async #onFrame(frame: Uint8Array): Promise<void> {
    if (this.state === 'closed') return;
    this.#liveness.received();
    this.emit('traffic', frame.byteLength + FRAME_HEADER_BYTES, 0);
    if (this.isSwarm && frame.byteLength > 0 && frame[0] !== JSON_OPEN_BRACE) {
      if (this.state === 'open') this.emit('binary', frame);
      return;
    }
    this.#lastFrame = frame;
    const decoded = decodeMessage(frame);
    switch (decoded.kind) {
      case 'framing':
        this.close(new SwarmError(decoded.code, decoded.reason));
        return;
      case 'unknown-type':
        this.#log.debug({ type: decoded.envelope.type }, 'ignoring message of unknown type');
        return;
      case 'bad-content':
        this.#reject(decoded.reason, decoded.envelope.message_id);
        return;
      case 'message':
        await this.#onMessage(decoded.message);
    }
  }

  #reject(reason: string, refMessageId: string | null): void {
    this.#log.warn({ reason, peer: this.peerId }, 'dropped a message');
    this.emit('rejected', reason);
    if (this.state !== 'open') return;
    this.send('error', {
      content: { code: 'bad_content', message: reason.slice(0, 1000), ref_message_id: refMessageId },
    }).catch(() => {});
  }

  async #onMessage(message: Message): Promise<void> {
    if (message.type === 'handshake') return this.#onHandshake(message);
    if (message.type === 'swarm_auth') return this.#onSwarmAuth(message);
    if (MESSAGE_TYPES[message.type].swarmOnly && !this.isSwarm) {
      this.#log.debug({ type: message.type }, 'ignoring a swarm message from a peer that did not negotiate the extension');
      return;
    }
    if (this.state !== 'open') {
      this.#log.debug({ type: message.type }, 'ignoring a message that came before the handshake');
      return;
    }
    const relayed = this.isSwarm && RELAYED_TYPES.has(message.type);
    if (message.sender_id !== this.remote?.peerId && !relayed) {
      this.#reject(`sender_id ${message.sender_id} does not match this connection's peer`, message.message_id);
      return;
    }
    if (message.type === 'ping') {
      this.send('pong', { priority: 'control' }).catch(() => {});
      return;
    }
    if (message.type === 'pong') {
      const rtt = this.#liveness.pongReceived();
      if (rtt !== null) this.emit('rtt', rtt);
      return;
    }
    this.emit('message', message);
  }

  async #onHandshake(message: Message<'handshake'>): Promise<void> {
    const content = message.content;
    const swarm = content.swarm;
    let key: Uint8Array | null = null;
    if (swarm) {
      const claim = await checkClaimedIdentity(message.sender_id, swarm);
      if (!claim.ok) return this.#refuse(claim.reason);
      key = claim.key;
    } else if (requiresSwarmProof(message.sender_id)) {
      return this.#refuse(`peer id ${message.sender_id} is a swarm id but came without a swarm proof`);
    }
    if (this.remote && this.remote.peerId !== message.sender_id) {
      return this.#refuse(`handshake from ${message.sender_id} on a connection to ${this.remote.peerId}`);
    }
    // An id that is not on the list is refused on its claim alone: no proof could make it admissible.
    if (this.#local.admits && !this.#local.admits(message.sender_id)) {
      const reason = `peer ${message.sender_id} is not in this node's --allow list`;
      this.#log.warn({ peer: message.sender_id, transport: this.transport.kind, address: this.transport.remoteAddress, reason }, 'refused a peer');
      return this.close(new SwarmError('PEER_NOT_ALLOWED', reason));
    }

    // TCP between swarm peers: the hello and its response stay plain, then TLS, then the proofs inside it.
    const acceptor = this.role === 'acceptor';
    const plainEnds = acceptor !== content.handshake_response && this.state === 'handshaking';
    if (swarm && key && plainEnds && this.transport.tlsUpgrade) {
      this.#remoteKey = key;
      this.remote = remoteFromHandshake(message, false);
      this.state = 'authenticating';
      if (acceptor) this.#helloFrame = this.#lastFrame;
      else this.#responseFrame = this.#lastFrame;
      if (acceptor) await this.#sendHandshake(true, undefined); // no proof: it comes inside TLS
      return this.#secure(acceptor ? 'server' : 'client', swarm.nonce);
    }
    if (!content.handshake_response) {
      // Answer every handshake (STANDARD-PROTOCOL.md), including a repeated one on an open link.
      const proof = swarm
        ? await signProof(this.#local.identity, 'acceptor', swarm.nonce, message.sender_id, this.#binding)
        : undefined;
      this.#remoteKey = key;
      this.remote = remoteFromHandshake(message, false);
      // A standard dialler gets a plain standard response: the extension is offered only to peers that offered it.
      await this.#sendHandshake(true, proof, swarm !== undefined);
      if (this.state === 'handshaking') {
        if (swarm) this.state = 'authenticating';
        else this.#open();
      }
      return;
    }

    if (this.role !== 'dialler' || this.state !== 'handshaking') return;
    if (swarm && key) {
      const valid = await verifyProof(
        key,
        swarm.proof,
        'acceptor',
        this.#ourNonce,
        message.sender_id,
        this.#local.identity.peerId,
        this.#binding,
      );
      if (!valid) return this.#refuse('handshake response has no valid identity proof');
      this.remote = remoteFromHandshake(message, true);
      const proof = await signProof(this.#local.identity, 'dialler', swarm.nonce, message.sender_id, this.#binding);
      await this.send('swarm_auth', { content: { proof }, priority: 'control' });
    } else {
      this.remote = remoteFromHandshake(message, false);
    }
    this.#open();
  }

  /**
   * A TCP link between swarm peers: TLS 1.3 on the same socket, then each side's proof, sent inside
   * TLS and bound to the channel's exporter and to both plain handshake frames.
   */
  async #secure(tlsRole: 'client' | 'server', theirNonce: string): Promise<void> {
    const upgrade = this.transport.tlsUpgrade;
    if (!upgrade || !this.remote || !this.#helloFrame || !this.#responseFrame) {
      throw new SwarmError('HANDSHAKE_FAILED', 'cannot secure a link whose handshake is incomplete');
    }
    await upgrade.start(tlsRole); // on failure the transport has closed with the reason
    const exporter = this.transport.channelBinding ?? '';
    this.#tlsBinding = await tlsLinkBinding(exporter, this.#helloFrame, this.#responseFrame);
    const proof = await signProof(this.#local.identity, this.role, theirNonce, this.remote.peerId, this.#binding);
    await this.send('swarm_auth', { content: { proof }, priority: 'control' });
  }

  async #onSwarmAuth(message: Message<'swarm_auth'>): Promise<void> {
    if (this.state !== 'authenticating' || !this.remote || !this.#remoteKey) return;
    if (message.sender_id !== this.remote.peerId) return this.#refuse('swarm_auth from another peer id');
    const theirRole: ProofRole = this.role === 'dialler' ? 'acceptor' : 'dialler';
    const valid = await verifyProof(
      this.#remoteKey,
      message.content.proof,
      theirRole,
      this.#ourNonce,
      this.remote.peerId,
      this.#local.identity.peerId,
      this.#binding,
    );
    const inTls = 'the proof inside TLS does not verify: the sides hold different TLS sessions or handshakes';
    if (!valid) return this.#refuse(this.#tlsBinding === null ? 'swarm_auth proof does not verify' : inTls);
    this.remote.verified = true;
    this.#open();
  }

  #refuse(reason: string): void {
    this.#log.warn({ reason }, 'refusing connection: identity check failed');
    this.close(new SwarmError('IDENTITY_MISMATCH', reason));
  }

  #open(): void {
    if (this.state === 'closed' || this.state === 'open' || !this.remote) return;
    this.state = 'open';
    if (this.#handshakeTimer !== null) this.#timers.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = null;
    this.#liveness.startPinging();
    this.emit('open', this.remote);
  }

  async #sendHandshake(response: boolean, proof: string | undefined, withSwarm = true): Promise<void> {
    const content = buildHandshakeContent({
      identity: this.#local.identity,
      address: this.#local.advertiseAddress(this.transport, this.role),
      port: this.#local.port,
      kind: this.#local.kind,
      name: this.#local.name,
      nonce: this.#ourNonce,
      response,
      proof,
    });
    if (!withSwarm) delete content.swarm;
    // The standard handshake carries no recipient_id.
    const envelope = makeEnvelope('handshake', this.#local.identity.peerId, { content, now: this.#timers.now() });
    const frame = encodeEnvelope(envelope);
    if (response) this.#responseFrame ??= frame;
    else this.#helloFrame ??= frame;
    try {
      await this.sendFrame(frame, 'control');
    } catch (err) {
      this.close(err as Error);
    }
  }
}
