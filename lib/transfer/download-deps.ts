import type { ChunkStore } from './chunk-store.ts';
import type { Hasher } from './hasher.ts';
import type { TokenBucket } from './token-bucket.ts';
import type { Logger } from '../util/logger.ts';
import type { Timers } from '../util/timers.ts';

/** What a Download is given (the platform and the network are passed in), and its sizing limits. */

/** A store the download can finish into shared_files/ or throw away. */
export interface DownloadStore extends ChunkStore {
  finalize(wantedName: string): Promise<string>;
  discard(): Promise<void>;
}

export interface DownloadDeps {
  hasher: Hasher;
  log: Logger;
  timers: Timers;
  bucket: TokenBucket;
  stallTimeoutMs: number;
  openStore(fileId: string, fileSize: number, pieceSize: number): Promise<DownloadStore>;
  sendRequest(peerId: string, chunkIndex: number, chunkSize: number): void;
  sendCancel(peerId: string, chunkIndex: number, chunkSize: number): void;
  requestHashes(peerId: string, start: number, count: number): void;
  /**
   * The largest chunk (in bytes) `peerId` can send us in one frame over its link, or null when the
   * link sets no lower bound than MAX_FRAME_BYTES. A WebRTC link with Chromium negotiates 256 KiB.
   */
  maxChunkBytes?(peerId: string): number | null;
  /** Pieces newly verified and stored, and the peer that sent them: tell swarm peers (`have`). */
  onPieces(pieces: number[], fromPeerId: string): void;
  /** The record changed state (running, completed, failed, cancelled). */
  onStatus(): void;
}

/**
 * Requests to swarm seeders are this large (rounded down to a multiple of the piece size): fewer,
 * larger requests (1 MiB measured 1.7x the throughput of 256 KiB on loopback) ...
 */
export const SWARM_REQUEST_BYTES = 1024 * 1024;
/**
 * ... but never so large that a file is fewer than this many requests, nor smaller than
 * MIN_SWARM_REQUEST_BYTES: coarse requests on a small file tie most of it to one (possibly capped)
 * seeder, leaving nothing for partial sources to contribute. 1 MiB from 64 MiB up, 256 KiB below 16 MiB.
 */
export const MIN_REQUESTS_PER_FILE = 64;
export const MIN_SWARM_REQUEST_BYTES = 256 * 1024;

/**
 * The swarm request size for a file (see above), at most `linkLimit` bytes (what one frame of the
 * link carries), as a multiple of the piece size. Seeders are asked in it, and a node still
 * downloading announces its pieces in groups of it, so a neighbour fetches in it too.
 */
export function swarmRequestBytes(fileSize: number, pieceSize: number, linkLimit = Infinity): number {
  const wanted = Math.min(linkLimit, Math.max(MIN_SWARM_REQUEST_BYTES, Math.min(SWARM_REQUEST_BYTES, fileSize / MIN_REQUESTS_PER_FILE)));
  return Math.max(pieceSize, Math.floor(wanted / pieceSize) * pieceSize);
}
/**
 * No new requests while this many received bytes wait to be written: when the disk is slower than
 * the network, the backlog stays in the kernel's socket buffers and the seeder's queue, not in our
 * memory (received frames are held until their write completes).
 */
export const MAX_PENDING_WRITE_BYTES = 8 * 1024 * 1024;
/**
 * No new requests while this many requested bytes are outstanding across all sources: what is in
 * flight arrives into memory (and the peers' windows alone allow 32 MiB each). Loopback needs far
 * less than this to stay busy; a high-latency link is limited by its peers' windows anyway.
 */
export const MAX_REQUESTED_BYTES = 16 * 1024 * 1024;
