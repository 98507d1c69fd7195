/**
 * The hashing jobs, and their messages between the page and the hashing worker. The same functions
 * run inside the worker (hash-worker.browser.ts) and, where no worker can be made, on the page.
 */
import { hashBlob, PieceHashing } from './blob-hashing.ts';
import type { ContentHashes, HashProgress } from './blob-hashing.ts';
import { forEachPiece } from './idb-pieces.browser.ts';
import { openIdbStore } from './idb.browser.ts';
import { createBrowserHasher } from '../transfer/hasher.browser.ts';
import { bytesToHex } from '../util/base64.ts';

export type HashJob =
  /** A picked file: its id, leaves and root. */
  | { kind: 'blob'; blob: Blob; chunkSize: number }
  /** A downloaded file's stored pieces (database `dbName`, see idb-pieces.browser.ts). */
  | { kind: 'stored'; dbName: string; fileId: string; fileSize: number; chunkSize: number; pieceCount: number }
  /**
   * Only the whole-file SHA-256 of a downloaded file's stored pieces: a download's final check,
   * whose pieces were each verified against their leaf on arrival, so the leaves are not hashed again.
   */
  | { kind: 'stored-file-id'; dbName: string; fileId: string; fileSize: number; pieceCount: number };

/** What a job gives: the content hashes, or for 'stored-file-id' the file id alone. */
export type HashJobResult<J extends HashJob> = J extends { kind: 'stored-file-id' } ? { fileId: string } : ContentHashes;

export type WorkerRequest = { id: number; job: HashJob };
export type WorkerReply =
  | { id: number; progress: number; total: number }
  | { id: number; result: HashJobResult<HashJob> }
  | { id: number; error: string };

export async function runHashJob<J extends HashJob>(job: J, onProgress?: HashProgress): Promise<HashJobResult<J>> {
  return (await runAnyHashJob(job, onProgress)) as HashJobResult<J>;
}

async function runAnyHashJob(job: HashJob, onProgress?: HashProgress): Promise<HashJobResult<HashJob>> {
  const hasher = createBrowserHasher();
  if (job.kind === 'blob') return hashBlob(job.blob, job.chunkSize, hasher, onProgress);
  if (job.kind === 'stored-file-id') {
    const whole = hasher.createStream();
    let done = 0;
    await forEachPiece(openIdbStore(job.dbName), job.fileId, job.pieceCount, (piece) => {
      whole.update(piece);
      done += piece.length;
      onProgress?.(done, job.fileSize);
    });
    return { fileId: bytesToHex(await whole.digest()) };
  }
  const hashing = new PieceHashing(hasher, job.fileSize, job.chunkSize);
  let done = 0;
  await forEachPiece(openIdbStore(job.dbName), job.fileId, job.pieceCount, async (piece) => {
    await hashing.addPiece(piece);
    done += piece.length;
    onProgress?.(done, job.fileSize);
  });
  return hashing.finish();
}
