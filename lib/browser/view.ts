/**
 * What the dashboard renders and what it can ask for: the contract between the browser peer
 * (lib/browser/, which owns every piece of state) and the UI (app/, which only renders a snapshot
 * and calls actions). Plain data, so a snapshot can be compared, logged or sent to a test.
 */
import type { PeerKind, PeerStatus, PeerTransportKind } from '../peer/registry.ts';
import type { MessageStatus } from '../peer/message-history.ts';
import type { TransferStatus } from '../transfer/transfer-record.ts';

export type BootstrapState = 'connecting' | 'joined' | 'unreachable' | 'closed';

export interface SelfView {
  peerId: string;
  name: string;
  /** The signalling endpoint this tab bootstraps from (ws://…/signal). */
  bootstrapUrl: string;
  bootstrapState: BootstrapState;
  /** Plain words for the user when bootstrapState is 'unreachable' (what happened, what to do). */
  bootstrapError: string | null;
  /** navigator.storage.persist() answer: true granted, false refused, null not asked / unsupported. */
  storagePersisted: boolean | null;
  /** Bytes used / quota from navigator.storage.estimate(), null when unknown. */
  storageUsage: { usage: number; quota: number } | null;
}

export interface PeerView {
  peerId: string;
  name: string | null;
  kind: PeerKind;
  status: PeerStatus;
  transport: PeerTransportKind | null;
  /** Peer id of the node we reach this peer through, when transport is 'relay'. */
  via: string | null;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
  encrypted: boolean;
}

export interface ChatMessageView {
  messageId: string;
  /** null: broadcast; otherwise the other party of a direct conversation. */
  conversation: string | null;
  senderId: string;
  direction: 'incoming' | 'outgoing';
  text: string;
  /** Unix seconds. */
  timestamp: number;
  status: MessageStatus;
}

export interface SharedFileView {
  fileId: string;
  name: string;
  size: number;
  /** 'hashing' while a picked file is being hashed (progress 0..1), then 'shared'. */
  state: 'hashing' | 'shared' | 'failed';
  progress: number;
  error: string | null;
}

export interface SwarmFileView {
  fileId: string;
  name: string;
  size: number;
  /** Peer ids offering it now. */
  sources: string[];
  /** True when this tab already has it whole (shared or downloaded). */
  local: boolean;
}

export interface TransferPeerView {
  peerId: string;
  bytes: number;
  chunks: number;
  speedBps: number;
}

export interface TransferView {
  transferId: string;
  fileId: string;
  fileName: string;
  fileSize: number;
  status: TransferStatus | 'paused';
  bytesReceived: number;
  chunkCount: number;
  chunksCompleted: number;
  speedBps: number;
  /** Seconds left at the current speed, null when unknown. */
  etaSeconds: number | null;
  peers: TransferPeerView[];
  /**
   * One entry per chunk: -1 missing, otherwise the index into `chunkSources` of the peer that
   * supplied it (chunks held from before a reload count as the tab's own: index of its own id).
   */
  chunkMap: number[];
  chunkSources: string[];
  /** Plain words when failed (verification, quota, no sources), null otherwise. */
  error: string | null;
  /** True when the finished file can be saved to disk (saveToDisk). */
  canSave: boolean;
}

/** A problem the user can act on, shown until dismissed. */
export interface NoticeView {
  id: string;
  level: 'error' | 'warning' | 'info';
  /** What happened and what to do, in plain words. */
  text: string;
}

export interface DashboardView {
  self: SelfView;
  peers: PeerView[];
  messages: ChatMessageView[];
  shared: SharedFileView[];
  swarmFiles: SwarmFileView[];
  transfers: TransferView[];
  notices: NoticeView[];
}

/** What the UI may ask of the browser peer. Every action reports failure through a rejected promise and a notice. */
export interface DashboardActions {
  sendMessage(text: string, to: string | null): Promise<void>;
  connectPeer(peerId: string): Promise<void>;
  disconnectPeer(peerId: string): Promise<void>;
  shareFiles(files: File[]): Promise<void>;
  unshare(fileId: string): Promise<void>;
  download(fileId: string): Promise<void>;
  pause(transferId: string): Promise<void>;
  resume(transferId: string): Promise<void>;
  cancel(transferId: string): Promise<void>;
  /** Streams the finished file to disk (File System Access API where present, a download link otherwise). */
  saveToDisk(transferId: string): Promise<void>;
  setBootstrap(url: string): Promise<void>;
  dismissNotice(id: string): void;
}

/** The browser peer as the UI sees it: a snapshot store (for React's useSyncExternalStore) plus actions. */
export interface DashboardSource extends DashboardActions {
  getSnapshot(): DashboardView;
  /** Calls `onChange` after the snapshot changed; returns the unsubscribe function. */
  subscribe(onChange: () => void): () => void;
  close(): Promise<void>;
}
