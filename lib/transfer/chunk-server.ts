import type { DownloadStore } from './download-deps.ts';
import type { Hasher } from './hasher.ts';
import type { Library } from './library.ts';
import { chunkCount, chunkRange } from './manifest.ts';
import type { TokenBucket } from './token-bucket.ts';
import { UploadOrder, type QueuedChunk } from './upload-order.ts';
import type { Connection } from '../peer/connection.ts';
import { CHUNK_FRAME_HEADER_BYTES, encodeChunkFrame, writeChunkFrameHeader } from '../peer/wire/chunk-frame.ts';
import { framePool } from '../peer/wire/frame-pool.ts';
import { bytesToBase64 } from '../util/base64.ts';
import { HASH_BYTES } from './hasher.ts';
import { bytesEqual } from '../util/bytes.ts';
import type { Logger } from '../util/logger.ts';
import type { Timers } from '../util/timers.ts';

/**
 * Answers chunk requests: from a complete shared file (each piece checked against its hash before
 * it leaves, so a file changed on disk is never served as if it were the indexed one) or from a
 * download in progress (its pieces were verified when they were stored). Swarm peers get binary
 * chunk frames; standard peers base64 `file_chunk` messages in the chunk size we announced to them.
 *
 * One queue per connection keeps a flood of requests from one peer bounded and answers in request
 * order; under an upload cap, the request sent next across all connections is the least-sent one
 * (upload-order.ts: a capped seeder spreads distinct pieces through a swarm first). Within a queue, up to MAX_READS_AHEAD requests (and READ_AHEAD_BYTES) are read and verified at
 * once while earlier ones are sent, so the disk, the hashing and the socket overlap instead of
 * taking turns; sending awaits the connection's back-pressure, which holds the read-ahead too.
 */
export const MAX_QUEUED_REQUESTS_PER_PEER = 512;
/** Requests of one peer read and verified ahead of the one being sent. */
export const MAX_READS_AHEAD = 6;
/** ... and no more bytes than this read ahead per peer (one request always may be, whatever its size). */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

export interface ServeRequest {
  fileId: string;
  chunkIndex: number;
  chunkSize: number;
}

export interface ChunkServerDeps {
  library: Library;
  /** The store of a download in progress for this file, if any. */
  partialStore(fileId: string): DownloadStore | null;
  hasher: Hasher;
  bucket: TokenBucket;
  timers?: Timers;
  log: Logger;
}

/** A request's verified bytes, and for a swarm peer the frame that carries them. */
interface Prepared {
  data: Uint8Array;
  frame: Uint8Array | null;
}

/** A queued request: waiting, or with its read started (`prepared`). */
interface Queued extends QueuedChunk {
  request: ServeRequest;
  prepared: Promise<Prepared | null> | null;
  cancelled: boolean;
}

interface PeerQueue {
  /** Requests not read yet, in request order. */
  waiting: Queued[];
  /** Reads started, in request order. */
  started: Queued[];
  startedBytes: number;
  running: boolean;
  /** A flood over MAX_QUEUED_REQUESTS_PER_PEER is logged once, not once per dropped request. */
  floodLogged: boolean;
}

export class ChunkServer {
  #deps: ChunkServerDeps;
  #queues = new Map<Connection, PeerQueue>();
  #leafCache = new Map<string, Uint8Array>();
  /** Which queued request goes out next, across connections (least-sent first under a cap). */
  #order: UploadOrder;
  bytesServed = 0;

  constructor(deps: ChunkServerDeps) {
    this.#deps = deps;
    this.#order = new UploadOrder(deps.bucket, deps.timers);
  }

  enqueue(connection: Connection, request: ServeRequest): void {
    let queue = this.#queues.get(connection);
    if (!queue) {
      queue = { waiting: [], started: [], startedBytes: 0, running: false, floodLogged: false };
      this.#queues.set(connection, queue);
      connection.once('close', () => {
        this.#queues.delete(connection);
        this.#order.forgetPeer(connection);
      });
    }
    if (queue.waiting.length + queue.started.length >= MAX_QUEUED_REQUESTS_PER_PEER) {
      if (!queue.floodLogged) {
        const reason = `${MAX_QUEUED_REQUESTS_PER_PEER} requests of this peer are queued already`;
        this.#deps.log.warn({ peer: connection.peerId, limit: MAX_QUEUED_REQUESTS_PER_PEER, reason }, 'dropping chunk requests: too many queued');
      }
      queue.floodLogged = true;
      return;
    }
    // A new episode once the queue has drained to half: a steady flood is logged once.
    if (queue.waiting.length + queue.started.length < MAX_QUEUED_REQUESTS_PER_PEER / 2) queue.floodLogged = false;
    queue.waiting.push({ ...request, request, bytes: this.#answerBytes(request), prepared: null, cancelled: false });
    if (!queue.running) void this.#drain(connection, queue);
  }

  cancel(connection: Connection, request: ServeRequest): void {
    const queue = this.#queues.get(connection);
    if (!queue) return;
    const same = (r: ServeRequest) =>
      r.fileId === request.fileId && r.chunkIndex === request.chunkIndex && r.chunkSize === request.chunkSize;
    queue.waiting = queue.waiting.filter((q) => !same(q.request));
    // Already being read: the read finishes (it cannot be stopped) but nothing is sent.
    for (const started of queue.started) if (same(started.request)) started.cancelled = true;
  }

  /** Forgets cached piece hashes of a file that is no longer shared. */
  forget(fileId: string): void {
    this.#leafCache.delete(fileId);
    this.#order.forget(fileId);
  }

  async #drain(connection: Connection, queue: PeerQueue): Promise<void> {
    queue.running = true;
    try {
      for (;;) {
        this.#readAhead(queue);
        const next = await this.#order.turn(connection, connection.isSwarm, () => this.#sendable(connection, queue));
        if (!next) {
          if (connection.state === 'closed' || queue.waiting.length === 0) return;
          continue; // a request came after the order found none
        }
        if (next.prepared === null) this.#start(queue, next, queue.waiting.indexOf(next));
        queue.started.splice(queue.started.indexOf(next), 1);
        const prepared = await next.prepared!;
        queue.startedBytes -= next.bytes;
        if (next.cancelled) {
          if (prepared?.frame) framePool.release(prepared.frame);
          continue;
        }
        this.#readAhead(queue); // refill while this one is sent
        await this.#send(connection, next.request, prepared);
      }
    } finally {
      queue.running = false;
    }
  }

  /** What this connection may send now: its requests, oldest first (none once it closed). */
  #sendable(connection: Connection, queue: PeerQueue): Queued[] {
    if (connection.state === 'closed') return [];
    // A cancelled read is no longer counted: it ends on its own and nothing is sent.
    for (const started of queue.started) if (started.cancelled) queue.startedBytes -= started.bytes;
    queue.started = queue.started.filter((started) => !started.cancelled);
    return [...queue.started, ...queue.waiting];
  }

  #readAhead(queue: PeerQueue): void {
    while (
      queue.waiting.length > 0 &&
      queue.started.length < MAX_READS_AHEAD &&
      (queue.started.length === 0 || queue.startedBytes < READ_AHEAD_BYTES)
    ) {
      this.#start(queue, queue.waiting[0]!, 0);
    }
  }

  /** Starts reading the waiting request at `index`. */
  #start(queue: PeerQueue, queued: Queued, index: number): void {
    queue.waiting.splice(index, 1);
    const { request } = queued;
    queued.prepared = this.#prepare(request).catch((err: Error) => {
      this.#deps.log.warn({ file: request.fileId, reason: err.message }, 'cannot serve a chunk');
      return null;
    });
    queue.started.push(queued);
    queue.startedBytes += queued.bytes;
  }

  /** Bytes the answer to `request` carries (its chunk size when the file is unknown: it is not served then). */
  #answerBytes(request: ServeRequest): number {
    const size = this.#deps.library.get(request.fileId)?.size ?? this.#deps.partialStore(request.fileId)?.fileSize;
    if (size === undefined || request.chunkIndex >= chunkCount(size, request.chunkSize)) return request.chunkSize;
    const range = chunkRange(size, request.chunkSize, request.chunkIndex);
    return range.end - range.start;
  }

  /** Sends a request whose bytes the upload order has already taken from the bucket. */
  async #send(connection: Connection, request: ServeRequest, prepared: Prepared | null): Promise<void> {
    if (!prepared) {
      // The reference peer stays silent; swarm peers are told, so they can ask someone else at once.
      if (connection.isSwarm) {
        connection
          .send('chunk_unavailable', {
            content: { file_id: request.fileId, chunk_index: request.chunkIndex, chunk_size: request.chunkSize },
          })
          .catch(() => {});
      }
      return;
    }
    const { data } = prepared;
    try {
      if (connection.isSwarm) {
        await connection.sendFrame(prepared.frame ?? encodeChunkFrame({ ...request, data }), 'bulk');
      } else {
        await connection.send('file_chunk', {
          content: { file_id: request.fileId, chunk_index: request.chunkIndex, data: bytesToBase64(data) },
        });
      }
      if (prepared.frame) framePool.release(prepared.frame); // sent: the transport holds it no more
      this.bytesServed += data.byteLength;
    } catch {
      // The connection closed while sending: nothing to do, the requester will ask elsewhere.
    }
  }

  /**
   * The verified bytes of a request, or null when we do not have them. From a shared file they are
   * read straight into the frame that will carry them (no copy), when the request covers whole pieces.
   */
  async #prepare(request: ServeRequest): Promise<Prepared | null> {
    const file = this.#deps.library.get(request.fileId);
    if (file) {
      if (request.chunkIndex >= chunkCount(file.size, request.chunkSize)) return null;
      const range = chunkRange(file.size, request.chunkSize, request.chunkIndex);
      const frame = framePool.take(CHUNK_FRAME_HEADER_BYTES + range.end - range.start);
      writeChunkFrameHeader(frame, request);
      const into = frame.subarray(CHUNK_FRAME_HEADER_BYTES);
      const data = await this.#readVerified(request.fileId, file.size, file.chunkSize, range, into).catch((err: unknown) => {
        framePool.release(frame);
        throw err;
      });
      if (data !== into) framePool.release(frame);
      return { data, frame: data === into ? frame : null };
    }
    const store = this.#deps.partialStore(request.fileId);
    if (!store || request.chunkIndex >= chunkCount(store.fileSize, request.chunkSize)) return null;
    const range = chunkRange(store.fileSize, request.chunkSize, request.chunkIndex);
    if (!store.hasRange(range.start, range.end - range.start)) return null;
    return { data: await store.read(range.start, range.end - range.start), frame: null };
  }

  /**
   * Reads the whole pieces covering `range`, checks each against its leaf, returns the range: in
   * `into` (its length is the range's) when the range is exactly whole pieces, otherwise a copy.
   */
  async #readVerified(
    fileId: string,
    size: number,
    pieceSize: number,
    range: { start: number; end: number },
    into: Uint8Array,
  ): Promise<Uint8Array> {
    const first = Math.floor(range.start / pieceSize);
    const last = Math.max(first, Math.ceil(range.end / pieceSize) - 1);
    const from = first * pieceSize;
    const to = Math.min(size, (last + 1) * pieceSize);
    const aligned = from === range.start && to === range.end;
    const bytes = await this.#deps.library.read(fileId, from, to - from, aligned ? into : undefined);
    const leaves = await this.#leaves(fileId);
    for (let piece = first; piece <= last; piece++) {
      const p = chunkRange(size, pieceSize, piece);
      const actual = await this.#deps.hasher.sha256(bytes.subarray(p.start - from, p.end - from));
      if (!bytesEqual(actual, leaves.subarray(piece * HASH_BYTES, (piece + 1) * HASH_BYTES))) {
        throw new Error(`piece ${piece} no longer matches its hash (the file changed on disk)`);
      }
    }
    return aligned ? bytes : bytes.subarray(range.start - from, range.end - from);
  }

  async #leaves(fileId: string): Promise<Uint8Array> {
    let leaves = this.#leafCache.get(fileId);
    if (!leaves) {
      leaves = await this.#deps.library.leaves(fileId);
      this.#leafCache.set(fileId, leaves);
    }
    return leaves;
  }
}
