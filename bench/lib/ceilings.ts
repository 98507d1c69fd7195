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
import type { AddressInfo, Server, Socket } from 'node:net';
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
const COPY_TIMEOUT_MS = 120_000;

export interface Ceiling {
  name: string;
  bytes: number;
  ms: number;
  mbPerSec: number;
  /** What the clock covered, from when to when. */
  timed: string;
  /** CPU seconds of this process (all its threads) over the whole measurement, set-up included. */
  cpuS?: number;
}

function ceiling(name: string, bytes: number, ms: number, timed: string): Ceiling {
  return { name, bytes, ms, mbPerSec: bytes / MB / (ms / 1000), timed };
}

// ---- TCP loopback -------------------------------------------------------------------------------

/**
 * The sender runs on a worker thread (its own event loop, like the seeding process of a transfer):
 * it writes frames of a 4-byte big-endian length and a payload, each frame one write, and honours
 * back-pressure; over TLS when given TLS settings. Plain JS, so the worker needs no TypeScript loader.
 */
const SENDER_SOURCE = `
const net = require('node:net');
const tls = require('node:tls');
const { workerData } = require('node:worker_threads');
const { port, frames, frameBytes, headerBytes, tlsSettings } = workerData;
const frame = Buffer.alloc(frameBytes);
require('node:crypto').randomFillSync(frame);
frame.writeUInt32BE(frameBytes - headerBytes, 0);
const pump = () => {
  while (sent < frames) {
    sent += 1;
    if (!socket.write(frame)) return void socket.once('drain', pump);
  }
  socket.end();
};
let sent = 0;
const to = { host: '127.0.0.1', port, noDelay: true };
const socket = tlsSettings ? tls.connect({ ...to, rejectUnauthorized: false, ...tlsSettings }, pump) : net.connect(to, pump);
socket.on('error', (err) => { throw err; });
`;

/** A worker thread sending `frames` frames of `frameBytes` (prefix included) to 127.0.0.1:`port`. */
function startFrameSender(port: number, frames: number, frameBytes: number, tlsSettings?: object): Worker {
  return new Worker(SENDER_SOURCE, { eval: true, workerData: { port, frames, frameBytes, headerBytes: FRAME_HEADER_BYTES, tlsSettings } });
}

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
  const counter = new PayloadCounter();
  const ms = await timeLoopbackCopy(createServer(), 'connection', {
    what: 'TCP loopback copy',
    frames,
    frameBytes: CEILING_PIECE_BYTES,
    expected: frames * (CEILING_PIECE_BYTES - FRAME_HEADER_BYTES),
    consume: (chunk) => {
      counter.push(chunk);
      return counter.payloadBytes;
    },
  });
  return ceiling(
    'TCP loopback copy',
    frames * CEILING_PIECE_BYTES,
    ms,
    'from accepting the connection to parsing the last 4-byte-prefixed frame (64 KiB writes from a worker thread)',
  );
}

export interface LoopbackCopy {
  /** Names the copy in errors. */
  what: string;
  frames: number;
  frameBytes: number;
  /** Sent over TLS with these settings (the server must be a TLS server with a certificate). */
  tlsSettings?: object;
  /** Takes each chunk received and returns how much has been received in all, in its own terms. */
  consume(chunk: Buffer): number;
  /** What `consume` returns once everything arrived. */
  expected: number;
}

/**
 * Frames from a worker thread (startFrameSender) to `server`, which this listens on 127.0.0.1.
 * Resolves with the ms from the server's `accepted` event (for a TLS server, after the handshake) to
 * the receiver having everything; the worker, the socket and the server are gone however it ends.
 */
export async function timeLoopbackCopy(server: Server, accepted: 'connection' | 'secureConnection', copy: LoopbackCopy): Promise<number> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let worker: Worker | undefined;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${copy.what} did not finish within ${COPY_TIMEOUT_MS} ms`)), COPY_TIMEOUT_MS);
      server.once('tlsClientError', reject);
      server.once(accepted, (connection: Socket) => {
        socket = connection;
        const startedAt = performance.now();
        let received = 0;
        connection.on('data', (chunk: Buffer) => {
          received = copy.consume(chunk);
          if (received >= copy.expected) resolve(performance.now() - startedAt);
        });
        connection.on('error', reject);
        connection.on('end', () => {
          if (received < copy.expected) reject(new Error(`${copy.what} ended after ${received} of ${copy.expected}`));
        });
      });
      worker = startFrameSender(port, copy.frames, copy.frameBytes, copy.tlsSettings);
      worker.once('error', reject);
    });
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
  const tcp = await withCpu(() => measureTcpLoopback(bytes));
  const sha = await withCpu(() => measureSha256(bytes));
  const disk = await withCpu(() => measureDiskWrite(dir, bytes));
  return [tcp, sha, disk];
}

/** CPU seconds this process (every thread) spent in `work`. */
export async function cpuSecondsOf<T>(work: () => T | Promise<T>): Promise<{ result: T; cpuS: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(before);
  return { result, cpuS: (used.user + used.system) / 1e6 };
}

async function withCpu(measure: () => Ceiling | Promise<Ceiling>): Promise<Ceiling> {
  const { result, cpuS } = await cpuSecondsOf(measure);
  return { ...result, cpuS };
}

export function lowestCeiling(ceilings: Ceiling[]): Ceiling {
  return ceilings.reduce((low, c) => (c.mbPerSec < low.mbPerSec ? c : low));
}
