/**
 * What the work a verified, encrypted TCP download cannot avoid costs this machine in CPU, measured
 * in the same run as the download, and the bound that this work alone puts on any such transfer
 * here. The seeder and the downloader of the tcp row run on this machine and share its cores. The
 * stages, each measured on its own:
 *   - the bytes over a TLS 1.3 link with the product's version and suites: encryption, the loopback
 *     TCP copy, decryption (a sender on a worker thread, in 1 MiB writes, as chunk frames go out);
 *   - SHA-256 three times: the seeder's check of each piece it reads, the downloader's check of each
 *     piece it receives, and the whole-file hash that binds the pieces to the file id (the SHA-256
 *     ceiling's CPU, once per pass);
 *   - the writes into the file as FsChunkStore makes them: positional 1 MiB writes, an fdatasync every
 *     FLUSH_EVERY_BYTES, and the written pages dropped from the cache where the addon is built.
 * Left out, so the bound is higher than the truth: the seeder's reads, and all the work between the
 * stages (framing, requests, scheduling, bookkeeping).
 */
import { randomFillSync } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { processTlsCredentials, TLS_SETTINGS } from '../../lib/peer/tls-link.node.ts';
import { CACHED_BEHIND_BYTES, FLUSH_EVERY_BYTES } from '../../lib/transfer/chunk-store-fs.node.ts';
import { canDropCachedPages, dropCachedPages } from '../../lib/transfer/page-cache.node.ts';
import { cpuSecondsOf, MB, MIB, timeLoopbackCopy } from './ceilings.ts';
import type { Ceiling } from './ceilings.ts';

/** Writes of this size: a chunk frame over TCP, and a chunk written to the file. */
const WRITE_BYTES = MIB;
/** Random bytes cycled through by the write stage. */
const WRITE_POOL_BYTES = 4 * MIB;
/** SHA-256 passes over every byte in a download (see the header). */
export const HASH_PASSES = 3;

export interface StageCost {
  name: string;
  /** CPU seconds for the stage over the run's bytes, all passes. */
  cpuS: number;
}

export interface StageFloor {
  bytes: number;
  stages: StageCost[];
  /** CPU seconds all the stages take over the run's bytes. */
  cpuS: number;
  /** Cores of this machine: what the stages may at best share. */
  cores: number;
  /** The fastest any transfer doing these stages could go here, with every core busy on them alone. */
  boundMbPerSec: number;
  /** The write stage's own speed (wall clock), for comparison with the disk-write ceiling. */
  writeMbPerSec: number;
}

/** The stage costs over `bytes`; `sha` is this run's SHA-256 ceiling (its CPU is one pass). */
export async function measureStageFloor(dir: string, bytes: number, sha: Ceiling): Promise<StageFloor> {
  const tlsCopy = await cpuSecondsOf(() => copyOverTls(bytes));
  const writes = await cpuSecondsOf(() => writeAsADownload(dir, bytes));
  const hashCpuS = (sha.cpuS ?? sha.ms / 1000) * (bytes / sha.bytes);
  const stages: StageCost[] = [
    { name: 'TLS 1.3 loopback copy', cpuS: tlsCopy.cpuS },
    { name: `SHA-256 x ${HASH_PASSES}`, cpuS: HASH_PASSES * hashCpuS },
    {
      name: canDropCachedPages ? 'writes, fdatasync, page-cache drop' : 'writes, fdatasync',
      cpuS: writes.cpuS,
    },
  ];
  const cpuS = stages.reduce((sum, s) => sum + s.cpuS, 0);
  const cores = availableParallelism();
  return {
    bytes,
    stages,
    cpuS,
    cores,
    boundMbPerSec: bytes / MB / (cpuS / cores),
    writeMbPerSec: bytes / MB / (writes.result / 1000),
  };
}

/**
 * Sends `bytes` in 1 MiB frames over TLS from a worker thread to this thread, which counts them;
 * resolves with the ms from the TLS handshake's end to the last byte received.
 */
async function copyOverTls(bytes: number): Promise<number> {
  const frames = Math.max(1, Math.round(bytes / WRITE_BYTES));
  const { key, cert } = await processTlsCredentials();
  let received = 0;
  return timeLoopbackCopy(tls.createServer({ key, cert, ...TLS_SETTINGS }), 'secureConnection', {
    what: 'the TLS loopback copy',
    frames,
    frameBytes: WRITE_BYTES,
    tlsSettings: TLS_SETTINGS,
    expected: frames * WRITE_BYTES,
    consume: (chunk) => (received += chunk.length),
  });
}

/**
 * Writes `bytes` into a new file in `dir` the way FsChunkStore does in order (see the header) and
 * resolves with the ms it took, the last fdatasync included; the file is deleted after.
 */
async function writeAsADownload(dir: string, bytes: number): Promise<number> {
  const pool = randomFillSync(Buffer.allocUnsafe(WRITE_POOL_BYTES));
  const writes = Math.max(1, Math.round(bytes / WRITE_BYTES));
  const path = join(dir, 'stage-writes.bin');
  const startedAt = performance.now();
  const handle = await open(path, 'w');
  try {
    let synced = 0;
    let dropped = 0;
    for (let i = 0; i < writes; i++) {
      const offset = (i * WRITE_BYTES) % WRITE_POOL_BYTES;
      await handle.write(pool, offset, WRITE_BYTES, i * WRITE_BYTES);
      const written = (i + 1) * WRITE_BYTES;
      if (written - synced < FLUSH_EVERY_BYTES && i < writes - 1) continue;
      await handle.datasync();
      synced = written;
      const dropTo = synced - CACHED_BEHIND_BYTES;
      if (dropTo > dropped && (await dropCachedPages(handle.fd, dropped, dropTo - dropped))) dropped = dropTo;
    }
    return performance.now() - startedAt;
  } finally {
    await handle.close();
    await unlink(path).catch(() => {});
  }
}
