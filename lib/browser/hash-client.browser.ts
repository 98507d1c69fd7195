/**
 * The page's side of the hashing worker: one request at a time per job id, progress passed on. Where
 * no worker can be made (a bundle without the worker entry, a test), the same jobs run on the page.
 */
import type { HashProgress } from './blob-hashing.ts';
import { runHashJob } from './hash-jobs.browser.ts';
import type { HashJob, HashJobResult, WorkerReply } from './hash-jobs.browser.ts';

export type WorkerFactory = () => Worker;

/** The default: the worker module next to this file, resolved by the bundler (Next.js, esbuild with its URL plugin). */
export const defaultHashWorker: WorkerFactory = () =>
  new Worker(new URL('./hash-worker.browser.ts', import.meta.url), { type: 'module', name: 'swarmdrop-hashing' });

interface Waiting {
  resolve: (result: HashJobResult<HashJob>) => void;
  reject: (err: Error) => void;
  onProgress: HashProgress | undefined;
}

export class HashClient {
  #worker: Worker | null = null;
  #nextId = 1;
  #waiting = new Map<number, Waiting>();

  constructor(createWorker: WorkerFactory | null) {
    if (!createWorker) return;
    try {
      this.#worker = createWorker();
      this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#onReply(event.data);
      this.#worker.onerror = (event) => this.#failAll(new Error(`hashing worker failed: ${event.message}`));
    } catch {
      this.#worker = null; // runs on the page instead
    }
  }

  /** True when jobs run in a worker (off the page's thread). */
  get offThread(): boolean {
    return this.#worker !== null;
  }

  /** `transfer`: buffers of the job handed over to the worker (unusable on the page afterwards). */
  run<J extends HashJob>(job: J, onProgress?: HashProgress, transfer: Transferable[] = []): Promise<HashJobResult<J>> {
    if (!this.#worker) return runHashJob(job, onProgress);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // The worker answers a job with the result of its kind (runHashJob).
      this.#waiting.set(id, { resolve: resolve as (result: HashJobResult<HashJob>) => void, reject, onProgress });
      this.#worker!.postMessage({ id, job }, transfer);
    });
  }

  close(): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#failAll(new Error('hashing stopped: the peer is closing'));
  }

  #onReply(reply: WorkerReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (!waiting) return;
    if ('progress' in reply) return waiting.onProgress?.(reply.progress, reply.total);
    this.#waiting.delete(reply.id);
    if ('result' in reply) waiting.resolve(reply.result);
    else waiting.reject(new Error(reply.error));
  }

  #failAll(err: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(err);
    this.#waiting.clear();
  }
}
