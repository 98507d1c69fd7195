import type { PeerStats } from './scheduler-types.ts';

/**
 * A transfer as REST-API.md shapes it, plus what resuming needs (the piece size and content root).
 * Persisted in the data directory, so a resumed transfer keeps its id.
 */
export type TransferStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface TransferRecord {
  transfer_id: string;
  file_id: string;
  file_name: string;
  file_size: number;
  /** Piece size of the partial file: the unit of `chunks_completed`. */
  chunk_size: number;
  chunk_count: number;
  /** Where the finished file landed (inside shared_files/), null until then. */
  destination: string | null;
  /** Unix seconds (float), as the original API. */
  started_at: number;
  completed_at: number | null;
  status: TransferStatus;
  /** Verified bytes held, including those from before a restart. */
  bytes_received: number;
  chunks_completed: number;
  peers_used: string[];
  error: string | null;
  /** Extension: the Merkle content root the pieces are checked against, when a swarm peer gave one. */
  content_root: string | null;
  /** Per-peer totals, kept when the download ends (live figures come from the scheduler meanwhile). */
  peer_totals?: TransferPeer[];
  /** Extension: paused by the user; the record stays active but nothing is requested until resumed. */
  paused?: boolean;
}

export interface TransferPeer {
  peer_id: string;
  bytes: number;
  chunks: number;
  speed_bps: number;
  /** Requests this peer left unanswered past their deadline. */
  timeouts: number;
  /** Good chunks that arrived after their pieces had come from elsewhere (wasted bytes). */
  redundant_chunks: number;
  bad_chunks: number;
  banned: boolean;
  ban_reason: string | null;
}

/** A scheduler's live figures for one peer, as the API shapes them. */
export function toTransferPeer(p: PeerStats): TransferPeer {
  return {
    peer_id: p.peerId,
    bytes: p.bytes,
    chunks: p.chunks,
    speed_bps: Math.round(p.speedBps),
    timeouts: p.timeouts,
    redundant_chunks: p.redundantChunks,
    bad_chunks: p.badChunks,
    banned: p.banned,
    ban_reason: p.banReason ?? null,
  };
}

export function isActive(record: TransferRecord): boolean {
  return record.status === 'pending' || record.status === 'running';
}
