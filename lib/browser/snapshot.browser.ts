/**
 * Keeps the dashboard's snapshot: listens to every part of the peer, marks the snapshot stale, and
 * rebuilds it (once) when the UI asks. Subscribers are told at most every NOTIFY_INTERVAL_MS, so a
 * download's stream of pieces does not re-render the page per piece.
 */
import type { BrowserPeerParts } from './peer-runtime.browser.ts';
import type { Notices } from './notices.ts';
import { plainTransferError } from './notices.ts';
import type { SaveSource } from './save.browser.ts';
import { chatViews, CHAT_VIEW_LIMIT, peerView, sharedViews, swarmViews, transferView } from './view-builder.ts';
import type { HashingFile } from './view-builder.ts';
import type { DashboardView, SelfView } from './view.ts';
import { isActive } from '../transfer/transfer-record.ts';
import type { TransferRecord } from '../transfer/transfer-record.ts';

/** About a screen refresh budget for a busy page: enough for a smooth progress bar. */
const NOTIFY_INTERVAL_MS = 100;
/** Speeds and ETAs move while a transfer runs even when no event fires: refresh this often. */
const TICK_MS = 1_000;
/** How often the storage estimate is refreshed (it costs a call into the browser's quota manager). */
const STORAGE_REFRESH_MS = 10_000;

export class SnapshotKeeper {
  notices: Notices | null = null;
  storagePersisted: boolean | null = null;
  #p: BrowserPeerParts;
  #storage: SelfView['storageUsage'] = null;
  #snapshot: DashboardView | null = null;
  #listeners = new Set<() => void>();
  #notifyTimer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval>;
  #storageTick: ReturnType<typeof setInterval>;
  #hashing = new Map<string, HashingFile>();
  #nextHashKey = 1;
  #pieceSources = new Map<string, Map<number, string>>();
  #off: (() => void)[] = [];

  constructor(parts: BrowserPeerParts) {
    this.#p = parts;
    const changed = () => this.changed();
    const { registry, history, library, transfers, peer } = parts;
    this.#off.push(
      registry.on('change', changed),
      history.on('added', changed),
      history.on('delivered', changed),
      library.on('added', changed),
      library.on('removed', changed),
      transfers.catalog.on('source', changed),
      transfers.catalog.on('source-gone', changed),
      transfers.on('change', changed),
      peer.on('peer:connected', changed),
      peer.on('peer:disconnected', changed),
      transfers.on('pieces', (transferId, pieces, from) => {
        let sources = this.#pieceSources.get(transferId);
        if (!sources) this.#pieceSources.set(transferId, (sources = new Map()));
        for (const piece of pieces) sources.set(piece, from);
        changed();
      }),
    );
    this.#tick = setInterval(() => {
      if (transfers.list().some((t) => isActive(t) && !t.paused)) changed();
    }, TICK_MS);
    this.#storageTick = setInterval(() => void this.refreshStorage(), STORAGE_REFRESH_MS);
  }

  subscribe(onChange: () => void): () => void {
    this.#listeners.add(onChange);
    return () => this.#listeners.delete(onChange);
  }

  changed(): void {
    this.#snapshot = null;
    this.#notifyTimer ??= setTimeout(() => {
      this.#notifyTimer = null;
      for (const listener of this.#listeners) listener();
    }, NOTIFY_INTERVAL_MS);
  }

  async refreshStorage(): Promise<void> {
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    this.#storage = estimate && estimate.quota !== undefined ? { usage: estimate.usage ?? 0, quota: estimate.quota } : null;
    this.changed();
  }

  transferError(reason: string): string {
    return plainTransferError(reason);
  }

  // ---- files being hashed for sharing ----------------------------------------------------------

  startHashing(file: File): string {
    const key = `hashing-${this.#nextHashKey++}`;
    this.#hashing.set(key, { key, name: file.name, size: file.size, progress: 0, error: null });
    this.changed();
    return key;
  }

  hashProgress(key: string, progress: number): void {
    const entry = this.#hashing.get(key);
    if (entry) entry.progress = progress;
    this.changed();
  }

  /** Done: a shared file leaves the list (the library lists it now); a failed one stays to show why. */
  endHashing(key: string, error: string | null): void {
    const entry = this.#hashing.get(key);
    if (entry && error) entry.error = error;
    else this.#hashing.delete(key);
    this.changed();
  }

  /** Removes a hashing entry by its key (unshare of a failed file); false when `key` is not one. */
  dismissHashing(key: string): boolean {
    const removed = this.#hashing.delete(key);
    if (removed) this.changed();
    return removed;
  }

  saveSource(fileId: string): SaveSource | null {
    const entry = this.#p.library.entry(fileId);
    if (!entry) return null;
    if (entry.blob) return { blob: entry.blob };
    return { pieces: this.#p.pieces, fileId, fileSize: entry.size, chunkSize: entry.chunkSize };
  }

  snapshot(): DashboardView {
    this.#snapshot ??= this.#build();
    return this.#snapshot;
  }

  close(): void {
    clearInterval(this.#tick);
    clearInterval(this.#storageTick);
    if (this.#notifyTimer !== null) clearTimeout(this.#notifyTimer);
    for (const off of this.#off) off();
    this.#listeners.clear();
  }

  #build(): DashboardView {
    const { peer, registry, history, library, transfers, bootstrap } = this.#p;
    const ownId = peer.id;
    return {
      self: {
        peerId: ownId,
        name: peer.name ?? '',
        bootstrapUrl: bootstrap.url,
        bootstrapState: bootstrap.state,
        bootstrapError: bootstrap.error,
        storagePersisted: this.storagePersisted,
        storageUsage: this.#storage,
      },
      peers: registry.list().filter((r) => r.peerId !== ownId).map(peerView),
      messages: chatViews(history.list(CHAT_VIEW_LIMIT), ownId),
      shared: sharedViews(library.list(), [...this.#hashing.values()]),
      swarmFiles: swarmViews(transfers.catalog.list(), (fileId) => library.get(fileId) !== undefined),
      transfers: transfers.list().map((record) => this.#transfer(record, ownId)),
      notices: this.notices?.list() ?? [],
    };
  }

  #transfer(record: TransferRecord, ownId: string) {
    const store = this.#p.openStores.get(record.file_id);
    return transferView(record, {
      peers: this.#p.transfers.peers(record.transfer_id),
      pieceSources: this.#pieceSources.get(record.transfer_id),
      held: store && ((index: number) => store.has(index)),
      ownId,
      canSave: record.status === 'completed' && this.#p.library.get(record.file_id) !== undefined,
    });
  }
}
