/**
 * One timed download through a node's REST API: wait until the node's catalog lists the file from
 * enough peers, POST /api/files/download, poll the transfer until it completes. The clock runs from
 * just before the POST to the poll that sees `completed`, so it includes the whole-file check and
 * the move into shared_files/ that come before that status.
 */
import { performance } from 'node:perf_hooks';
import type { NodeProcess } from './node-process.ts';

/** Poll period: the timed figure can be late by at most this much. */
export const POLL_MS = 50;
const CATALOG_TIMEOUT_MS = 30_000;

interface Transfer {
  transfer_id: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  destination: string | null;
  started_at: number;
  completed_at: number | null;
  bytes_received: number;
  error: string | null;
  peers_used: string[];
  peers?: { peer_id: string; bytes: number; chunks: number; timeouts?: number; redundant_chunks?: number; banned: boolean }[];
}

interface FilesResponse {
  local: { file_id: string }[];
  remote: { file_id: string; peers: string[] }[];
}

export interface TimedDownload {
  /** From before the POST to the poll that saw `completed`, ms. */
  ms: number;
  /** completed_at - started_at of the node's own record, ms (no polling delay in it). */
  recordMs: number;
  /**
   * From before the POST to the first poll that saw every byte verified and written, ms: the rest,
   * up to `ms`, is finishing (fdatasync, the whole-file SHA-256, the move into shared_files/).
   */
  allBytesMs: number | null;
  destination: string;
  transfer: Transfer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitForSources(node: NodeProcess, fileId: string, sources: number): Promise<void> {
  const deadline = Date.now() + CATALOG_TIMEOUT_MS;
  for (;;) {
    const files = await node.api<FilesResponse>('/api/files');
    const remote = files.remote.find((f) => f.file_id === fileId);
    if (remote && remote.peers.length >= sources) return;
    if (Date.now() > deadline) {
      throw new Error(`the downloader saw ${remote?.peers.length ?? 0} of ${sources} sources of ${fileId} after ${CATALOG_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_MS);
  }
}

export async function timedDownload(node: NodeProcess, fileId: string, fileSize: number, timeoutMs: number): Promise<TimedDownload> {
  const startedAt = performance.now();
  const { transfer: first } = await node.api<{ transfer: Transfer }>('/api/files/download', { file_id: fileId });
  const path = `/api/files/transfers/${first.transfer_id}`;
  let allBytesMs: number | null = null;
  for (;;) {
    const { transfer } = await node.api<{ transfer: Transfer }>(path);
    const now = performance.now() - startedAt;
    if (transfer.status === 'completed') {
      const recordMs = (transfer.completed_at! - transfer.started_at) * 1000;
      return { ms: now, recordMs, allBytesMs, destination: transfer.destination!, transfer };
    }
    if (allBytesMs === null && transfer.bytes_received === fileSize) allBytesMs = now;
    if (transfer.status === 'failed' || transfer.status === 'cancelled') {
      throw new Error(`the download ${transfer.status}: ${transfer.error ?? 'no reason given'}`);
    }
    if (performance.now() - startedAt > timeoutMs) {
      throw new Error(`the download did not complete within ${timeoutMs} ms (${transfer.bytes_received} bytes verified)`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * After `completed`, the node adds the file to its library (which indexes it); waits until the
 * file is listed as local and returns how long that took, ms.
 */
export async function waitForLocal(node: NodeProcess, fileId: string): Promise<number> {
  const startedAt = performance.now();
  const deadline = Date.now() + CATALOG_TIMEOUT_MS;
  for (;;) {
    const files = await node.api<FilesResponse>('/api/files');
    if (files.local.some((f) => f.file_id === fileId)) return performance.now() - startedAt;
    if (Date.now() > deadline) throw new Error(`the downloader did not list ${fileId} as local within ${CATALOG_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}
