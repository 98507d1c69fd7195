/**
 * The hashing worker's entry: hashing a shared file or checking a finished download runs here, so the
 * page never freezes. Bundlers pick it up from `new Worker(new URL('./hash-worker.browser.ts',
 * import.meta.url), { type: 'module' })` (see hash-client.browser.ts).
 */
import { runHashJob } from './hash-jobs.browser.ts';
import type { WorkerReply, WorkerRequest } from './hash-jobs.browser.ts';

/** Progress messages at most this often: the page re-renders on each. */
const PROGRESS_INTERVAL_MS = 100;

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
};

scope.onmessage = (event) => {
  const { id, job } = event.data;
  let last = 0;
  runHashJob(job, (progress, total) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS && progress < total) return;
    last = now;
    scope.postMessage({ id, progress, total });
  }).then(
    (result) => scope.postMessage({ id, result }),
    (err: unknown) => scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
};
