import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SerialWriter } from '../../lib/transfer/serial-writer.node.ts';

const root = mkdtempSync(join(tmpdir(), 'swarmdrop-serial-writer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let fileCounter = 0;

/** A real file handle whose write calls are counted, with the most ever running at once. */
async function countedFile() {
  const path = join(root, `file-${fileCounter++}`);
  const fd = await open(path, 'w+');
  const stats = { calls: 0, running: 0, maxRunning: 0 };
  const counted = <T>(call: () => Promise<T>) => {
    stats.calls++;
    stats.maxRunning = Math.max(stats.maxRunning, ++stats.running);
    return call().finally(() => stats.running--);
  };
  const handle = {
    write: (...args: Parameters<FileHandle['write']>) => counted(() => fd.write(...args)),
    writev: (...args: Parameters<FileHandle['writev']>) => counted(() => fd.writev(...args)),
  } as unknown as FileHandle;
  return { path, fd, handle, stats };
}

describe('SerialWriter', () => {
  it('writes pieces asked for at once, in any order, with one call at a time', async () => {
    const file = await countedFile();
    const piece = 64 * 1024;
    const data = randomBytes(40 * piece);
    const writer = new SerialWriter(file.handle);
    const order = [...Array(40).keys()].sort(() => Math.random() - 0.5);
    const writes: Promise<void>[] = [];
    for (const [step, i] of order.entries()) {
      // Separate buffers (copies), some in later ticks: runs join however they are split.
      writes.push(writer.write(Uint8Array.from(data.subarray(i * piece, (i + 1) * piece)), i * piece));
      if (step % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    await file.fd.close();
    expect(file.stats.maxRunning).toBe(1);
    expect(file.stats.calls).toBeLessThan(40);
    expect(Buffer.compare(readFileSync(file.path), data)).toBe(0);
  });

  it('joins contiguous pieces of one tick into one call, even from different buffers', async () => {
    const file = await countedFile();
    const a = randomBytes(1000);
    const b = randomBytes(500);
    const writer = new SerialWriter(file.handle);
    await Promise.all([writer.write(b, 1000), writer.write(a, 0)]);
    await file.fd.close();
    expect(file.stats.calls).toBe(1);
    expect(Buffer.compare(readFileSync(file.path), Buffer.concat([a, b]))).toBe(0);
  });

  it('fails the writes of a run that failed, and goes on with the others', async () => {
    const file = await countedFile();
    await file.fd.close(); // every write to it fails now
    const writer = new SerialWriter(file.handle);
    const results = await Promise.allSettled([writer.write(randomBytes(10), 0), writer.write(randomBytes(10), 100)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
