/**
 * Benchmark content: random files written in pieces (a 1 GiB file never sits in memory whole) and
 * an independent SHA-256 of a file, to check what a download produced.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, copyFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Random bytes are generated and written this many at a time. */
const WRITE_PIECE_BYTES = 4 * 1024 * 1024;

/** Writes `bytes` random bytes to `path`, returning the file's sha256 hex (its swarmdrop file id). */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const digest = createHash('sha256');
  const piece = Buffer.allocUnsafe(WRITE_PIECE_BYTES);
  const handle = await open(path, 'w');
  try {
    for (let position = 0; position < bytes; ) {
      const length = Math.min(WRITE_PIECE_BYTES, bytes - position);
      const view = piece.subarray(0, length);
      randomFillSync(view);
      digest.update(view);
      await handle.write(view, 0, length, position);
      position += length;
    }
  } finally {
    await handle.close();
  }
  return digest.digest('hex');
}

/** sha256 hex of a file, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: WRITE_PIECE_BYTES })) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

/** Places the same content at `to`: a hard link (no extra disk, same mtime) or, failing that, a copy. */
export async function placeCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await link(from, to).catch(() => copyFile(from, to));
}
