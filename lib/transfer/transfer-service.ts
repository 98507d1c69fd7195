import { FileBridge } from './bridge.ts';
import { announceFile, announceHave, announcePartial } from './announce.ts';
import { ChunkServer } from './chunk-server.ts';
import { Download } from './download.ts';
import type { DownloadStore } from './download-deps.ts';
import { HashTreeCache } from './hash-tree-cache.ts';
import { HaveBatcher } from './have-batcher.ts';
import type { Hasher } from './hasher.ts';
import type { Library, LocalFile } from './library.ts';
import { chunkCount } from './manifest.ts';
import { RemoteCatalog, type Source } from './remote-catalog.ts';
import { TokenBucket } from './token-bucket.ts';
import { isActive, toTransferPeer } from './transfer-record.ts';
import { registerTransferHandlers } from './transfer-wire.ts';
import type { TransferPeer, TransferRecord } from './transfer-record.ts';
import type { Connection } from '../peer/connection.ts';
import type { Peer } from '../peer/peer.ts';
import { CHUNK_FRAME_HEADER_BYTES } from '../peer/wire/chunk-frame.ts';
import type { ContentOf } from '../peer/wire/schema.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';
import { SaveCoalescer, type RecordStore } from '../util/record-store.ts';
import type { Timers } from '../util/timers.ts';
import { uuid4 } from '../util/uuid.ts';

/**
 * Files across the swarm: announces what the library shares, keeps the catalog of what peers offer,
 * runs downloads, serves chunks and hashes, and persists transfer records so downloads resume after
 * a restart. Isomorphic: storage and the library are passed in.
 */
export interface TransferServiceOptions {
  peer: Peer;
  library: Library;
  hasher: Hasher;
  log: Logger;
  timers: Timers;
  records: RecordStore<TransferRecord[]>;
  openStore(fileId: string, fileSize: number, pieceSize: number): Promise<DownloadStore>;
  /**
   * Makes a finished download part of the library (it was moved into shared_files/ already). `known`
   * comes with a download whose every piece was checked against Merkle-verified leaves: the library
   * need not hash the file again.
   */
  adopt(record: TransferRecord, known?: VerifiedFileHashes): Promise<LocalFile | void>;
  /**
   * false (--no-reshare): what this node downloads is never offered to others: no partial manifests,
   * no `have`, no `file_availability`, and no chunk of a running download is served. Default true.
   */
  reshare?: boolean;
  uploadLimit?: number;
  downloadLimit?: number;
  stallTimeoutMs?: number;
}

/** The hashes a completed download verified its file with. */
export interface VerifiedFileHashes {
  fileId: string;
  root: string;
  leaves: Uint8Array;
  chunkSize: number;
}

export class TransferError extends Error {}

export type TransferServiceEvents = {
  change: (record: TransferRecord) => void;
  /** Pieces of a download verified and stored, and who sent them (the dashboard's chunk map). */
  pieces: (transferId: string, pieces: number[], fromPeerId: string) => void;
};

export class TransferService extends Emitter<TransferServiceEvents> {
  readonly catalog = new RemoteCatalog();
  readonly server: ChunkServer;
  /** Passes files between standard and swarm peers; null with --no-reshare (bridging is resharing). */
  readonly bridge: FileBridge | null;
  #o: TransferServiceOptions;
  #records = new Map<string, TransferRecord>();
  #downloads = new Map<string, Download>();
  #saver: SaveCoalescer<TransferRecord[]>;
  #downloadBucket: TokenBucket;

  constructor(options: TransferServiceOptions) {
    super();
    this.#o = options;
    this.#downloadBucket = new TokenBucket(options.downloadLimit ?? 0, { timers: options.timers });
    this.server = new ChunkServer({
      library: options.library,
      partialStore: (fileId) => (options.reshare === false ? null : this.#verifiedStore(fileId)),
      hasher: options.hasher,
      bucket: new TokenBucket(options.uploadLimit ?? 0, { timers: options.timers }),
      timers: options.timers,
      log: options.log,
    });
    this.bridge = options.reshare === false ? null : new FileBridge({
      ...options, catalog: this.catalog, server: this.server,
      startFetch: (fileId) => this.download(fileId),
      verifiedStore: (fileId) => this.#verifiedStore(fileId),
      fetchStatus: (fileId) => this.#downloadOf(fileId)?.record.status ?? this.list().find((r) => r.file_id === fileId)?.status ?? 'none',
    });
    this.#saver = new SaveCoalescer(options.records, () => [...this.#records.values()], {
      onError: (err) => options.log.error({ err }, 'could not save transfer records'),
    });
    registerTransferHandlers({
      peer: options.peer,
      library: options.library,
      log: options.log,
      catalog: this.catalog,
      server: this.server,
      bridge: this.bridge,
      trees: new HashTreeCache(options.library, options.hasher),
      reshare: options.reshare !== false,
      downloadOf: (fileId) => this.#downloadOf(fileId),
      greet: (connection) => this.#greet(connection),
      announce: (file) => this.announce(file),
    });
  }

  /** Loads saved records and resumes the downloads that were active. */
  async start(): Promise<void> {
    for (const record of (await this.#o.records.load()) ?? []) {
      this.#records.set(record.transfer_id, record);
      if (isActive(record) && !record.paused) await this.#run(record, []);
    }
  }

  list(): TransferRecord[] {
    return [...this.#records.values()].sort((a, b) => b.started_at - a.started_at);
  }

  get(transferId: string): TransferRecord | undefined {
    return this.#records.get(transferId);
  }

  /** Per-peer figures: live while the download runs, the final totals after. */
  peers(transferId: string): TransferPeer[] {
    const download = this.#downloads.get(transferId);
    if (!download) return this.#records.get(transferId)?.peer_totals ?? [];
    return download.peerStats().map(toTransferPeer);
  }

  get activeCount(): number {
    return this.list().filter(isActive).length;
  }

  /** Starts downloading a file some connected peer offers. Throws TransferError with a plain reason. */
  async download(fileId: string): Promise<TransferRecord> {
    if (this.#o.library.get(fileId)) throw new TransferError(`file ${fileId} is already shared by this node`);
    const running = this.#downloadOf(fileId);
    if (running) return running.record;
    const paused = this.list().find((r) => r.file_id === fileId && r.paused && isActive(r));
    if (paused) return (await this.resume(paused.transfer_id))!;
    const remote = this.catalog.get(fileId);
    const sources = remote ? [...remote.sources.values()] : [];
    if (!remote || sources.length === 0) throw new TransferError(`no connected peer has file ${fileId}`);
    const content = sources.find((s) => s.content)?.content ?? null;
    const pieceSize = content?.chunk_size ?? Math.min(...sources.map((s) => s.chunkSize));
    const record: TransferRecord = {
      transfer_id: uuid4(),
      file_id: fileId,
      file_name: remote.fileName,
      file_size: remote.fileSize,
      chunk_size: pieceSize,
      chunk_count: chunkCount(remote.fileSize, pieceSize),
      destination: null,
      started_at: this.#o.timers.now() / 1000,
      completed_at: null,
      status: 'pending',
      bytes_received: 0,
      chunks_completed: 0,
      peers_used: [],
      error: null,
      content_root: content?.root ?? null,
    };
    this.#records.set(record.transfer_id, record);
    await this.#run(record, sources);
    return record;
  }

  /**
   * Stops requesting, keeping what is stored; the record stays active (and `paused`) so `resume`
   * continues where it stopped, after a restart too (a paused download is not started then).
   */
  async pause(transferId: string): Promise<TransferRecord | undefined> {
    const record = this.#records.get(transferId);
    if (!record || !isActive(record) || record.paused) return record;
    record.paused = true;
    this.#downloads.get(transferId)?.pause();
    this.#changed(record);
    return record;
  }

  async resume(transferId: string): Promise<TransferRecord | undefined> {
    const record = this.#records.get(transferId);
    if (!record || !record.paused) return record;
    record.paused = false;
    const download = this.#downloads.get(transferId);
    download?.resume([...(this.catalog.get(record.file_id)?.sources.values() ?? [])]);
    if (!download && isActive(record)) await this.#run(record, []); // paused before a restart
    else this.#changed(record);
    return record;
  }

  async cancel(transferId: string): Promise<TransferRecord | undefined> {
    const record = this.#records.get(transferId);
    if (!record) return undefined;
    if (record.paused && !this.#downloads.has(transferId)) {
      // Paused since before a restart, it holds no open store: open it once more to throw its pieces away.
      await (await this.#o.openStore(record.file_id, record.file_size, record.chunk_size)).discard().catch(() => {});
    }
    record.paused = false;
    await this.#downloads.get(transferId)?.cancel();
    if (isActive(record)) record.status = 'cancelled';
    this.#changed(record);
    return record;
  }

  async close(): Promise<void> {
    this.bridge?.close();
    await Promise.all([...this.#downloads.values()].map((d) => d.suspend()));
    this.#downloads.clear();
    // A save that fails here (a full disk) is logged by the saver's onError: shutting down goes on.
    await this.#saver.flush().catch((err: Error) => this.#o.log.error({ err }, 'could not save transfer records on close'));
  }

  // ---- downloads -------------------------------------------------------------------------------

  /**
   * The store of a download in progress, only when its pieces were checked against chunk hashes
   * (Merkle-verified): without them a piece is unverified until the whole-file check, and is not
   * passed on.
   */
  #verifiedStore(fileId: string): DownloadStore | null {
    const download = this.#downloadOf(fileId);
    return download?.hashList ? download.store : null;
  }

  #downloadOf(fileId: string): Download | undefined {
    for (const d of this.#downloads.values()) if (d.record.file_id === fileId && !d.finished) return d;
    return undefined;
  }

  async #run(record: TransferRecord, sources: Source[]): Promise<void> {
    const peer = this.#o.peer;
    const send = (peerId: string, fn: (c: Connection) => Promise<unknown>) => {
      const c = peer.connectionTo(peerId);
      if (c) fn(c).catch(() => {});
    };
    const haves = new HaveBatcher(this.#o.timers, (pieces) => this.#announceHave(record, pieces));
    const download = new Download(record, {
      hasher: this.#o.hasher,
      log: this.#o.log,
      timers: this.#o.timers,
      bucket: this.#downloadBucket,
      stallTimeoutMs: this.#o.stallTimeoutMs ?? 30_000,
      openStore: this.#o.openStore,
      sendRequest: (peerId, chunkIndex, chunkSize) =>
        send(peerId, (c) => {
          const content: ContentOf<'file_chunk_request'> = { file_id: record.file_id, chunk_index: chunkIndex };
          if (c.isSwarm) content.chunk_size = chunkSize;
          return c.send('file_chunk_request', { content });
        }),
      sendCancel: (peerId, chunkIndex, chunkSize) =>
        send(peerId, (c) => c.send('cancel', { content: { file_id: record.file_id, chunk_index: chunkIndex, chunk_size: chunkSize } })),
      maxChunkBytes: (peerId) => {
        const link = peer.connectionTo(peerId)?.transport;
        return link ? link.maxFrameBytes - CHUNK_FRAME_HEADER_BYTES : null;
      },
      requestHashes: (peerId, start, count) =>
        send(peerId, (c) => c.send('hashes_request', { content: { file_id: record.file_id, start, count } })),
      onPieces: (pieces, fromPeerId) => {
        haves.add(pieces);
        this.emit('pieces', record.transfer_id, pieces, fromPeerId);
      },
      onStatus: () => {
        if (download.finished) haves.flush();
        void this.#onStatus(download).catch((err) =>
          this.#o.log.error({ err, transfer: record.transfer_id }, 'could not finish a download'),
        );
      },
    });
    this.#downloads.set(record.transfer_id, download);
    // On disk before the first byte: a tab reloaded (or a node killed) moments after the click
    // must find the download again, not lose it to the save delay.
    await this.#saver.saveNow().catch((err: Error) => this.#o.log.error({ err }, 'could not save transfer records'));
    try {
      await download.start(sources.length ? sources : [...(this.catalog.get(record.file_id)?.sources.values() ?? [])]);
    } catch (err) {
      record.status = 'failed';
      record.error = `could not start: ${(err as Error).message}`;
      this.#downloads.delete(record.transfer_id);
      this.#o.log.warn({ transfer: record.transfer_id, reason: record.error }, 'download failed');
    }
    this.#announcePartial(record);
    this.#changed(record);
  }

  async #onStatus(download: Download): Promise<void> {
    const record = download.record;
    this.#changed(record);
    if (!download.finished) return;
    record.peer_totals = this.peers(record.transfer_id).map((p) => ({ ...p, speed_bps: 0 }));
    this.#downloads.delete(record.transfer_id);
    if (record.status === 'completed') {
      const leaves = download.verifiedLeaves;
      const known =
        leaves && record.content_root
          ? { fileId: record.file_id, root: record.content_root, leaves, chunkSize: record.chunk_size }
          : undefined;
      await this.#o.adopt(record, known);
      if (this.#o.reshare === false) return;
      // Standard peers learn from file_availability that this node now holds the file.
      for (const c of this.#o.peer.primaryConnections()) {
        if (!c.isSwarm) c.send('file_availability', { content: { file_id: record.file_id, peers: [this.#o.peer.id] }, recipientId: 'omit' }).catch(() => {});
      }
    }
  }

  #changed(record: TransferRecord): void {
    this.#saver.scheduleSave();
    this.emit('change', record);
  }

  // ---- announcements ---------------------------------------------------------------------------

  /** Sends our manifest of a shared file to `connections` (every connected peer by default). */
  announce(file: LocalFile, connections = this.#o.peer.primaryConnections()): void {
    announceFile(this.#o.peer.id, file, connections);
  }

  #announcePartial(record: TransferRecord, connections = this.#o.peer.primaryConnections()): void {
    if (this.#o.reshare === false) return;
    const store = this.#downloads.get(record.transfer_id)?.store;
    if (store) announcePartial(this.#o.peer.id, record, store, connections);
  }

  #announceHave(record: TransferRecord, pieces: number[]): void {
    const store = this.#downloads.get(record.transfer_id)?.store;
    if (this.#o.reshare !== false && store) announceHave(record, store, pieces, this.#o.peer.primaryConnections());
  }

  /** Tells a peer that just connected what this node shares and what its running downloads have. */
  #greet(connection: Connection): void {
    for (const file of this.#o.library.list()) this.announce(file, [connection]);
    for (const d of this.#downloads.values()) this.#announcePartial(d.record, [connection]);
  }
}
