import { ChunkServer } from './chunk-server.ts';
import { Download } from './download.ts';
import type { DownloadStore } from './download-deps.ts';
import { HashTreeCache } from './hash-tree-cache.ts';
import { HaveBatcher } from './have-batcher.ts';
import type { Hasher } from './hasher.ts';
import type { Library, LocalFile } from './library.ts';
import { chunkCount, DEFAULT_CHUNK_SIZE, makeStandardManifest, STANDARD_CHUNK_SIZE, validateContentInfo, validateStandardManifest } from './manifest.ts';
import { RemoteCatalog } from './remote-catalog.ts';
import type { Source } from './remote-catalog.ts';
import { TokenBucket } from './token-bucket.ts';
import { isActive } from './transfer-record.ts';
import type { TransferPeer, TransferRecord } from './transfer-record.ts';
import type { Connection } from '../peer/connection.ts';
import type { Peer } from '../peer/peer.ts';
import { decodeChunkFrame } from '../peer/wire/chunk-frame.ts';
import type { ContentOf, Message } from '../peer/wire/schema.ts';
import { base64ToBytes, bytesToBase64 } from '../util/base64.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';
import type { RecordStore } from '../util/record-store.ts';
import { SaveCoalescer } from '../util/record-store.ts';
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

export class TransferService extends Emitter<{ change: (record: TransferRecord) => void }> {
  readonly catalog = new RemoteCatalog();
  readonly server: ChunkServer;
  #o: TransferServiceOptions;
  #records = new Map<string, TransferRecord>();
  #downloads = new Map<string, Download>();
  #saver: SaveCoalescer<TransferRecord[]>;
  #trees: HashTreeCache;
  #downloadBucket: TokenBucket;

  constructor(options: TransferServiceOptions) {
    super();
    this.#o = options;
    this.#downloadBucket = new TokenBucket(options.downloadLimit ?? 0, { timers: options.timers });
    this.#trees = new HashTreeCache(options.library, options.hasher);
    this.server = new ChunkServer({
      library: options.library,
      partialStore: (fileId) => this.#downloadOf(fileId)?.store ?? null,
      hasher: options.hasher,
      bucket: new TokenBucket(options.uploadLimit ?? 0, { timers: options.timers }),
      log: options.log,
    });
    this.#saver = new SaveCoalescer(options.records, () => [...this.#records.values()], {
      onError: (err) => options.log.error({ err }, 'could not save transfer records'),
    });
    this.#registerHandlers();
  }

  /** Loads saved records and resumes the downloads that were active. */
  async start(): Promise<void> {
    for (const record of (await this.#o.records.load()) ?? []) {
      this.#records.set(record.transfer_id, record);
      if (isActive(record)) await this.#run(record, []);
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
    return download.peerStats().map((p) => ({
      peer_id: p.peerId,
      bytes: p.bytes,
      chunks: p.chunks,
      speed_bps: Math.round(p.speedBps),
      timeouts: p.timeouts,
      redundant_chunks: p.redundantChunks,
      bad_chunks: p.badChunks,
      banned: p.banned,
      ban_reason: p.banReason ?? null,
    }));
  }

  get activeCount(): number {
    return this.list().filter(isActive).length;
  }

  /** Starts downloading a file some connected peer offers. Throws TransferError with a plain reason. */
  async download(fileId: string): Promise<TransferRecord> {
    if (this.#o.library.get(fileId)) throw new TransferError(`file ${fileId} is already shared by this node`);
    const running = this.#downloadOf(fileId);
    if (running) return running.record;
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

  async cancel(transferId: string): Promise<TransferRecord | undefined> {
    const record = this.#records.get(transferId);
    if (!record) return undefined;
    await this.#downloads.get(transferId)?.cancel();
    if (isActive(record)) record.status = 'cancelled';
    this.#changed(record);
    return record;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#downloads.values()].map((d) => d.suspend()));
    this.#downloads.clear();
    await this.#saver.flush();
  }

  // ---- downloads -------------------------------------------------------------------------------

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
      requestHashes: (peerId, start, count) =>
        send(peerId, (c) => c.send('hashes_request', { content: { file_id: record.file_id, start, count } })),
      onPieces: (pieces) => haves.add(pieces),
      onStatus: () => {
        if (download.finished) haves.flush();
        void this.#onStatus(download).catch((err) =>
          this.#o.log.error({ err, transfer: record.transfer_id }, 'could not finish a download'),
        );
      },
    });
    this.#downloads.set(record.transfer_id, download);
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

  /** Sends our manifest of a shared file: 1 MiB chunks to standard peers, pieces plus root to swarm peers. */
  announce(file: LocalFile, connections = this.#o.peer.primaryConnections()): void {
    for (const c of connections) {
      const manifest = makeStandardManifest({
        fileId: file.fileId,
        fileName: file.name,
        fileSize: file.size,
        owner: this.#o.peer.id,
        chunkSize: c.isSwarm ? file.chunkSize : STANDARD_CHUNK_SIZE,
      });
      const content: ContentOf<'file_manifest'> = c.isSwarm
        ? { ...manifest, swarm_content: { root: file.root, chunk_size: file.chunkSize, hash_count: file.hashCount } }
        : { ...manifest };
      c.send('file_manifest', { content, recipientId: 'omit' }).catch(() => {});
    }
  }

  /** Tells swarm peers we are downloading a file (and what we hold), so they can fetch from us too. */
  #announcePartial(record: TransferRecord, connections = this.#o.peer.primaryConnections()): void {
    const download = this.#downloads.get(record.transfer_id);
    if (!download?.store || !record.content_root) return;
    for (const c of connections.filter((c) => c.isSwarm)) {
      const manifest = makeStandardManifest({
        fileId: record.file_id, fileName: record.file_name, fileSize: record.file_size, owner: this.#o.peer.id, chunkSize: record.chunk_size,
      });
      const content = { ...manifest, partial: true, swarm_content: { root: record.content_root, chunk_size: record.chunk_size, hash_count: record.chunk_count } };
      c.send('file_manifest', { content, recipientId: 'omit' }).catch(() => {});
      const bitfield = bytesToBase64(download.store.bitfield());
      c.send('have', { content: { file_id: record.file_id, chunk_size: record.chunk_size, bitfield } }).catch(() => {});
    }
  }

  #announceHave(record: TransferRecord, pieces: number[]): void {
    if (!record.content_root) return;
    for (const c of this.#o.peer.primaryConnections()) {
      if (c.isSwarm) c.send('have', { content: { file_id: record.file_id, chunk_size: record.chunk_size, indexes: pieces } }).catch(() => {});
    }
  }

  // ---- wire ------------------------------------------------------------------------------------

  #registerHandlers(): void {
    const { peer, library, log } = this.#o;
    peer.on('peer:connected', (_remote, connection) => {
      for (const file of library.list()) this.announce(file, [connection]);
      for (const d of this.#downloads.values()) this.#announcePartial(d.record, [connection]);
    });
    peer.on('peer:disconnected', (peerId) => this.catalog.removePeer(peerId));
    library.on('added', (file) => this.announce(file));
    library.on('removed', (file) => this.server.forget(file.fileId));
    this.catalog.on('source', (fileId, source, fresh) => {
      const d = this.#downloadOf(fileId);
      if (!d) return;
      if (fresh.length) d.onHave(source.peerId, fresh);
      else d.addSource(source);
    });
    this.catalog.on('source-gone', (fileId, peerId) => this.#downloadOf(fileId)?.removeSource(peerId));

    peer.handle('file_manifest', (m, c) => this.#onManifest(m, c));
    peer.handle('file_availability', (m, c) => this.#onAvailability(m, c));
    peer.handle('file_chunk_request', (m, c) => {
      const size = m.content.chunk_size ?? (c.isSwarm ? (library.get(m.content.file_id)?.chunkSize ?? DEFAULT_CHUNK_SIZE) : STANDARD_CHUNK_SIZE);
      this.server.enqueue(c, { fileId: m.content.file_id, chunkIndex: m.content.chunk_index, chunkSize: size });
    });
    peer.handle('cancel', (m, c) =>
      this.server.cancel(c, { fileId: m.content.file_id, chunkIndex: m.content.chunk_index, chunkSize: m.content.chunk_size }),
    );
    peer.handle('file_chunk', async (m, c) => {
      const data = base64ToBytes(m.content.data);
      if (!data) return log.warn({ peer: c.peerId }, 'dropped a file_chunk whose data is not base64');
      await this.#downloadOf(m.content.file_id)?.onChunk(c.peerId!, m.content.chunk_index, null, data);
    });
    peer.handleBinary((frame, c) => {
      const decoded = decodeChunkFrame(frame);
      if (!decoded.ok) return log.warn({ peer: c.peerId, reason: decoded.reason }, 'dropped a binary frame');
      const { fileId, chunkIndex, chunkSize, data } = decoded.frame;
      this.#downloadOf(fileId)
        ?.onChunk(c.peerId!, chunkIndex, chunkSize, data)
        .catch((err) => log.error({ err, peer: c.peerId }, 'could not handle a chunk'));
    });
    peer.handle('hashes_request', async (m, c) => {
      const piece = await this.#trees.piece(m.content.file_id, m.content.start, m.content.count, () =>
        this.#downloadOf(m.content.file_id)?.hashList ?? null,
      );
      if (!piece) return;
      await c.send('hashes', {
        content: { file_id: m.content.file_id, start: piece.start, hashes: bytesToBase64(piece.hashes), proof: bytesToBase64(piece.proof) },
      });
    });
    peer.handle('hashes', async (m, c) => {
      const hashes = base64ToBytes(m.content.hashes);
      const proof = base64ToBytes(m.content.proof);
      if (!hashes || !proof) return;
      await this.#downloadOf(m.content.file_id)?.onHashes(c.peerId!, m.content.start, hashes, proof);
    });
    peer.handle('have', (m, c) => {
      const bitfield = m.content.bitfield === undefined ? null : base64ToBytes(m.content.bitfield);
      this.catalog.addHave(c.peerId!, m.content.file_id, m.content.chunk_size, m.content.indexes ?? [], bitfield);
    });
    peer.handle('chunk_unavailable', (m, c) => {
      log.debug({ peer: c.peerId, file: m.content.file_id, index: m.content.chunk_index }, 'peer cannot serve a chunk');
    });
  }

  #onManifest(m: Message<'file_manifest'>, c: Connection): void {
    const checked = validateStandardManifest(m.content);
    if (!checked.ok) return void this.#o.log.warn({ peer: c.peerId, reason: checked.reason }, 'ignored an invalid manifest');
    let content = null;
    if (c.isSwarm && m.content.swarm_content) {
      const info = validateContentInfo(m.content.swarm_content, checked.manifest.file_size);
      if (!info.ok) return void this.#o.log.warn({ peer: c.peerId, reason: info.reason }, 'ignored a manifest with bad content info');
      content = info.value;
    }
    this.catalog.addManifest(c.peerId!, checked.manifest, { swarm: c.isSwarm, content, partial: c.isSwarm && m.content.partial === true });
  }

  /** A standard peer finished a download: it now holds the file, in the chunk size we announced to it. */
  #onAvailability(m: Message<'file_availability'>, c: Connection): void {
    const remote = this.catalog.get(m.content.file_id);
    const local = this.#o.library.get(m.content.file_id);
    const fileName = remote?.fileName ?? local?.name;
    const fileSize = remote?.fileSize ?? local?.size;
    if (fileName === undefined || fileSize === undefined || c.isSwarm || !m.content.peers.includes(c.peerId!)) return;
    const manifest = makeStandardManifest({ fileId: m.content.file_id, fileName, fileSize, owner: c.peerId!, chunkSize: STANDARD_CHUNK_SIZE });
    this.catalog.addManifest(c.peerId!, manifest, { swarm: false, content: null, partial: false });
  }
}

