import type { Peer } from './peer.ts';
import type { SignallingClient } from './signalling/client.ts';
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
  /** No new links once this many peers are connected. */
  maxPeers: number;
  log: Logger;
}

/** A failed offer is tried again after 2 s, 4 s, 8 s ... at most this many times while the peer stays present. */
export const LINK_ATTEMPTS = 5;
const LINK_RETRY_BASE_MS = 2_000;

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
}

export class WebRtcLinker {
  #o: WebRtcLinkerOptions;
  #pending = new Map<string, Pending>();
  #failures = new Map<string, number>();
  /** Where each peer was last seen present, for retries. */
  #present = new Map<string, SignalChannel>();
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(options: WebRtcLinkerOptions) {
    this.#o = options;
  }

  /** Listens on a joined signalling client and links to the peers present there. */
  async use(signalling: SignallingClient): Promise<void> {
    signalling.on('signal', (from, data) => this.#onSignal(signalling, from, data as WebRtcSignal));
    signalling.on('peer-joined', (info) => {
      this.#present.set(info.peer_id, signalling);
      this.link(signalling, info.peer_id);
    });
    signalling.on('peer-left', (peerId) => {
      if (this.#present.get(peerId) === signalling) this.#present.delete(peerId);
    });
    for (const info of await signalling.listAll()) {
      this.#present.set(info.peer_id, signalling);
      this.link(signalling, info.peer_id);
    }
  }

  /** Offers a link to `peerId` when this side is the offerer of the pair and no link exists yet. */
  /** A peer learned of through `via` (a relay's peer exchange, say) is present there. */
  seen(via: SignalChannel, peerId: string): void {
    this.#present.set(peerId, via);
    this.link(via, peerId);
  }

  /** A signalling message for us that came through `via`. */
  signal(via: SignalChannel, from: string, data: Record<string, unknown>): void {
    this.#onSignal(via, from, data as WebRtcSignal);
  }

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
    return !this.#closed && !this.#pending.has(peerId) && !peer.connectionTo(peerId) && peer.connectedPeerIds().length < maxPeers;
  }

  #onSignal(via: SignalChannel, from: string, data: WebRtcSignal): void {
    const pending = this.#pending.get(from);
    if (!pending && 'sdp' in data && data.sdp?.type === 'offer' && this.#wanted(from)) this.#start(via, from, 'answerer');
    const target = this.#pending.get(from);
    if (!target) return;
    target.connection.handle(data).catch((err) => {
      this.#o.log.warn({ peer: from, reason: (err as Error).message }, 'bad WebRTC signalling message');
    });
  }

  #start(via: SignalChannel, peerId: string, role: 'offerer' | 'answerer'): void {
    const { peer, log } = this.#o;
    const connection = createWebRtcConnection({
      RTCPeerConnection: this.#o.RTCPeerConnection,
      iceServers: this.#o.iceServers,
      role,
      signal: (msg) => {
        try {
          via.send(peerId, msg as unknown as Record<string, unknown>);
        } catch (err) {
          log.warn({ peer: peerId, reason: (err as Error).message }, 'could not send a WebRTC signal');
        }
      },
      ...(this.#o.bindAddress !== undefined && { bindAddress: this.#o.bindAddress }),
      ...(this.#o.candidateFilter && { candidateFilter: this.#o.candidateFilter }),
    });
    this.#pending.set(peerId, { connection, via });
    connection.transport.then(
      (transport) => {
        this.#pending.delete(peerId);
        this.#failures.delete(peerId);
        if (this.#closed) return transport.close();
        peer.attach(transport, role === 'offerer' ? 'dialler' : 'acceptor');
        log.info({ peer: peerId, role, setupMs: transport.setupMs }, 'WebRTC link open');
      },
      (err: Error) => {
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
