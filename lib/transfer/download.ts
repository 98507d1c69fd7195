import { Bitfield } from './bitfield.ts';
import { HashFetcher } from './hash-fetcher.ts';
import { judgeChunk } from './chunk-judge.ts';
import { chunkCount, chunkRange } from './manifest.ts';
import type { Source } from './remote-catalog.ts';
import { Scheduler } from './scheduler.ts';
import { stallReason } from './stall-watch.ts';
import type { PeerStats } from './scheduler.ts';
import type { TransferRecord } from './transfer-record.ts';
import type { Logger } from '../util/logger.ts';
import type { TimerHandle } from '../util/timers.ts';
import { MAX_PENDING_WRITE_BYTES, MAX_REQUESTED_BYTES, swarmRequestBytes } from './download-deps.ts';
import type { DownloadDeps, DownloadStore } from './download-deps.ts';

/**
 * One download: asks the scheduler what to request from whom, verifies every chunk before it is
 * written (against the Merkle-verified piece hashes when a swarm peer supplied them; the whole file
 * is always checked against its file_id before it lands), and reports progress in its record.
 */

/** How often the download re-checks timeouts and stalls when nothing else wakes it. */
const TICK_MS = 250;

export class Download {
  readonly record: TransferRecord;
  store: DownloadStore | null = null;
  #deps: DownloadDeps;
  #scheduler: Scheduler | null = null;
  #hashes: HashFetcher | null = null;
  #leaves: Uint8Array | null = null;
  /** Per source: the chunk size we ask it in, and whether it speaks the swarm extension. */
  #sources = new Map<string, { chunkSize: number; swarm: boolean; root: string | null; hasAll: boolean }>();
  #writes = new Set<Promise<void>>();
  #pendingWriteBytes = 0;
  #timer: TimerHandle | null = null;
  #finishing = false;
  #starting = true;
  #paused = false;
  /** Pieces stored in this run after a check against their Merkle-verified leaf. */
  #piecesCheckedByLeaf = 0;
  #log: Logger;

  constructor(record: TransferRecord, deps: DownloadDeps) {
    this.record = record;
    this.#deps = deps;
    this.#log = deps.log.child({ transfer: record.transfer_id, file: record.file_id.slice(0, 12) });
  }

  get pieceSize(): number {
    return this.record.chunk_size;
  }

  /** The piece hashes once all of them were verified against the content root (so they can be passed on). */
  get hashList(): Uint8Array | null {
    return this.#leaves;
  }

  /**
   * The piece hashes of a completed download when every piece was checked against them (and the
   * whole file against its id): the library can record the file without hashing it again. Null
   * otherwise (no swarm source sent them, or some pieces came from an earlier run).
   */
  get verifiedLeaves(): Uint8Array | null {
    const allChecked = this.#piecesCheckedByLeaf === this.record.chunk_count;
    return this.record.status === 'completed' && allChecked ? this.#leaves : null;
  }

  get finished(): boolean {
    const status = this.record.status;
    return status === 'completed' || status === 'failed' || status === 'cancelled';
  }

  async start(sources: Source[]): Promise<void> {
    const { file_id, file_size, content_root } = this.record;
    this.store = await this.#deps.openStore(file_id, file_size, this.pieceSize);
    const held = Bitfield.fromBytes(this.store.bitfield(), this.store.chunkCount);
    this.#scheduler = new Scheduler({
      fileSize: file_size,
      pieceSize: this.pieceSize,
      now: this.#deps.timers.now(),
      have: held,
      stallTimeoutMs: this.#deps.stallTimeoutMs,
    });
    this.#updateProgress();
    if (content_root) {
      this.#hashes = new HashFetcher(content_root, chunkCount(file_size, this.pieceSize), {
        hasher: this.#deps.hasher,
        timers: this.#deps.timers,
        // Seeders first: a peer still downloading can answer only once it holds the whole list itself.
        candidates: () =>
          [...this.#sources]
            .filter(([, s]) => s.swarm && s.root === content_root)
            .sort(([, a], [, b]) => Number(b.hasAll) - Number(a.hasAll))
            .map(([id]) => id),
        request: (peerId, start, count) => this.#deps.requestHashes(peerId, start, count),
        blame: (peerId, reason) => this.#ban(peerId, reason),
      });
    }
    for (const source of sources) this.addSource(source);
    this.#starting = false;
    this.#log.info(
      { resumedPieces: held.count, pieces: held.length, sources: sources.length },
      'download started',
    );
    this.#pump();
  }

  addSource(source: Source): void {
    const scheduler = this.#scheduler;
    if (!scheduler || this.finished || this.#sources.has(source.peerId)) return;
    // Seeders that speak the swarm extension are asked in our own (larger) request size; a partial
    // source and a standard peer in the chunk size they announced, which is what their indexes count.
    const chunkSize = source.swarm && source.hasAll ? this.#seederRequestBytes(source.peerId) : source.chunkSize;
    const added = scheduler.addPeer(source.peerId, { chunkSize, hasAll: source.hasAll });
    if (!added.ok) {
      this.#log.warn({ peer: source.peerId, reason: added.reason }, 'source not used');
      return;
    }
    this.#sources.set(source.peerId, {
      chunkSize,
      swarm: source.swarm,
      root: source.content?.root ?? null,
      hasAll: source.hasAll,
    });
    if (source.have)
      for (let i = 0; i < source.have.length; i++)
        if (source.have.get(i)) scheduler.peerHas(source.peerId, i);
    this.#pump();
  }

  /**
   * The request size for swarm seeders: see SWARM_REQUEST_BYTES, capped so the chunk fits in one
   * frame of that seeder's link. A multiple of the piece size.
   */
  #seederRequestBytes(peerId: string): number {
    return swarmRequestBytes(this.record.file_size, this.pieceSize, this.#deps.maxChunkBytes?.(peerId) ?? Infinity);
  }

  onHave(peerId: string, chunks: number[]): void {
    if (!this.#scheduler || !this.#sources.has(peerId)) return;
    for (const index of chunks) this.#scheduler.peerHas(peerId, index);
    this.#pump();
  }

  /** A swarm peer said it will not send chunk `chunkIndex` (in `chunkSize`) of what we asked it. */
  onUnavailable(peerId: string, chunkIndex: number, chunkSize: number): void {
    const scheduler = this.#scheduler;
    if (!scheduler || this.#sources.get(peerId)?.chunkSize !== chunkSize) return;
    if (scheduler.onUnavailable(peerId, chunkIndex, this.#deps.timers.now())) this.#pump();
  }

  removeSource(peerId: string): void {
    if (!this.#sources.delete(peerId)) return;
    this.#scheduler?.removePeer(peerId, this.#deps.timers.now());
    this.#pump();
  }

  async onHashes(peerId: string, start: number, hashes: Uint8Array, proof: Uint8Array): Promise<void> {
    if (!this.#hashes || this.#leaves) return;
    await this.#hashes.onHashes(peerId, start, hashes, proof);
    if (this.#hashes.done) {
      this.#leaves = this.#hashes.leaves;
      this.#log.debug({}, 'chunk hashes verified against the content root');
    }
    this.#pump();
  }

  /**
   * A chunk arrived from `peerId`: verify, record, store. `chunkSize` is what the sender says it
   * counted in. Settles once its disk writes are done, so the caller may reuse `data`'s buffer then.
   */
  async onChunk(
    peerId: string,
    chunkIndex: number,
    chunkSize: number | null,
    data: Uint8Array,
  ): Promise<void> {
    const scheduler = this.#scheduler;
    const source = this.#sources.get(peerId);
    if (!scheduler || !source || this.finished) return;
    const now = this.#deps.timers.now();
    const { verdict, reason, checkedByLeaf } = await judgeChunk({
      fileSize: this.record.file_size,
      pieceSize: this.pieceSize,
      sourceChunkSize: source.chunkSize,
      chunkIndex,
      claimedChunkSize: chunkSize,
      expectedBytes: scheduler.expectedChunkBytes(peerId, chunkIndex),
      data,
      leaves: this.#leaves,
      hasher: this.#deps.hasher,
    });
    if (verdict !== 'ok') this.#log.warn({ peer: peerId, reason }, 'rejected a chunk');
    const result = scheduler.onChunk(peerId, chunkIndex, now, verdict);
    if (result.banned)
      this.#log.warn({ peer: peerId, reason: result.banned }, 'peer banned for this transfer');
    for (const request of result.cancel) {
      const target = this.#sources.get(request.peerId);
      if (target?.swarm) this.#deps.sendCancel(request.peerId, request.chunkIndex, target.chunkSize);
    }
    if (result.accepted.length) {
      if (!this.record.peers_used.includes(peerId)) this.record.peers_used.push(peerId);
      if (checkedByLeaf) this.#piecesCheckedByLeaf += result.accepted.length;
      const chunkStart = chunkRange(this.record.file_size, source.chunkSize, chunkIndex).start;
      for (const piece of result.accepted) {
        const range = chunkRange(this.record.file_size, this.pieceSize, piece);
        this.#track(
          this.store!.write(piece, data.subarray(range.start - chunkStart, range.end - chunkStart)),
          range.end - range.start,
        );
      }
      // MAX_PENDING_WRITE_BYTES bounds the backlog (ChunkStore.writesInBatches says why).
      if (this.store!.writesInBatches) this.#pump();
      await Promise.all(this.#writes);
      this.#updateProgress();
      this.#deps.onPieces(result.accepted, peerId);
    }
    this.#pump();
  }

  peerStats(): PeerStats[] {
    return this.#scheduler?.stats().peers ?? [];
  }

  async cancel(): Promise<void> {
    if (this.finished) return;
    this.#setStatus('cancelled', null);
    this.#stopTimer();
    await Promise.allSettled(this.#writes);
    await this.store?.discard();
  }

  /**
   * Stops asking: requests in flight are withdrawn and cancelled at swarm peers; what still arrives
   * is taken (late answers). `resume` asks again, from `sources` too (peers that came meanwhile).
   */
  pause(): void {
    this.#paused = true;
    this.#stopTimer();
    for (const request of this.#scheduler?.withdrawAll() ?? []) {
      const source = this.#sources.get(request.peerId);
      if (source?.swarm) this.#deps.sendCancel(request.peerId, request.chunkIndex, source.chunkSize);
    }
  }

  resume(sources: Source[]): void {
    this.#paused = false;
    for (const source of sources) this.addSource(source);
    this.#pump();
  }

  /** Stops without changing the record (node shutdown): the partial file stays for a resume. */
  async suspend(): Promise<void> {
    this.#stopTimer();
    this.#finishing = true;
    await Promise.allSettled(this.#writes);
    await this.store?.close();
  }

  #track(write: Promise<void>, bytes: number): void {
    const tracked = write.catch((err: Error & { code?: string }) => {
      const reason =
        err.code === 'DISK_FULL'
          ? `disk full while writing: ${err.message}`
          : `could not write: ${err.message}`;
      this.#guard(this.#fail(reason));
    });
    this.#writes.add(tracked);
    this.#pendingWriteBytes += bytes;
    void tracked.finally(() => {
      this.#writes.delete(tracked);
      const wasHeld = this.#pendingWriteBytes >= MAX_PENDING_WRITE_BYTES;
      this.#pendingWriteBytes -= bytes;
      if (wasHeld && this.#pendingWriteBytes < MAX_PENDING_WRITE_BYTES) this.#pump();
    });
  }

  /** Background work must never become an unhandled rejection (it would end the process). */
  #guard(work: Promise<void>): void {
    work.catch((err) => this.#log.error({ err }, 'download bookkeeping failed'));
  }

  #ban(peerId: string, reason: string): void {
    this.#log.warn({ peer: peerId, reason }, 'peer banned for this transfer');
    this.#scheduler?.banPeer(peerId, reason, this.#deps.timers.now());
  }

  #pump(): void {
    const scheduler = this.#scheduler;
    if (!scheduler || this.finished || this.#finishing || this.#starting || this.#paused) return;
    const now = this.#deps.timers.now();
    // A timed-out request may still sit in the peer's queue: a swarm peer is told to drop it, so it
    // does not spend its upload on a piece that is being fetched elsewhere.
    for (const request of scheduler.onTimeouts(now)) {
      const source = this.#sources.get(request.peerId);
      if (source?.swarm) this.#deps.sendCancel(request.peerId, request.chunkIndex, source.chunkSize);
    }
    if (this.#hashes && !this.#leaves && !this.#hashes.pump(now)) {
      this.#log.info({}, 'no peer can send the chunk hashes; verifying by the whole-file hash only');
      this.#hashes = null;
    }
    const hashesReady = !this.#hashes || this.#leaves;
    if (hashesReady && this.#pendingWriteBytes < MAX_PENDING_WRITE_BYTES) this.#request(now);
    const state = scheduler.state(now);
    if (state === 'complete') return this.#guard(this.#complete());
    if (state === 'stalled') return this.#guard(this.#fail(stallReason(this.peerStats(), this.#deps.stallTimeoutMs)));
    const status = this.#sources.size > 0 ? 'running' : 'pending';
    if (this.record.status !== status) this.#setStatus(status, null);
    this.#schedule();
  }

  #request(now: number): void {
    const bucket = this.#deps.bucket;
    if (bucket.available() <= 0) return;
    if (this.#scheduler!.requestedBytes >= MAX_REQUESTED_BYTES) return;
    for (const request of this.#scheduler!.nextRequests(now)) {
      const source = this.#sources.get(request.peerId);
      if (!source) continue;
      bucket.consume(request.bytes);
      this.#deps.sendRequest(request.peerId, request.chunkIndex, source.chunkSize);
    }
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#deps.timers.setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, TICK_MS);
  }

  #stopTimer(): void {
    if (this.#timer !== null) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #complete(): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#stopTimer();
    await Promise.all(this.#writes);
    if (this.finished) return;
    try {
      this.record.destination = await this.store!.finalize(this.record.file_name);
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason =
        e.code === 'HASH_MISMATCH'
          ? `the assembled file does not match its SHA-256 file id (${e.message}); ` +
            (this.#leaves
              ? 'a source sent bad data'
              : 'standard peers send no chunk hashes, so the bad source cannot be singled out')
          : `could not finish the file: ${e.message}`;
      if (e.code === 'HASH_MISMATCH') await this.store!.discard();
      this.#finishing = false;
      return void this.#fail(reason);
    }
    this.#updateProgress();
    this.record.completed_at = this.#deps.timers.now() / 1000;
    this.#log.info(
      { destination: this.record.destination, peers: this.record.peers_used.length },
      'download complete',
    );
    this.#setStatus('completed', null);
  }

  async #fail(reason: string): Promise<void> {
    if (this.finished) return;
    this.#stopTimer();
    this.#log.warn({ reason }, 'download failed');
    this.#setStatus('failed', reason);
    this.#finishing = true;
    await Promise.allSettled(this.#writes);
    await this.store?.close().catch(() => {});
  }

  #setStatus(status: TransferRecord['status'], error: string | null): void {
    this.record.status = status;
    this.record.error = error;
    this.#deps.onStatus();
  }

  #updateProgress(): void {
    const store = this.store;
    if (!store) return;
    this.record.chunks_completed = store.count;
    // Every held piece is full-size except the last, which is short by what the file lacks.
    const lastShortfall = store.chunkCount * this.pieceSize - this.record.file_size;
    this.record.bytes_received =
      store.count * this.pieceSize - (store.has(store.chunkCount - 1) ? lastShortfall : 0);
  }
}
