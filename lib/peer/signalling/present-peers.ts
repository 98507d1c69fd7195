/**
 * Who is joined to a signalling endpoint right now, under which peer id, and the paged listing of
 * them. One member per peer id: a second join under the same id replaces the first.
 */
import type { SignalPeerInfo } from './messages.ts';

export type PeerPage = { peers: SignalPeerInfo[]; next?: string };

/** Members (a connection object, say) are told apart by identity. */
export class PresentPeers<Member> {
  readonly #pageSize: number;
  readonly #byId = new Map<string, { member: Member; info: SignalPeerInfo }>();

  constructor(pageSize: number) {
    this.#pageSize = pageSize;
  }

  /** Records the member as present; returns the member it replaced under the same id, if any. */
  join(member: Member, info: SignalPeerInfo): Member | undefined {
    const previous = this.#byId.get(info.peer_id)?.member;
    this.#byId.set(info.peer_id, { member, info });
    return previous;
  }

  /**
   * The member is gone: true if it was the one present under its id. A replaced member is not, so its
   * going is not a departure.
   */
  leave(peerId: string, member: Member): boolean {
    if (this.#byId.get(peerId)?.member !== member) return false;
    this.#byId.delete(peerId);
    return true;
  }

  get(peerId: string): Member | undefined {
    return this.#byId.get(peerId)?.member;
  }

  members(): Member[] {
    return [...this.#byId.values()].map((entry) => entry.member);
  }

  infos(): SignalPeerInfo[] {
    return [...this.#byId.values()].map((entry) => entry.info);
  }

  /** A page of the peers after `cursor` but `self`, in id order (so a cursor stays valid as peers come and go). */
  page(cursor: string | undefined, self: string): PeerPage {
    const ids = [...this.#byId.keys()]
      .filter((id) => id !== self && (cursor === undefined || id > cursor))
      .sort();
    const page = ids.slice(0, this.#pageSize);
    const peers = page.map((id) => this.#byId.get(id)!.info);
    return ids.length > page.length ? { peers, next: page.at(-1)! } : { peers };
  }
}
