import type { Connection } from './connection.ts';
import type { ContentOf } from './wire/schema.ts';
import type { Peer } from './peer.ts';
import type { SignalChannel } from './webrtc-linker.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Signalling without a server: peers pass WebRTC signalling messages for each other over the links
 * they already have (`signal_relay`), one hop, and tell each other whom they are linked to (`peers`,
 * peer exchange). So two peers that share a neighbour can link even when the endpoint they met through
 * is gone.
 */
export type SignalRelayEvents = {
  /** A signalling message for us, from `from`, that came through `via`. */
  signal: (via: SignalChannel, from: string, data: Record<string, unknown>) => void;
  /** `via` says it is linked to `peerId`, which listens on TCP at `tcp` (null: no TCP, or unknown where). */
  learned: (via: SignalChannel, peerId: string, tcp: TcpAddress | null) => void;
};

/** Where a node takes TCP connections. */
export type TcpAddress = { host: string; port: number };

type PexEntry = ContentOf<'peers'>['peers'][number];

/**
 * Where a neighbour takes TCP connections, as far as we can tell: its listening port from the
 * handshake, at the address its TCP socket came from (what we saw beats what it says), or else the
 * address it advertised in the handshake.
 */
export function tcpAddressOf(connection: Connection): TcpAddress | null {
  const remote = connection.remote;
  if (!remote?.port) return null;
  const seen = connection.transport.kind === 'tcp' ? connection.transport.remoteAddress : null;
  const host = seen ?? remote.address ?? connection.transport.remoteAddress;
  return host ? { host, port: remote.port } : null;
}

/** Peer-exchange updates are folded for this long, so a burst of links sends one list. */
const PEX_DELAY_MS = 200;

export class SignalRelay extends Emitter<SignalRelayEvents> {
  #peer: Peer;
  #log: Logger;
  #channels = new Map<string, SignalChannel>();
  #pexTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(peer: Peer, log: Logger) {
    super();
    this.#peer = peer;
    this.#log = log;
    peer.handle('signal_relay', (m, c) => this.#onRelay(m.content, c));
    peer.handle('peers', (m, c) => {
      const via = this.channel(c.peerId!);
      for (const info of m.content.peers) {
        if (info.peer_id === peer.id) continue;
        const tcp = info.tcp === true && info.host !== undefined && info.port !== undefined ? { host: info.host, port: info.port } : null;
        this.emit('learned', via, info.peer_id, tcp);
      }
    });
    peer.on('peer:connected', () => this.#schedulePex());
    peer.on('peer:disconnected', () => this.#schedulePex());
  }

  /** The channel that relays through neighbour `viaPeerId`. */
  channel(viaPeerId: string): SignalChannel {
    let channel = this.#channels.get(viaPeerId);
    if (!channel) {
      channel = {
        send: (to, data) =>
          this.#peer
            .connectionTo(viaPeerId)
            ?.send('signal_relay', { content: { from: this.#peer.id, to, data }, priority: 'control' })
            .catch(() => {}),
      };
      this.#channels.set(viaPeerId, channel);
    }
    return channel;
  }

  close(): void {
    if (this.#pexTimer) clearTimeout(this.#pexTimer);
  }

  #onRelay(content: { from: string; to: string; data: Record<string, unknown> }, connection: Connection): void {
    // For us: from a neighbour, or from its neighbour through it; the answer goes back the same way.
    // (A relay could forge these, but the handshake on the link they set up proves both identities.)
    if (content.to === this.#peer.id) return void this.emit('signal', this.channel(connection.peerId!), content.from, content.data);
    // One hop only: we pass on what a neighbour sends in its own name, never a relayed relay.
    if (content.from !== connection.peerId) {
      this.#log.warn({ peer: connection.peerId, from: content.from }, 'dropped a relayed signal: it names another sender');
      return;
    }
    const next = this.#peer.connectionTo(content.to);
    if (!next?.isSwarm) {
      this.#log.debug({ from: content.from, to: content.to }, 'cannot relay a signal: not linked to its target');
      return;
    }
    next.send('signal_relay', { content, priority: 'control' }).catch(() => {});
  }

  /** Tells every swarm neighbour the swarm peers we are linked to (after a short fold). */
  #schedulePex(): void {
    if (this.#pexTimer) return;
    this.#pexTimer = setTimeout(() => {
      this.#pexTimer = null;
      const swarm = this.#peer.primaryConnections().filter((c) => c.isSwarm && c.remote);
      for (const c of swarm) {
        const peers = swarm
          .filter((o) => o !== c)
          .map((o): PexEntry => {
            const tcp = tcpAddressOf(o);
            return {
              peer_id: o.remote!.peerId,
              kind: o.remote!.kind as 'node' | 'browser',
              name: o.remote!.name,
              tcp: tcp !== null,
              ...tcp,
            };
          });
        c.send('peers', { content: { peers } }).catch(() => {});
      }
    }, PEX_DELAY_MS);
    (this.#pexTimer as { unref?: () => void }).unref?.();
  }
}
