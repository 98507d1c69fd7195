/**
 * The hashing jobs, and their messages between the page and the hashing worker. The same functions
 * run inside the worker (hash-worker.browser.ts) and, where no worker can be made, on the page.
 */
import { hashBlob, PieceHashing } from './blob-hashing.ts';
import type { ContentHashes, HashProgress } from './blob-hashing.ts';
import { forEachPiece } from './idb-pieces.browser.ts';
import { openIdbStore } from './idb.browser.ts';
import { runRunningFileId } from './running-file-id.browser.ts';
import type { RunningFileIdJob, RunningFileIdResult } from './running-file-id.browser.ts';
import { createBrowserHasher } from '../transfer/hasher.browser.ts';

export type HashJob =
  /** A picked file: its id, leaves and root. */
  | { kind: 'blob'; blob: Blob; chunkSize: number }
  /** A downloaded file's stored pieces (database `dbName`, see idb-pieces.browser.ts). */
  | { kind: 'stored'; dbName: string; fileId: string; fileSize: number; chunkSize: number; pieceCount: number }
  /** A step of a download's running whole-file hash (running-file-id.browser.ts). */
  | RunningFileIdJob;

/** What a job gives: the content hashes, or a running hash's progress and file id. */
export type HashJobResult<J extends HashJob> = J extends RunningFileIdJob ? RunningFileIdResult : ContentHashes;

export type WorkerRequest = { id: number; job: HashJob };
export type WorkerReply =
  | { id: number; progress: number; total: number }
  | { id: number; result: HashJobResult<HashJob> }
  | { id: number; error: string };

export async function runHashJob<J extends HashJob>(job: J, onProgress?: HashProgress): Promise<HashJobResult<J>> {
  return (await runAnyHashJob(job, onProgress)) as HashJobResult<J>;
}

async function runAnyHashJob(job: HashJob, onProgress?: HashProgress): Promise<HashJobResult<HashJob>> {
  if (job.kind === 'running-file-id') return runRunningFileId(job);
  const hasher = createBrowserHasher();
  if (job.kind === 'blob') return hashBlob(job.blob, job.chunkSize, hasher, onProgress);
  const hashing = new PieceHashing(hasher, job.fileSize, job.chunkSize);
  let done = 0;
  await forEachPiece(openIdbStore(job.dbName), job.fileId, job.pieceCount, job.chunkSize, async (piece) => {
    await hashing.addPiece(piece);
    done += piece.length;
    onProgress?.(done, job.fileSize);
  });
  return hashing.finish();
}
