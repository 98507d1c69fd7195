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

export function isActive(record: TransferRecord): boolean {
  return record.status === 'pending' || record.status === 'running';
}
