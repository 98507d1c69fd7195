import type { Connection } from './connection.ts';
import type { Peer } from './peer.ts';
import { priorityOf } from './priority-queue.ts';
import type { ContentOf, Message, RawEnvelope } from './wire/schema.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Messages across kinds of peer. A node linked to both a swarm peer (browser or node, WebRTC or TCP)
 * and a standard socket peer (TCP only, no discovery) carries chat between them:
 * - a direct message for a peer we are linked to is passed on to it unchanged (same sender_id,
 *   message_id, timestamp; a swarm author's signature stays in it, see message-signature.ts);
 * - a broadcast is passed on to every neighbour but the one it came from and its author; every
 *   receiver drops copies by message_id, so each peer of each kind sees it exactly once;
 * - swarm neighbours are told whom they can reach through us (`reachable`), and we record the peers
 *   our neighbours reach for us that we are not linked to (registry: transport 'relay', via): always
 *   the standard peers (TCP only, no discovery), and swarm peers we have no link of our own to.
 */

type ReachableInfo = ContentOf<'reachable'>['peers'][number];

/** Changes to our links are folded for this long, so a burst of links sends one list. */
const REACHABLE_DELAY_MS = 200;

export class MessageRelay {
  #peer: Peer;
  #log: Logger;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Per neighbour: the peers it last said it is linked to. */
  #reachableVia = new Map<string, ReadonlyMap<string, ReachableInfo>>();

  constructor(peer: Peer, log: Logger) {
    this.#peer = peer;
    this.#log = log;
    peer.handle('reachable', (m, c) => this.#onReachable(c.peerId!, m.content.peers));
    peer.on('peer:connected', () => this.#scheduleReachable());
    peer.on('peer:disconnected', (peerId) => {
      this.#setReachable(peerId, new Map());
      this.#fallBackToRelay(peerId);
      this.#scheduleReachable();
    });
  }

  /** The connection a message for `peerId` leaves on: our own link to it, else the neighbour that reaches it. */
  route(peerId: string): Connection | undefined {
    const direct = this.#peer.connectionTo(peerId);
    if (direct) return direct;
    const record = this.#peer.registry.get(peerId);
    if (record?.transport !== 'relay' || !record.via || record.status !== 'online') return undefined;
    return this.#peer.connectionTo(record.via);
  }

  /** Passes on a direct message addressed to someone else. Returns false when we cannot reach its recipient. */
  forward(message: Message, from: Connection): boolean {
    const next = message.recipient_id ? this.route(message.recipient_id) : undefined;
    // Never back where it came from, and swarm-only types (ack) never to a standard peer.
    if (!next || next === from || (message.type !== 'text' && !next.isSwarm)) {
      this.#log.debug(
        { type: message.type, to: message.recipient_id, from: from.peerId },
        'cannot relay a message: recipient not reachable',
      );
      return false;
    }
    this.#send(next, message);
    this.#log.debug({ type: message.type, to: message.recipient_id, via: next.peerId }, 'relayed a message');
    return true;
  }

  /** Passes a broadcast on to every neighbour except the one it came from and its author. */
  flood(message: Message, from: Connection): void {
    for (const c of this.#peer.primaryConnections()) {
      if (c === from || c.peerId === message.sender_id) continue;
      this.#send(c, message);
    }
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #send(connection: Connection, message: Message): void {
    const envelope = connection.isSwarm ? message.raw : withoutSignature(message.raw);
    connection.sendEnvelope(envelope, priorityOf(message.type)).catch((err) => {
      this.#log.warn(
        { peer: connection.peerId, reason: (err as Error).message },
        'could not relay a message',
      );
    });
  }

  #onReachable(via: string, peers: ReachableInfo[]): void {
    const listed = new Map<string, ReachableInfo>();
    for (const info of peers) if (info.peer_id !== this.#peer.id) listed.set(info.peer_id, info);
    this.#setReachable(via, listed);
    for (const info of listed.values()) this.#recordRelayed(via, info);
  }

  /** Lists a peer as reached through `via`, unless we are linked to it ourselves. */
  #recordRelayed(via: string, info: ReachableInfo): void {
    if (this.#peer.connectionTo(info.peer_id)) return;
    this.#peer.registry.upsert(info.peer_id, {
      kind: info.kind,
      name: info.name ?? null,
      status: 'online',
      transport: 'relay',
      via,
    });
  }

  /** Our own link to `peerId` dropped: a neighbour that still reaches it becomes the way to it. */
  #fallBackToRelay(peerId: string): void {
    for (const [via, listed] of this.#reachableVia) {
      const info = listed.get(peerId);
      if (info && this.#peer.connectionTo(via)) return this.#recordRelayed(via, info);
    }
  }

  /**
   * Replaces what `via` reaches for us (nothing, when it left). Peers it no longer lists go offline,
   * or over to another neighbour that still lists them.
   */
  #setReachable(via: string, listed: ReadonlyMap<string, ReachableInfo>): void {
    const previous = this.#reachableVia.get(via);
    if (listed.size > 0) this.#reachableVia.set(via, listed);
    else this.#reachableVia.delete(via);
    for (const peerId of previous?.keys() ?? []) {
      if (listed.has(peerId)) continue;
      const record = this.#peer.registry.get(peerId);
      if (record?.transport === 'relay' && record.via === via) {
        this.#peer.registry.setStatus(peerId, 'offline');
        this.#fallBackToRelay(peerId);
      }
    }
  }

  /** Tells every swarm neighbour the other peers we are linked to, of every kind (after a short fold). */
  #scheduleReachable(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const connections = this.#peer.primaryConnections().filter((c) => c.remote);
      for (const c of connections) {
        if (!c.isSwarm) continue;
        const peers = connections
          .filter((o) => o !== c)
          .map((o) => ({ peer_id: o.remote!.peerId, kind: o.remote!.kind, name: o.remote!.name }));
        c.send('reachable', { content: { peers } }).catch(() => {});
      }
    }, REACHABLE_DELAY_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}

/** Standard peers get the envelope exactly as the standard protocol shapes it: no swarm signature. */
export function withoutSignature(envelope: RawEnvelope): RawEnvelope {
  const content = envelope.content as Record<string, unknown> | undefined;
  if (!content || !('signature' in content)) return envelope;
  const { signature: _signature, ...rest } = content;
  return { ...envelope, content: rest };
}
