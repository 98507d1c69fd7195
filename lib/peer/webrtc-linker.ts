import type { Peer } from './peer.ts';
import type { SignallingClient } from './signalling/client.ts';
import type { SignalPeerInfo } from './signalling/messages.ts';
import { createWebRtcConnection } from './webrtc/connect.ts';
import type { RtcPeerConnectionConstructor, WebRtcConnection, WebRtcSignal } from './webrtc/connect.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Turns "peer X is present on a signalling endpoint" into a WebRTC link attached to the Peer. For each
 * pair, the peer with the lower id makes the offer, so two peers never offer to each other at once.
 * The link's handshake then proves both identities over both DTLS fingerprints (channel binding).
 */
export interface WebRtcLinkerOptions {
  peer: Peer;
  RTCPeerConnection: RtcPeerConnectionConstructor;
  iceServers: RTCIceServer[];
  /** node-datachannel: gather candidates on this address only (tests: 127.0.0.1). */
  bindAddress?: string;
  candidateFilter?: (candidate: string) => boolean;
  /** 'relay': TURN relays only. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** No new links once this many peers are connected. */
  maxPeers: number;
  /**
   * Offers to peers that joined signalling as nodes make this side the DTLS client (a=setup:active,
   * see WebRtcConnectionOptions.offererDtlsClient): between two libdatachannel peers the offerer as
   * DTLS server can leave the answerer's early ClientHello unprocessed until its 1 s retransmission.
   * Set by nodes. Offers to tabs, or to peers of unknown kind (learned through a relay), keep the
   * JSEP actpass, which Chromium is known to handle (bench/README.md: a rare answerer failure was
   * seen in the browser tests with active offers, and once without). The kind is what the peer
   * declared when it joined; a false one only changes which side of its own link starts DTLS.
   */
  dtlsClientToNodes?: boolean;
  log: Logger;
}

/** A failed offer is tried again after 2 s, 4 s, 8 s ... at most this many times while the peer stays present. */
export const LINK_ATTEMPTS = 5;
const LINK_RETRY_BASE_MS = 2_000;
/** Refused peer ids remembered so each is logged once; a hub full of strangers only costs this many strings. */
const MAX_REFUSED_REMEMBERED = 1024;

/**
 * Anything that carries signalling messages to a peer: a signalling endpoint, or a peer we are both
 * linked to that relays them (signal-relay.ts). Retries go back through the channel a peer was last seen on.
 */
export interface SignalChannel {
  send(to: string, data: Record<string, unknown>): unknown;
}

interface Pending {
  connection: WebRtcConnection;
  via: SignalChannel;
  /** Tags this attempt's signals (the answerer takes the offer's), so stray ones of another are dropped. */
  attempt: string;
}

export class WebRtcLinker {
  #o: WebRtcLinkerOptions;
  #pending = new Map<string, Pending>();
  #failures = new Map<string, number>();
  /** Where each peer was last seen present, for retries. */
  #present = new Map<string, SignalChannel>();
  /** Peers that joined a signalling endpoint as nodes (see dtlsClientToNodes). */
  #nodes = new Set<string>();
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;
  /** Peers not admitted (--allow) whose refusal was logged already. */
  #refused = new Set<string>();

  constructor(options: WebRtcLinkerOptions) {
    this.#o = options;
    // A link that dropped while the peer is still present (it reloaded, or the link failed) is
    // offered again; the peer's new incarnation may have joined while the old link was still up.
    options.peer.on('peer:disconnected', (peerId) => {
      const via = this.#present.get(peerId);
      if (via && !this.#closed) this.link(via, peerId);
    });
  }

  /**
   * Listens on a signalling client; call it before the client joins. The endpoint tells the others
   * of a join before the joiner's `connect()` resolves, and an offer made at once can arrive in the
   * same read as the joiner's `joined`: a listener attached after `connect()` missed it, and the link
   * waited for the offerer's 15 s timeout and a retry (bench `setup`, 1 join in 4 under load).
   */
  listen(signalling: SignallingClient): void {
    signalling.on('signal', (from, data) => this.#onSignal(signalling, from, data as WebRtcSignal));
    signalling.on('peer-joined', (info) => {
      this.#present.set(info.peer_id, signalling);
      this.#noteKind(info);
      // A peer that joins again (a reloaded tab) is a new incarnation: an attempt still pending
      // with the old one can only time out, so it is dropped and a new one made.
      this.#dropPending(info.peer_id);
      this.#failures.delete(info.peer_id);
      this.link(signalling, info.peer_id);
    });
    signalling.on('peer-left', (peerId) => {
      if (this.#present.get(peerId) === signalling) {
        this.#present.delete(peerId);
        this.#nodes.delete(peerId);
      }
    });
  }

  /** Links to the peers present on a client that `listen` watched and that has joined. */
  async linkPresent(signalling: SignallingClient): Promise<void> {
    for (const info of await signalling.listAll()) {
      this.#present.set(info.peer_id, signalling);
      this.#noteKind(info);
      this.link(signalling, info.peer_id);
    }
  }

  /** A peer learned of through `via` (a relay's peer exchange, say) is present there. */
  seen(via: SignalChannel, peerId: string): void {
    this.#present.set(peerId, via);
    this.link(via, peerId);
  }

  /** A signalling message for us that came through `via`. */
  signal(via: SignalChannel, from: string, data: Record<string, unknown>): void {
    this.#onSignal(via, from, data as WebRtcSignal);
  }

  /** Offers a link to `peerId` when this side is the offerer of the pair and no link exists yet. */
  link(via: SignalChannel, peerId: string): void {
    const { peer } = this.#o;
    if (peerId === peer.id || peer.id > peerId) return; // the other side offers
    if (!this.#wanted(peerId)) return;
    this.#start(via, peerId, 'offerer');
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    for (const { connection } of this.#pending.values()) connection.close();
    this.#pending.clear();
  }

  #wanted(peerId: string): boolean {
    const { peer, maxPeers } = this.#o;
    if (!peer.admits(peerId)) {
      this.#noteRefused(peerId);
      return false;
    }
    return !this.#closed && !this.#pending.has(peerId) && !peer.connectionTo(peerId) && peer.connectedPeerIds().length < maxPeers;
  }

  /** Logs a peer left out by --allow once (a hub may announce it again and again), within a bound. */
  #noteRefused(peerId: string): void {
    if (this.#refused.has(peerId)) return;
    if (this.#refused.size >= MAX_REFUSED_REMEMBERED) this.#refused.clear();
    this.#refused.add(peerId);
    this.#o.log.info({ peer: peerId, reason: `peer ${peerId} is not in this node's --allow list` }, 'not linking to a peer over WebRTC');
  }

  #dropPending(peerId: string): void {
    const pending = this.#pending.get(peerId);
    if (!pending) return;
    this.#pending.delete(peerId);
    pending.connection.close();
  }

  #onSignal(via: SignalChannel, from: string, signal: WebRtcSignal & { attempt?: unknown }): void {
    const { attempt, ...data } = signal;
    const isOffer = 'sdp' in data && data.sdp?.type === 'offer';
    // Signals of an earlier attempt (held by the endpoint for a reloading peer, say) would break the
    // current one: each attempt is tagged, and a tagged signal of another attempt is dropped.
    const current = this.#pending.get(from)?.attempt;
    if (!isOffer && typeof attempt === 'string' && current !== undefined && attempt !== current) return;
    // Only the lower id offers, so a fresh offer while an attempt is pending starts a new attempt
    // (the other side gave up on the old one, or is a new incarnation of the peer).
    if (isOffer && this.#pending.has(from)) this.#dropPending(from);
    // The offerer offers only when it holds no link to us, so a link we still hold to it is dead
    // (a reloaded tab): close it rather than wait out its disconnect grace, then answer.
    if ('sdp' in data && data.sdp?.type === 'offer' && !this.#closed) {
      for (const stale of this.#o.peer.connectionsTo(from)) {
        if (stale.transport.kind === 'webrtc') stale.close();
      }
    }
    const pending = this.#pending.get(from);
    if (!pending && isOffer && this.#wanted(from)) this.#start(via, from, 'answerer', typeof attempt === 'string' ? attempt : undefined);
    const target = this.#pending.get(from);
    if (!target) return;
    target.connection.handle(data as WebRtcSignal).catch((err) => {
      this.#o.log.warn({ peer: from, reason: (err as Error).message }, 'bad WebRTC signalling message');
    });
  }

  #noteKind(info: SignalPeerInfo): void {
    if (info.kind === 'node') this.#nodes.add(info.peer_id);
    else this.#nodes.delete(info.peer_id);
  }

  #start(via: SignalChannel, peerId: string, role: 'offerer' | 'answerer', attempt = Math.random().toString(36).slice(2)): void {
    const { peer, log } = this.#o;
    const connection = createWebRtcConnection({
      RTCPeerConnection: this.#o.RTCPeerConnection,
      iceServers: this.#o.iceServers,
      role,
      offererDtlsClient: this.#o.dtlsClientToNodes === true && this.#nodes.has(peerId),
      signal: (msg) => {
        try {
          via.send(peerId, { ...msg, attempt });
        } catch (err) {
          log.warn({ peer: peerId, reason: (err as Error).message }, 'could not send a WebRTC signal');
        }
      },
      ...(this.#o.bindAddress !== undefined && { bindAddress: this.#o.bindAddress }),
      ...(this.#o.candidateFilter && { candidateFilter: this.#o.candidateFilter }),
      ...(this.#o.iceTransportPolicy && { iceTransportPolicy: this.#o.iceTransportPolicy }),
    });
    this.#pending.set(peerId, { connection, via, attempt });
    connection.transport.then(
      (transport) => {
        if (this.#pending.get(peerId)?.connection !== connection) return transport.close(); // superseded
        this.#pending.delete(peerId);
        this.#failures.delete(peerId);
        if (this.#closed) return transport.close();
        // A TCP link to this peer came up while we negotiated: it is the better path (tcp-preference.ts).
        if (peer.connectionsTo(peerId).some((c) => c.transport.kind === 'tcp')) {
          log.info({ peer: peerId }, 'WebRTC link not used: already linked over TCP');
          return transport.close();
        }
        peer.attach(transport, role === 'offerer' ? 'dialler' : 'acceptor');
        log.info({ peer: peerId, role, setupMs: transport.setupMs }, 'WebRTC link open');
      },
      (err: Error) => {
        if (this.#pending.get(peerId)?.connection !== connection) return; // dropped for a newer attempt
        this.#pending.delete(peerId);
        log.warn({ peer: peerId, role, reason: err.message }, 'WebRTC link failed');
        // The offerer tries again (the answerer waits for a new offer); a peer that left is not retried.
        const failures = (this.#failures.get(peerId) ?? 0) + 1;
        this.#failures.set(peerId, failures);
        if (role !== 'offerer' || failures >= LINK_ATTEMPTS || this.#closed) return;
        const timer = setTimeout(() => {
          this.#retryTimers.delete(timer);
          if (this.#present.get(peerId) === via) this.link(via, peerId);
        }, LINK_RETRY_BASE_MS * 2 ** (failures - 1));
        this.#retryTimers.add(timer);
      },
    );
  }
}
