/** The scheduler's record of one source peer (internal to lib/transfer). */
import type { ChunkGeometry } from './chunk-geometry.ts';
import { PeerPipeline } from './peer-pipeline.ts';
import { PeerScore } from './peer-score.ts';
import type { PeerStats } from './scheduler-types.ts';

export interface SourcePeer {
  readonly id: string;
  readonly geometry: ChunkGeometry;
  readonly hasAll: boolean;
  /** Partial peers only: 1 for each piece it announced. */
  readonly have: Uint8Array | undefined;
  /** Partial peers only: candidate pieces it has (0 = nothing new to ask of it). */
  candidates: number;
  readonly pipeline: PeerPipeline;
  readonly score: PeerScore;
  /** Chunk after the last one asked of this peer: where its run of requests continues. */
  next: number | undefined;
  /** Useful bytes: pieces this peer completed. */
  bytes: number;
  /** Bytes of every good chunk it sent, useful or not (minus `bytes`: what duplicates cost). */
  receivedBytes: number;
  /** Chunks that completed at least one piece. */
  chunks: number;
  /** Good chunks that completed nothing. */
  redundantChunks: number;
}

export function createSourcePeer(id: string, geometry: ChunkGeometry, hasAll: boolean): SourcePeer {
  return {
    id,
    geometry,
    hasAll,
    have: hasAll ? undefined : new Uint8Array(geometry.pieceCount),
    candidates: 0,
    pipeline: new PeerPipeline(geometry.chunkSize),
    score: new PeerScore(),
    next: undefined,
    bytes: 0,
    receivedBytes: 0,
    chunks: 0,
    redundantChunks: 0,
  };
}

export function peerHasPiece(peer: SourcePeer, piece: number): boolean {
  return peer.hasAll || peer.have![piece] === 1;
}

export function sourcePeerStats(peer: SourcePeer, unresponsive: boolean): PeerStats {
  return {
    peerId: peer.id,
    chunkSize: peer.geometry.chunkSize,
    hasAll: peer.hasAll,
    bytes: peer.bytes,
    receivedBytes: peer.receivedBytes,
    chunks: peer.chunks,
    redundantChunks: peer.redundantChunks,
    badChunks: peer.score.badChunks,
    timeouts: peer.score.timeouts,
    speedBps: peer.pipeline.rateBps,
    inFlight: peer.pipeline.inFlight,
    window: peer.pipeline.window,
    score: peer.score.value,
    banned: peer.score.banned,
    banReason: peer.score.banReason,
    unresponsive,
  };
}
