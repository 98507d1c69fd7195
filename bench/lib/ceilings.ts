/**
 * Raw ceilings, measured in the same run as the figures they bound: what this machine can do at all
 * for each stage a download goes through (bytes over loopback TCP, SHA-256, writes to disk). A
 * transfer cannot beat the lowest of them, so a figure divided by that lowest ceiling says how much
 * of the machine the code is using, independent of how fast the machine is.
 *
 * Every measure returns megabytes (10^6 bytes) per second and says in `timed` what its clock covers.
 */
import { hash as oneShotHash, randomFillSync } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export const MB = 1_000_000;
export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

/** Every ceiling moves data in pieces of this size: the node's piece size. */
export const CEILING_PIECE_BYTES = 64 * KIB;
/** Length prefix of a frame on the node's TCP wire (STANDARD-PROTOCOL.md). */
const FRAME_HEADER_BYTES = 4;
/** In-memory data hashed over and over by the SHA-256 ceiling: bigger than the CPU caches. */
const HASH_POOL_BYTES = 16 * MIB;
/** Random bytes cycled through by the disk ceiling (the content does not matter to the disk). */
const DISK_POOL_BYTES = 4 * MIB;
/** A loopback copy that takes longer than this is broken, not slow. */
const TCP_TIMEOUT_MS = 120_000;

export interface Ceiling {
  name: string;
  bytes: number;
  ms: number;
  mbPerSec: number;
  /** What the clock covered, from when to when. */
  timed: string;
}

function ceiling(name: string, bytes: number, ms: number, timed: string): Ceiling {
  return { name, bytes, ms, mbPerSec: bytes / MB / (ms / 1000), timed };
}

// ---- TCP loopback -------------------------------------------------------------------------------

/**
 * The sender runs on a worker thread (its own event loop, like the seeding process of a transfer):
 * it writes frames of a 4-byte big-endian length and a payload, each frame one 64 KiB write, and
 * honours back-pressure. Plain JS, so the worker needs no TypeScript loader.
 */
const SENDER_SOURCE = `
const net = require('node:net');
const { workerData } = require('node:worker_threads');
const { port, frames, frameBytes, headerBytes } = workerData;
const frame = Buffer.alloc(frameBytes);
require('node:crypto').randomFillSync(frame);
frame.writeUInt32BE(frameBytes - headerBytes, 0);
const socket = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
  let sent = 0;
  const pump = () => {
    while (sent < frames) {
      sent += 1;
      if (!socket.write(frame)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
});
socket.on('error', (err) => { throw err; });
`;

/**
 * Counts payloads out of a length-prefixed stream the way a careful reader does: a payload inside one
 * received chunk is a view, one that spans chunks is copied once into its own buffer.
 */
class PayloadCounter {
  payloads = 0;
  payloadBytes = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #needed: number | null = null;

  push(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    for (;;) {
      if (this.#needed === null) {
        if (this.#pendingBytes < FRAME_HEADER_BYTES) return;
        this.#needed = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
      }
      if (this.#pendingBytes < this.#needed) return;
      const payload = this.#take(this.#needed);
      this.payloads += 1;
      this.payloadBytes += payload.length;
      this.#needed = null;
    }
  }

  #take(n: number): Buffer {
    const head = this.#pending[0]!;
    if (head.length >= n) {
      const view = head.subarray(0, n);
      if (head.length === n) this.#pending.shift();
      else this.#pending[0] = head.subarray(n);
      this.#pendingBytes -= n;
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.#pending[0]!;
      const count = Math.min(chunk.length, n - written);
      chunk.copy(out, written, 0, count);
      written += count;
      if (count === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(count);
    }
    this.#pendingBytes -= n;
    return out;
  }
}

/**
 * `bytes` of frames (64 KiB each, prefix included) from a worker thread to this thread over a
 * 127.0.0.1 socket. Timed from the listener accepting the connection to the receiver having parsed
 * the last payload; the worker's start-up and the TCP handshake are outside the clock.
 */
export async function measureTcpLoopback(bytes: number): Promise<Ceiling> {
  const frames = Math.max(1, Math.round(bytes / CEILING_PIECE_BYTES));
  const expectedPayload = frames * (CEILING_PIECE_BYTES - FRAME_HEADER_BYTES);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let worker: Worker | undefined;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ms = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`TCP loopback copy did not finish within ${TCP_TIMEOUT_MS} ms`)), TCP_TIMEOUT_MS);
      server.once('connection', (accepted) => {
        socket = accepted;
        const startedAt = performance.now();
        const counter = new PayloadCounter();
        accepted.on('data', (chunk: Buffer) => {
          counter.push(chunk);
          if (counter.payloadBytes >= expectedPayload) resolve(performance.now() - startedAt);
        });
        accepted.on('error', reject);
        accepted.on('end', () => {
          if (counter.payloadBytes < expectedPayload) reject(new Error(`TCP loopback copy ended after ${counter.payloadBytes} bytes`));
        });
      });
      worker = new Worker(SENDER_SOURCE, {
        eval: true,
        workerData: { port, frames, frameBytes: CEILING_PIECE_BYTES, headerBytes: FRAME_HEADER_BYTES },
      });
      worker.once('error', reject);
    });
    return ceiling(
      'TCP loopback copy',
      frames * CEILING_PIECE_BYTES,
      ms,
      'from accepting the connection to parsing the last 4-byte-prefixed frame (64 KiB writes from a worker thread)',
    );
  } finally {
    clearTimeout(timer);
    socket?.destroy();
    await worker?.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---- SHA-256 ------------------------------------------------------------------------------------

/**
 * One-shot node:crypto SHA-256 of each 64 KiB piece of a random in-memory pool, cycled until `bytes`
 * are hashed: what verifying pieces costs. Timed from the first digest to the last.
 */
export function measureSha256(bytes: number): Ceiling {
  const pool = randomFillSync(Buffer.allocUnsafe(HASH_POOL_BYTES));
  const pieces = Math.max(1, Math.round(bytes / CEILING_PIECE_BYTES));
  const perPool = HASH_POOL_BYTES / CEILING_PIECE_BYTES;
  const startedAt = performance.now();
  for (let i = 0; i < pieces; i++) {
    const offset = (i % perPool) * CEILING_PIECE_BYTES;
    oneShotHash('sha256', pool.subarray(offset, offset + CEILING_PIECE_BYTES), 'buffer');
  }
  const ms = performance.now() - startedAt;
  return ceiling('SHA-256 (node:crypto)', pieces * CEILING_PIECE_BYTES, ms, 'from the first to the last digest of 64 KiB in-memory pieces');
}

// ---- disk ---------------------------------------------------------------------------------------

/**
 * Positional 64 KiB writes, one after the other, of `bytes` into a new file in `dir`, then one
 * fdatasync. Timed from opening the file to the end of the fdatasync; the file is deleted after.
 */
export async function measureDiskWrite(dir: string, bytes: number): Promise<Ceiling> {
  const pool = randomFillSync(Buffer.allocUnsafe(DISK_POOL_BYTES));
  const pieces = Math.max(1, Math.round(bytes / CEILING_PIECE_BYTES));
  const perPool = DISK_POOL_BYTES / CEILING_PIECE_BYTES;
  const path = join(dir, 'disk-ceiling.bin');
  const startedAt = performance.now();
  const handle = await open(path, 'w');
  try {
    for (let i = 0; i < pieces; i++) {
      const offset = (i % perPool) * CEILING_PIECE_BYTES;
      await handle.write(pool, offset, CEILING_PIECE_BYTES, i * CEILING_PIECE_BYTES);
    }
    await handle.datasync();
    const ms = performance.now() - startedAt;
    return ceiling('disk write', pieces * CEILING_PIECE_BYTES, ms, 'from opening the file to the end of fdatasync (sequential positional 64 KiB writes)');
  } finally {
    await handle.close();
    await unlink(path).catch(() => {});
  }
}

/** The three ceilings, one after the other (a 2-core machine: in parallel they would slow each other). */
export async function measureCeilings(dir: string, bytes: number): Promise<Ceiling[]> {
  const tcp = await measureTcpLoopback(bytes);
  const sha = measureSha256(bytes);
  const disk = await measureDiskWrite(dir, bytes);
  return [tcp, sha, disk];
}

export function lowestCeiling(ceilings: Ceiling[]): Ceiling {
  return ceilings.reduce((low, c) => (c.mbPerSec < low.mbPerSec ? c : low));
}
