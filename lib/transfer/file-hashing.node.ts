/**
 * Hashes a file once for sharing: the whole-file SHA-256 (the standard `file_id`) and the SHA-256
 * of every piece (the Merkle leaves), in one pass over large reads.
 *
 * Every byte is hashed twice (once for the file, once for its piece), so on one thread the best
 * possible is half the speed of a bare SHA-256. For files worth it, the whole-file hash runs on a
 * worker thread over the same SharedArrayBuffer reads while this thread hashes the pieces, and the
 * next read is already in flight: on two or more cores that approaches raw SHA-256 speed.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { HASH_BYTES } from './hasher.ts';
import { nodeHasher, sha256Node } from './hasher.node.ts';
import { DEFAULT_CHUNK_SIZE, chunkCount } from './manifest.ts';
import { merkleRoot } from './merkle.ts';
import { bytesToHex } from '../util/base64.ts';

/** Target bytes per read: large enough that per-call overhead vanishes, small enough to stay in cache. */
export const READ_BYTES = 4 * 1024 * 1024;
/** Below this size a worker thread costs more to start (tens of ms) than it saves. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
/** Read buffers in rotation: one being read, one with each hasher, one spare to absorb jitter. */
const SLOT_COUNT = 4;

export interface HashFileOptions {
  /** Piece size of the content info (the Merkle leaves). */
  chunkSize?: number;
  onProgress?: (bytesDone: number, total: number) => void;
  /** Force the one-thread path (true) or the worker path (false); by default chosen by size. */
  singleThread?: boolean;
}

export interface FileHashes {
  /** sha256 hex of the whole file: the standard file_id. */
  fileId: string;
  size: number;
  chunkSize: number;
  /** Piece hashes packed: leaf i is bytes [32 i, 32 i + 32). */
  leaves: Uint8Array;
  /** Hex Merkle root over `leaves` (see merkle.ts). */
  root: string;
}

export async function hashFile(path: string, options: HashFileOptions = {}): Promise<FileHashes> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  // Reads hold whole pieces only, so a piece never straddles two reads.
  const readBytes = Math.max(1, Math.floor(READ_BYTES / chunkSize)) * chunkSize;
  const fd = await open(path, 'r');
  try {
    const total = (await fd.stat()).size;
    const parallel = options.singleThread === undefined ? total >= PARALLEL_MIN_BYTES : !options.singleThread;
    const slots = Array.from({ length: SLOT_COUNT }, () => new Uint8Array(new SharedArrayBuffer(readBytes)));
    const whole = parallel ? new WorkerWholeHash(slots) : new InlineWholeHash(slots);
    try {
      const leafList: Uint8Array[] = [];
      let position = 0;
      let slot = 0;
      let pendingRead: Promise<number> | null = readFull(fd, slots[0]!, position);
      while (pendingRead !== null) {
        const length = await pendingRead;
        if (length === 0) break;
        whole.update(slot, length);
        position += length;
        const next = (slot + 1) % SLOT_COUNT;
        if (length === readBytes) {
          await whole.released(next);
          pendingRead = readFull(fd, slots[next]!, position);
        } else {
          pendingRead = null;
        }
        const data = slots[slot]!;
        for (let offset = 0; offset < length; offset += chunkSize) {
          leafList.push(sha256Node(data.subarray(offset, Math.min(offset + chunkSize, length))));
        }
        options.onProgress?.(position, total);
        slot = next;
      }
      if (position === 0) leafList.push(sha256Node(new Uint8Array(0))); // empty file: one leaf, sha256("")
      if (leafList.length !== chunkCount(position, chunkSize))
        throw new Error('file changed while being hashed');
      const leaves = new Uint8Array(leafList.length * HASH_BYTES);
      leafList.forEach((leaf, i) => leaves.set(leaf, i * HASH_BYTES));
      const fileId = await whole.digest();
      return {
        fileId,
        size: position,
        chunkSize,
        leaves,
        root: bytesToHex(await merkleRoot(leaves, nodeHasher)),
      };
    } finally {
      await whole.close();
    }
  } finally {
    await fd.close();
  }
}

/** Whole-file sha256 hex only (the check before a download lands), on this thread. */
export async function sha256File(path: string): Promise<string> {
  const fd = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = new Uint8Array(READ_BYTES);
    for (let position = 0; ;) {
      const length = await readFull(fd, buffer, position);
      if (length === 0) break;
      hash.update(buffer.subarray(0, length));
      position += length;
    }
    return hash.digest('hex');
  } finally {
    await fd.close();
  }
}

/** Fills `buffer` from `position` unless the file ends first; returns the bytes read. */
async function readFull(fd: FileHandle, buffer: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await fd.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** The whole-file hash, fed slot by slot; a slot may be refilled once `released` resolves. */
interface WholeHash {
  update(slot: number, length: number): void;
  released(slot: number): Promise<void>;
  digest(): Promise<string>;
  close(): Promise<void>;
}

class InlineWholeHash implements WholeHash {
  private readonly hash = createHash('sha256');
  constructor(private readonly slots: Uint8Array[]) {}
  update(slot: number, length: number): void {
    this.hash.update(this.slots[slot]!.subarray(0, length));
  }
  released(): Promise<void> {
    return Promise.resolve();
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Plain CommonJS run with `eval`, so the worker needs no loader for TypeScript. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const views = workerData.slots.map((buffer) => new Uint8Array(buffer));
const hash = createHash('sha256');
parentPort.on('message', (message) => {
  if (message.type === 'update') {
    hash.update(views[message.slot].subarray(0, message.length));
    parentPort.postMessage({ type: 'released', slot: message.slot });
  } else {
    parentPort.postMessage({ type: 'digest', hex: hash.digest('hex') });
  }
});
`;

type WorkerReply = { type: 'released'; slot: number } | { type: 'digest'; hex: string };

class WorkerWholeHash implements WholeHash {
  private readonly worker: Worker;
  private readonly busy: boolean[];
  private readonly waiting = new Map<number, () => void>();
  private digestWaiter: ((hex: string) => void) | null = null;
  private failure: Error | null = null;
  private readonly failed: Promise<never>;

  constructor(slots: Uint8Array[]) {
    this.busy = slots.map(() => false);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { slots: slots.map((s) => s.buffer) },
    });
    let reject: (err: Error) => void = () => {};
    this.failed = new Promise<never>((_, r) => (reject = r));
    this.failed.catch(() => {}); // observed through the promises returned below
    const fail = (err: Error) => {
      this.failure ??= err;
      reject(err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    this.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'released') {
        this.busy[reply.slot] = false;
        this.waiting.get(reply.slot)?.();
        this.waiting.delete(reply.slot);
      } else {
        this.digestWaiter?.(reply.hex);
      }
    });
  }

  update(slot: number, length: number): void {
    if (this.failure) throw this.failure;
    this.busy[slot] = true;
    this.worker.postMessage({ type: 'update', slot, length });
  }

  released(slot: number): Promise<void> {
    if (!this.busy[slot]) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => this.waiting.set(slot, resolve)), this.failed]);
  }

  digest(): Promise<string> {
    const result = new Promise<string>((resolve) => (this.digestWaiter = resolve));
    this.worker.postMessage({ type: 'digest' });
    return Promise.race([result, this.failed]);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
