/** The scheduler's public types (scheduler.ts re-exports them). */
import type { ChunkRequest } from './request-book.ts';

/** What the caller's verification said about a chunk. */
export type ChunkVerdict = 'ok' | 'bad' | 'wrong-size';

/** 'stalled': some missing piece has had no usable source for the stall timeout; the caller fails the download. */
export type SchedulerState = 'running' | 'complete' | 'stalled';

/** Pieces held before the download starts (resume): a Bitfield (anything with `get`) or piece indices. */
export type HeldPieces = { get(piece: number): boolean } | Iterable<number>;

export interface SchedulerOptions {
  fileSize: number;
  /** The unit of book-keeping: the smallest chunk size of any source (64 KiB for swarm peers). */
  pieceSize: number;
  /** Current time (ms); the stall clock can start from here when no source is known yet. */
  now: number;
  have?: HeldPieces;
  /** Returns a number in [0, 1); breaks ties between equally rare pieces. Default Math.random. */
  random?: () => number;
  /** Default DEFAULT_STALL_TIMEOUT_MS (30 s). */
  stallTimeoutMs?: number;
}

export interface PeerSource {
  /** The chunk size this peer announced the file with; a multiple of the piece size. */
  chunkSize: number;
  /** True for a seeder; false for a peer that announces chunks with peerHas as it gets them. */
  hasAll: boolean;
}

export type AddPeerResult = { ok: true } | { ok: false; reason: string };

/**
 * - accepted: the chunk completed `accepted` pieces (store and announce them);
 * - redundant: good, but every piece was held already (a late or duplicate answer);
 * - rejected: bad, wrong size, or never asked for; counted against the peer (`banned` when that banned it);
 * - ignored: unknown or banned peer.
 */
export type ChunkOutcome = 'accepted' | 'redundant' | 'rejected' | 'ignored';

export interface ChunkResult {
  outcome: ChunkOutcome;
  /** Pieces this chunk completed, ascending. */
  accepted: number[];
  /** Requests to other peers that this chunk made pointless: send a cancel where the peer understands one. */
  cancel: ChunkRequest[];
  /** Set when this chunk got the peer banned: the reason, for the log. */
  banned?: string;
}

export interface PeerStats {
  peerId: string;
  chunkSize: number;
  hasAll: boolean;
  /** Useful bytes: pieces this peer completed (each piece is credited to one peer only). */
  bytes: number;
  /** Bytes of all the good chunks it sent, including pieces that had come from elsewhere first. */
  receivedBytes: number;
  /** Chunks that completed at least one piece. */
  chunks: number;
  /** Good chunks that completed nothing (the piece came from elsewhere first). */
  redundantChunks: number;
  badChunks: number;
  timeouts: number;
  /** Measured delivery rate, bytes per second (0 before the first measurement). */
  speedBps: number;
  inFlight: number;
  window: number;
  score: number;
  banned: boolean;
  banReason: string | undefined;
  /** Its recent requests all timed out: not counted as a source for the stall check. */
  unresponsive: boolean;
}

export interface SchedulerStats {
  peers: PeerStats[];
  pieceCount: number;
  missingCount: number;
  bytesHeld: number;
  /** bytesHeld / fileSize, 1 for an empty file. */
  progress: number;
  /** Requests outstanding across all peers. */
  inFlight: number;
  /** Every missing piece that has a source is already requested: idle peers duplicate requests. */
  endgame: boolean;
}
