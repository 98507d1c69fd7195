import type { ChunkServer, ServeRequest } from './chunk-server.ts';
import { MAX_QUEUED_REQUESTS_PER_PEER } from './chunk-server.ts';
import type { DownloadStore } from './download-deps.ts';
import type { Library } from './library.ts';
import {
  chunkCount,
  chunkRange,
  DEFAULT_CHUNK_SIZE,
  makeStandardManifest,
  STANDARD_CHUNK_SIZE,
} from './manifest.ts';
import type { RemoteCatalog, RemoteFile } from './remote-catalog.ts';
import type { TransferRecord } from './transfer-record.ts';
import type { Connection } from '../peer/connection.ts';
import type { Peer } from '../peer/peer.ts';
import type { ContentOf } from '../peer/wire/schema.ts';
import type { Logger } from '../util/logger.ts';
import type { TimerHandle, Timers } from '../util/timers.ts';

/**
 * The node as a bridge between standard socket peers (TCP only, standard protocol) and swarm peers
 * (browsers and nodes, WebRTC or TCP):
 *
 * - Offers. A file that only standard peers have is offered to our swarm peers; a file that only
 *   swarm peers have is offered to our standard peers (a 1 MiB standard manifest). The offer names
 *   this node as `owner` and source. A swarm offer says `bridged: true` and carries no content root
 *   (we do not know one), so the requester checks the file by its whole-file SHA-256. Nobody is
 *   offered a file it is itself a source of.
 * - Fetch on demand. The first request for an offered file we do not hold starts our own download
 *   of it (an ordinary transfer, listed in the transfers). Requests wait ("parked") until the bytes
 *   they ask for are verified: at once per piece when the download has chunk hashes verified
 *   against a content root some swarm peer supplied; otherwise only once the whole file has passed
 *   its SHA-256 check and landed in shared_files/. Nothing unverified is ever passed on. A finished
 *   file stays shared by the node, like any download.
 * - A request parked while the fetch fails is answered as the chunk server answers any chunk it
 *   lacks (`chunk_unavailable` to swarm peers; standard peers get silence and time out).
 */
export interface BridgeDeps {
  peer: Peer;
  library: Library;
  catalog: RemoteCatalog;
  server: ChunkServer;
  log: Logger;
  timers: Timers;
  /** Starts our download of a file (throws with a plain reason when it cannot). */
  startFetch(fileId: string): Promise<unknown>;
  /** The store of our download of a file, only while its pieces are verified against chunk hashes. */
  verifiedStore(fileId: string): DownloadStore | null;
  /** Our latest transfer of the file: a running download, or the last record's status. */
  fetchStatus(fileId: string): TransferRecord['status'] | 'none';
}

/** How often parked requests are re-checked against what the fetch holds. */
export const PARKED_CHECK_INTERVAL_MS = 100;
/**
 * After a fetch failed (say every source sent a corrupt file), requests for that file are answered
 * "unavailable" for this long instead of starting the same doomed fetch on every retry. About the
 * standard stall timeout: long enough for the requesters to give up, short enough to retry soon.
 */
export const FAILED_FETCH_HOLD_OFF_MS = 30_000;

interface Parked {
  connection: Connection;
  request: ServeRequest;
}

export class FileBridge {
  #d: BridgeDeps;
  /** `${fileId} ${peerId}`: offers already sent, so a repeated source event sends nothing new. */
  #offered = new Set<string>();
  #parked: Parked[] = [];
  #timer: TimerHandle | null = null;
  /** When a fetch of each file last failed. */
  #failedAt = new Map<string, number>();

  constructor(deps: BridgeDeps) {
    this.#d = deps;
    deps.catalog.on('source', (fileId) => this.offer(fileId));
    deps.peer.on('peer:connected', (_remote, connection) => {
      for (const file of deps.catalog.list()) this.offer(file.fileId, [connection]);
    });
    deps.peer.on('peer:disconnected', (peerId) => {
      for (const key of [...this.#offered]) if (key.endsWith(` ${peerId}`)) this.#offered.delete(key);
      this.#parked = this.#parked.filter((p) => p.connection.peerId !== peerId);
    });
  }

  /** Offers a file known from one kind of peer to the peers of the other kind. */
  offer(fileId: string, connections = this.#d.peer.primaryConnections()): void {
    const file = this.#d.catalog.get(fileId);
    if (!file || this.#d.library.get(fileId)) return;
    const sources = [...file.sources.values()];
    const fromStandard = sources.some((s) => !s.swarm);
    const fromSwarm = sources.some((s) => s.swarm);
    for (const c of connections) {
      const peerId = c.peerId;
      if (!peerId || file.sources.has(peerId) || (c.isSwarm ? !fromStandard : !fromSwarm)) continue;
      const key = offerKey(fileId, peerId);
      if (this.#offered.has(key)) continue;
      this.#offered.add(key);
      c.send('file_manifest', { content: this.#manifestFor(file, c.isSwarm), recipientId: 'omit' }).catch(
        () => {},
      );
      this.#d.log.debug({ file: fileId.slice(0, 12), to: peerId }, 'offered a bridged file');
    }
  }

  /**
   * Takes a chunk request for a file we do not hold, when we can fetch it: returns true when the
   * request is parked (it is answered later), false when the chunk server should answer it now.
   */
  hold(connection: Connection, request: ServeRequest): boolean {
    const { library, catalog } = this.#d;
    // Only what we offered as bridged: a file we merely know of (or whose download was cancelled) is
    // answered by the chunk server as usual, never fetched because someone asked.
    const offered = this.#offered.has(offerKey(request.fileId, connection.peerId ?? ''));
    if (!offered || library.get(request.fileId) || !catalog.get(request.fileId) || this.#servable(request))
      return false;
    const failedAt = this.#failedAt.get(request.fileId);
    if (failedAt !== undefined && this.#d.timers.now() - failedAt < FAILED_FETCH_HOLD_OFF_MS) return false;
    const same = (p: Parked) =>
      p.connection === connection &&
      p.request.fileId === request.fileId &&
      p.request.chunkIndex === request.chunkIndex &&
      p.request.chunkSize === request.chunkSize;
    if (this.#parked.some(same)) return true; // asked again after a timeout: it is already waiting
    if (this.#parked.filter((p) => p.connection === connection).length >= MAX_QUEUED_REQUESTS_PER_PEER) {
      this.#d.log.warn(
        { peer: connection.peerId, limit: MAX_QUEUED_REQUESTS_PER_PEER },
        'dropped a bridged chunk request: too many waiting',
      );
      return true;
    }
    this.#parked.push({ connection, request });
    this.#ensureFetch(request.fileId);
    this.#schedule();
    return true;
  }

  /** The requester no longer wants a parked request (a swarm `cancel`). */
  cancel(connection: Connection, request: ServeRequest): void {
    this.#parked = this.#parked.filter(
      (p) =>
        !(
          p.connection === connection &&
          p.request.fileId === request.fileId &&
          p.request.chunkIndex === request.chunkIndex &&
          p.request.chunkSize === request.chunkSize
        ),
    );
  }

  close(): void {
    if (this.#timer !== null) this.#d.timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#parked = [];
  }

  /** True when our download holds the request's bytes, verified against chunk hashes. */
  #servable(request: ServeRequest): boolean {
    const store = this.#d.verifiedStore(request.fileId);
    if (!store || request.chunkIndex >= chunkCount(store.fileSize, request.chunkSize)) return false;
    // Every piece in: the download is checking the whole file and moving it into the library, and
    // its partial file goes away meanwhile. The request waits and is served from the library.
    if (store.count === store.chunkCount) return false;
    const range = chunkRange(store.fileSize, request.chunkSize, request.chunkIndex);
    return store.hasRange(range.start, range.end - range.start);
  }

  #manifestFor(file: RemoteFile, swarm: boolean): ContentOf<'file_manifest'> {
    const manifest = makeStandardManifest({
      fileId: file.fileId,
      fileName: file.fileName,
      fileSize: file.fileSize,
      owner: this.#d.peer.id,
      chunkSize: swarm ? DEFAULT_CHUNK_SIZE : STANDARD_CHUNK_SIZE,
    });
    return swarm ? { ...manifest, bridged: true } : { ...manifest };
  }

  #ensureFetch(fileId: string): void {
    if (this.#d.fetchStatus(fileId) === 'running' || this.#d.fetchStatus(fileId) === 'pending') return;
    this.#d.log.info({ file: fileId.slice(0, 12) }, 'fetching a bridged file for a peer that asked for it');
    this.#d.startFetch(fileId).catch((err: Error) => {
      this.#d.log.warn({ file: fileId.slice(0, 12), reason: err.message }, 'could not fetch a bridged file');
      this.#failedAt.set(fileId, this.#d.timers.now());
      this.#release(fileId);
    });
  }

  /** Hands every waiting request whose bytes are now verified to the chunk server. */
  #check(): void {
    const waiting: Parked[] = [];
    const statuses = new Map<string, ReturnType<BridgeDeps['fetchStatus']>>(); // one look-up per file per check
    for (const parked of this.#parked) {
      const { fileId } = parked.request;
      const status = statuses.get(fileId) ?? this.#d.fetchStatus(fileId);
      statuses.set(fileId, status);
      const ready = this.#d.library.get(fileId) !== undefined || this.#servable(parked.request);
      // 'completed' but not in the library yet: it is being adopted, a moment away.
      const lost = !ready && (status === 'failed' || status === 'cancelled' || status === 'none');
      if (lost) this.#failedAt.set(fileId, this.#d.timers.now());
      if (ready || lost) this.#d.server.enqueue(parked.connection, parked.request);
      else waiting.push(parked);
    }
    this.#parked = waiting;
  }

  #release(fileId: string): void {
    for (const p of this.#parked.filter((p) => p.request.fileId === fileId))
      this.#d.server.enqueue(p.connection, p.request);
    this.#parked = this.#parked.filter((p) => p.request.fileId !== fileId);
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#d.timers.setTimeout(() => {
      this.#timer = null;
      this.#check();
      if (this.#parked.length > 0) this.#schedule();
    }, PARKED_CHECK_INTERVAL_MS);
  }
}

function offerKey(fileId: string, peerId: string): string {
  return `${fileId} ${peerId}`;
}
