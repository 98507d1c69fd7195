import type { DownloadStore } from './download.ts';
import type { Hasher } from './hasher.ts';
import type { Library } from './library.ts';
import { chunkCount, chunkRange } from './manifest.ts';
import type { TokenBucket } from './token-bucket.ts';
import type { Connection } from '../peer/connection.ts';
import { encodeChunkFrame } from '../peer/wire/chunk-frame.ts';
import { bytesToBase64 } from '../util/base64.ts';
import { bytesEqual, HASH_BYTES } from './hasher.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Answers chunk requests: from a complete shared file (each piece checked against its hash before
 * it leaves, so a file changed on disk is never served as if it were the indexed one) or from a
 * download in progress (its pieces were verified when they were stored). Swarm peers get binary
 * chunk frames; standard peers base64 `file_chunk` messages in the chunk size we announced to them.
 * One queue per connection keeps a flood of requests from one peer bounded and in order.
 */
export const MAX_QUEUED_REQUESTS_PER_PEER = 512;

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
  log: Logger;
}

interface PeerQueue {
  items: ServeRequest[];
  running: boolean;
}

export class ChunkServer {
  #deps: ChunkServerDeps;
  #queues = new Map<Connection, PeerQueue>();
  #leafCache = new Map<string, Uint8Array>();
  bytesServed = 0;

  constructor(deps: ChunkServerDeps) {
    this.#deps = deps;
  }

  enqueue(connection: Connection, request: ServeRequest): void {
    let queue = this.#queues.get(connection);
    if (!queue) {
      queue = { items: [], running: false };
      this.#queues.set(connection, queue);
      connection.once('close', () => this.#queues.delete(connection));
    }
    if (queue.items.length >= MAX_QUEUED_REQUESTS_PER_PEER) {
      this.#deps.log.warn({ peer: connection.peerId, limit: MAX_QUEUED_REQUESTS_PER_PEER }, 'dropped a chunk request: too many queued');
      return;
    }
    queue.items.push(request);
    if (!queue.running) void this.#drain(connection, queue);
  }

  cancel(connection: Connection, request: ServeRequest): void {
    const queue = this.#queues.get(connection);
    if (!queue) return;
    queue.items = queue.items.filter(
      (r) => !(r.fileId === request.fileId && r.chunkIndex === request.chunkIndex && r.chunkSize === request.chunkSize),
    );
  }

  /** Forgets cached piece hashes of a file that is no longer shared. */
  forget(fileId: string): void {
    this.#leafCache.delete(fileId);
  }

  async #drain(connection: Connection, queue: PeerQueue): Promise<void> {
    queue.running = true;
    try {
      for (let request = queue.items.shift(); request; request = queue.items.shift()) {
        if (connection.state === 'closed') return;
        await this.#serve(connection, request);
      }
    } finally {
      queue.running = false;
    }
  }

  async #serve(connection: Connection, request: ServeRequest): Promise<void> {
    const data = await this.#read(request).catch((err: Error) => {
      this.#deps.log.warn({ peer: connection.peerId, file: request.fileId, reason: err.message }, 'cannot serve a chunk');
      return null;
    });
    if (!data) {
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
    await this.#deps.bucket.take(data.byteLength);
    try {
      if (connection.isSwarm) {
        await connection.sendFrame(encodeChunkFrame({ ...request, data }), 'bulk');
      } else {
        await connection.send('file_chunk', {
          content: { file_id: request.fileId, chunk_index: request.chunkIndex, data: bytesToBase64(data) },
        });
      }
      this.bytesServed += data.byteLength;
    } catch {
      // The connection closed while sending: nothing to do, the requester will ask elsewhere.
    }
  }

  /** The verified bytes of a request, or null when we do not have them. */
  async #read(request: ServeRequest): Promise<Uint8Array | null> {
    const file = this.#deps.library.get(request.fileId);
    if (file) {
      if (request.chunkIndex >= chunkCount(file.size, request.chunkSize)) return null;
      const range = chunkRange(file.size, request.chunkSize, request.chunkIndex);
      return this.#readVerified(request.fileId, file.size, file.chunkSize, range);
    }
    const store = this.#deps.partialStore(request.fileId);
    if (!store || request.chunkIndex >= chunkCount(store.fileSize, request.chunkSize)) return null;
    const range = chunkRange(store.fileSize, request.chunkSize, request.chunkIndex);
    if (!store.hasRange(range.start, range.end - range.start)) return null;
    return store.read(range.start, range.end - range.start);
  }

  /** Reads the whole pieces covering `range`, checks each against its leaf, returns the range. */
  async #readVerified(fileId: string, size: number, pieceSize: number, range: { start: number; end: number }): Promise<Uint8Array> {
    const first = Math.floor(range.start / pieceSize);
    const last = Math.max(first, Math.ceil(range.end / pieceSize) - 1);
    const from = first * pieceSize;
    const to = Math.min(size, (last + 1) * pieceSize);
    const bytes = await this.#deps.library.read(fileId, from, to - from);
    const leaves = await this.#leaves(fileId);
    for (let piece = first; piece <= last; piece++) {
      const p = chunkRange(size, pieceSize, piece);
      const actual = await this.#deps.hasher.sha256(bytes.subarray(p.start - from, p.end - from));
      if (!bytesEqual(actual, leaves.subarray(piece * HASH_BYTES, (piece + 1) * HASH_BYTES))) {
        throw new Error(`piece ${piece} no longer matches its hash (the file changed on disk)`);
      }
    }
    return bytes.subarray(range.start - from, range.end - from);
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
