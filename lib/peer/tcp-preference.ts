import { SwarmError } from './errors.ts';
import type { Peer } from './peer.ts';
import type { TcpAddress } from './signal-relay.ts';
import type { SignalChannel } from './webrtc-linker.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Between two nodes, TCP is preferred to WebRTC (no DTLS/SCTP in user space, and the standard
 * protocol's own transport). When peer exchange names a peer that listens on TCP and we dial TCP too,
 * the lower id of the pair dials it (so the two do not dial each other at once); once the TCP link is
 * up, a WebRTC link to the same peer is closed. A failed dial, a peer without TCP, or our own --no-tcp
 * leave the peer to WebRTC.
 */
export interface TcpPreferenceOptions {
  peer: Peer;
  /** Links over WebRTC to a peer present on a signalling channel (WebRtcLinker). */
  webrtc: { seen(via: SignalChannel, peerId: string): void };
  /** False with --no-tcp (and in browsers): never dial TCP. */
  tcp: boolean;
  /** No new peers once this many are connected (a TCP link replacing a WebRTC one adds none). */
  maxPeers: number;
  log: Logger;
  /** The clock failed dials are remembered by (ms). */
  now?: () => number;
}

/** An address that did not take our dial is not tried again for this long (peer exchange repeats it on every change). */
export const TCP_REDIAL_AFTER_FAILURE_MS = 60_000;

export class TcpPreference {
  #o: TcpPreferenceOptions;
  #dialling = new Set<string>();
  #failedAt = new Map<string, number>();
  #closed = false;

  constructor(options: TcpPreferenceOptions) {
    this.#o = options;
  }

  /** A neighbour (`via`) says it is linked to `peerId`, which takes TCP at `address` (null: no TCP). */
  learned(via: SignalChannel, peerId: string, address: TcpAddress | null): void {
    const { peer, webrtc, log } = this.#o;
    if (this.#closed || peerId === peer.id) return;
    if (!this.#o.tcp || address === null || this.#recentlyFailed(address)) return webrtc.seen(via, peerId);
    // The higher id waits for the lower one's dial; meanwhile the peer is noted as present for WebRTC
    // (where the lower id offers too), so a failed dial still ends in a link.
    if (peer.id > peerId) return webrtc.seen(via, peerId);
    if (this.#dialling.has(peerId)) return;
    const links = peer.connectionsTo(peerId);
    if (links.some((c) => c.transport.kind === 'tcp')) return;
    if (links.length === 0 && peer.connectedPeerIds().length >= this.#o.maxPeers) return;
    this.#dialling.add(peerId);
    const target = `${address.host}:${address.port}`;
    peer
      .connect(address.host, address.port)
      .then((remote) => {
        if (remote.peerId !== peerId) {
          log.warn({ peer: peerId, target, answered: remote.peerId }, 'the TCP address given for a peer answered as another; WebRTC instead');
          return webrtc.seen(via, peerId);
        }
        log.info({ peer: peerId, target }, 'linked over TCP (preferred to WebRTC between nodes)');
        for (const c of peer.connectionsTo(peerId)) {
          if (c.transport.kind === 'webrtc') c.close(new SwarmError('SUPERSEDED', 'a TCP link to this peer took over'));
        }
      })
      .catch((err: Error) => {
        this.#failedAt.set(target, this.#now());
        log.info({ peer: peerId, target, reason: err.message }, 'could not dial a peer over TCP; WebRTC instead');
        if (!this.#closed) webrtc.seen(via, peerId);
      })
      .finally(() => this.#dialling.delete(peerId));
  }

  close(): void {
    this.#closed = true;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #recentlyFailed(address: TcpAddress): boolean {
    const at = this.#failedAt.get(`${address.host}:${address.port}`);
    return at !== undefined && this.#now() - at < TCP_REDIAL_AFTER_FAILURE_MS;
  }
}
