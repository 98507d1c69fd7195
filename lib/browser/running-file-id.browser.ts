/**
 * A download's whole-file SHA-256, computed while its pieces arrive, where the hashing jobs run (the
 * hashing worker; on the page where no worker can be made). Without it, the final check hashed the
 * whole file after the last byte, reading every piece back from IndexedDB: ~3.5-4.5 s of a 256 MiB
 * download (pure TypeScript SHA-256: WebCrypto cannot stream; bench/README.md).
 *
 * The chunk store sends a step each time the run of committed pieces from piece 0 grows: the pieces
 * it still has in memory (those of the batch just committed, unless several steps are waiting here
 * already) come with the step, any other piece of the run is read back from the database here.
 * Steps of one hash are applied one after another, in the order they were sent. The state lives only
 * as long as this worker (or page): after a reload the store starts a new hash under a new key, whose
 * first step reads the pieces stored before from the database, so the final check is right however
 * much the running hash had covered.
 */
import { READ_BATCH_PIECES, readPieces } from './idb-pieces.browser.ts';
import { openIdbStore } from './idb.browser.ts';
import type { UseStore } from './idb.browser.ts';
import { Sha256 } from '../transfer/sha256-incremental.ts';
import { bytesToHex } from '../util/base64.ts';

/** One step of the running hash `key` (one per chunk store opened). */
export interface RunningFileIdJob {
  kind: 'running-file-id';
  /** Names this hash; a key not seen before starts a new one at piece 0. */
  key: string;
  /** Where the pieces are (database `dbName`, file `fileId`: see idb-pieces.browser.ts). */
  dbName: string;
  fileId: string;
  /** The file's piece size (how its pieces are stored). */
  pieceBytes: number;
  /** Hash every piece below this index (all stored by now). */
  upTo: number;
  /** pieces[i] is piece first + i (its bytes), or null: read it from the database. */
  first: number;
  pieces: (Uint8Array | null)[];
  /** 'digest': then finish and forget the hash; 'drop': forget it (the store closed). */
  end?: 'digest' | 'drop';
}

export interface RunningFileIdResult {
  /** Pieces in the hash, from piece 0. */
  hashed: number;
  /** With end 'digest': the sha256 hex of the pieces [0, upTo). */
  fileId?: string;
}

interface RunningState {
  hash: Sha256;
  next: number;
  /** The last step of this hash: the next one waits for it. */
  queue: Promise<unknown>;
}

const running = new Map<string, RunningState>();

export function runRunningFileId(job: RunningFileIdJob): Promise<RunningFileIdResult> {
  let state = running.get(job.key);
  if (!state) {
    if (job.end === 'drop') return Promise.resolve({ hashed: 0 });
    state = { hash: new Sha256(), next: 0, queue: Promise.resolve() };
    running.set(job.key, state);
  }
  const current = state;
  const step = current.queue.then(() => applyStep(current, job));
  // A failed step leaves the state as it was before the failed read: the next step retries it.
  current.queue = step.catch(() => {});
  return step;
}

async function applyStep(state: RunningState, job: RunningFileIdJob): Promise<RunningFileIdResult> {
  if (job.end === 'drop') {
    running.delete(job.key);
    return { hashed: state.next };
  }
  let store: UseStore | null = null;
  const given = (index: number) => job.pieces[index - job.first] ?? null;
  while (state.next < job.upTo) {
    const piece = given(state.next);
    if (piece) {
      state.hash.update(piece);
      state.next++;
      continue;
    }
    let end = state.next + 1;
    while (end < job.upTo && end - state.next < READ_BATCH_PIECES && !given(end)) end++;
    store ??= openIdbStore(job.dbName);
    const read = await readPieces(store, job.fileId, state.next, end - state.next, job.pieceBytes);
    for (const stored of read) state.hash.update(stored);
    state.next = end;
  }
  if (job.end !== 'digest') return { hashed: state.next };
  running.delete(job.key);
  return { hashed: state.next, fileId: bytesToHex(state.hash.digest()) };
}
