/**
 * Turns the peer's state (registry, history, library, catalog, transfers) into the plain-data views
 * of view.ts. Isomorphic and free of side effects: the runtime calls these when something changed.
 */
import type { HistoryEntry } from '../peer/message-history.ts';
import type { PeerRecord } from '../peer/registry.ts';
import type { LocalFile } from '../transfer/library.ts';
import type { RemoteFile } from '../transfer/remote-catalog.ts';
import type { TransferPeer, TransferRecord } from '../transfer/transfer-record.ts';
import { plainTransferError } from './notices.ts';
import type { ChatMessageView, PeerView, SharedFileView, SwarmFileView, TransferView } from './view.ts';

/** Chat entries shown: the newest this many across all conversations (the history keeps more). */
export const CHAT_VIEW_LIMIT = 500;

export function peerView(record: PeerRecord): PeerView {
  return {
    peerId: record.peerId,
    name: record.name,
    kind: record.kind,
    status: record.status,
    transport: record.transport,
    via: record.via,
    rttMs: record.rttMs,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    encrypted: record.encrypted,
  };
}

interface TextEnvelope {
  message_id: string;
  sender_id?: string;
  recipient_id?: string | null;
  timestamp?: number;
  content?: { text?: unknown };
}

/** Chat entries oldest first, each placed in its conversation (null: broadcast). */
export function chatViews(entries: HistoryEntry[], ownId: string): ChatMessageView[] {
  const views: ChatMessageView[] = [];
  for (const entry of entries) {
    const envelope = entry.payload as TextEnvelope;
    const text = envelope.content?.text;
    if (typeof text !== 'string') continue;
    const senderId = envelope.sender_id ?? ownId;
    const recipient = envelope.recipient_id ?? null;
    const conversation = recipient === null ? null : entry.direction === 'outgoing' ? recipient : senderId;
    views.push({
      messageId: envelope.message_id,
      conversation,
      senderId,
      direction: entry.direction,
      text,
      timestamp: envelope.timestamp ?? entry.at / 1000,
      status: entry.status,
    });
  }
  return views.reverse();
}

export interface HashingFile {
  key: string;
  name: string;
  size: number;
  progress: number;
  error: string | null;
}

export function sharedViews(files: LocalFile[], hashing: HashingFile[]): SharedFileView[] {
  return [
    ...hashing.map((h) => ({
      fileId: h.key,
      name: h.name,
      size: h.size,
      state: h.error ? ('failed' as const) : ('hashing' as const),
      progress: h.progress,
      error: h.error,
    })),
    ...files.map((f) => ({ fileId: f.fileId, name: f.name, size: f.size, state: 'shared' as const, progress: 1, error: null })),
  ];
}

export function swarmViews(remote: RemoteFile[], isLocal: (fileId: string) => boolean): SwarmFileView[] {
  return remote.map((f) => ({
    fileId: f.fileId,
    name: f.fileName,
    size: f.fileSize,
    sources: [...f.sources.keys()],
    local: isLocal(f.fileId),
  }));
}

export interface TransferExtras {
  peers: TransferPeer[];
  /** Who supplied each piece in this run (piece index -> peer id). */
  pieceSources: Map<number, string> | undefined;
  /** Pieces held (from the chunk store), when it was opened in this run. */
  held: ((index: number) => boolean) | undefined;
  ownId: string;
  canSave: boolean;
}

export function transferView(record: TransferRecord, extras: TransferExtras): TransferView {
  const sources: string[] = [];
  const sourceIndex = (peerId: string): number => {
    let i = sources.indexOf(peerId);
    if (i < 0) i = sources.push(peerId) - 1;
    return i;
  };
  const complete = record.status === 'completed';
  const chunkMap = Array.from({ length: record.chunk_count }, (_, i) => {
    const from = extras.pieceSources?.get(i);
    if (from) return sourceIndex(from);
    // Held from before a reload (or the whole file once completed): the tab's own.
    return complete || extras.held?.(i) ? sourceIndex(extras.ownId) : -1;
  });
  const speedBps = record.paused || complete ? 0 : extras.peers.reduce((sum, p) => sum + p.speed_bps, 0);
  const remaining = record.file_size - record.bytes_received;
  return {
    transferId: record.transfer_id,
    fileId: record.file_id,
    fileName: record.file_name,
    fileSize: record.file_size,
    status: record.paused && (record.status === 'pending' || record.status === 'running') ? 'paused' : record.status,
    bytesReceived: record.bytes_received,
    chunkCount: record.chunk_count,
    chunksCompleted: record.chunks_completed,
    speedBps,
    etaSeconds: speedBps > 0 && !complete ? Math.ceil(remaining / speedBps) : null,
    peers: extras.peers.map((p) => ({ peerId: p.peer_id, bytes: p.bytes, chunks: p.chunks, speedBps: p.speed_bps })),
    chunkMap,
    chunkSources: sources,
    error: record.error === null ? null : plainTransferError(record.error),
    canSave: extras.canSave,
  };
}
