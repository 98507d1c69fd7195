import { execFile } from 'node:child_process';
import { mkdir, open, readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const run = promisify(execFile);
/**
 * Room for the node's free-space check before a download (the file plus a 64 MiB margin) to pass:
 * the disk then fills up during the transfer, from another writer, as it does in life.
 */
const TMPFS_BYTES = 112 * 1024 * 1024;

const nodes: TestNode[] = [];
const mounts: string[] = [];
afterEach(async () => {
  try {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  } finally {
    // Unmounted whatever happened above, so no tmpfs outlives the test.
    for (const dir of mounts.splice(0)) await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    await removeTempDirs();
  }
});

/**
 * Mounts a small tmpfs on a fresh temp dir and returns the node's data dir inside it, or why it cannot
 * (mounting needs root / CAP_SYS_ADMIN).
 */
async function smallDisk(): Promise<{ mount: string; dir: string } | { skip: string }> {
  const mount = await makeTempDir();
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'tmpfs', mount]);
  } catch (err) {
    return { skip: `cannot mount a tmpfs here (${(err as Error).message.trim().split('\n')[0]}): the disk-full test needs root` };
  }
  mounts.push(mount);
  const dir = join(mount, 'node');
  await mkdir(dir);
  return { mount, dir };
}

/** Another program fills the disk: writes into `path` until the file system has no block left. */
async function fillDisk(path: string): Promise<void> {
  const file = await open(path, 'w');
  const block = Buffer.alloc(256 * 1024, 7);
  try {
    for (;;) await file.write(block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await file.close();
  }
  const { bfree } = await statfs(path);
  expect(bfree).toBe(0);
}

describe('the disk filling up during a download', () => {
  it('fails the transfer with a clear error, keeps the partial file, and the node serves on', async (ctx) => {
    const disk = await smallDisk();
    if ('skip' in disk) {
      console.warn(`skipped: ${disk.skip}`);
      ctx.skip();
      return;
    }
    const big = randomFile(24 * 1024 * 1024);
    const small = randomFile(512 * 1024);
    const seederDir = await makeTempDir();
    await putShared(seederDir, 'big.bin', big.data);
    // Capped, so the disk can be filled while the transfer runs.
    const seeder = await startTestNode({ dir: seederDir, name: 'seeder', uploadLimit: 4 * 1024 * 1024 });
    nodes.push(seeder);
    // The node on the small disk already shares a small file of its own.
    await putShared(disk.dir, 'small.bin', small.data);
    const c = await startTestNode({ dir: disk.dir, name: 'C', connect: [at(seeder)] });
    nodes.push(c);
    await waitForOffer(c, big.fileId, 20_000, 'the seeder to offer the big file');

    const started = await c.api('/api/files/download', { body: { file_id: big.fileId } });
    expect(started.status).toBe(200);
    const transferOf = async () => (await c.api(`/api/files/transfers/${started.body.transfer.transfer_id}`)).body.transfer;
    await waitFor(async () => (await transferOf()).bytes_received > 0, 30_000, 'the first pieces');
    await fillDisk(join(disk.mount, 'filler.bin'));
    const failed = await waitFor(async () => {
      const transfer = await transferOf();
      if (transfer.status === 'completed') throw new Error('the download completed on a full disk');
      return transfer.status === 'failed' ? transfer : null;
    }, 60_000, 'the download to fail');
    expect(failed.error).toMatch(/no space left on the device \(ENOSPC\) writing .*\.partial.*the partial file is kept/);
    expect(failed.bytes_received).toBeGreaterThan(0);
    expect(failed.bytes_received).toBeLessThan(big.data.length);

    // The partial file is kept (a later retry, with room, resumes from it); nothing landed in shared_files.
    const partials = await readdir(join(disk.dir, '.partial')).catch(() => [] as string[]);
    const sizes = await Promise.all(partials.map((name) => stat(join(disk.dir, '.partial', name)).then((s) => s.size)));
    expect(Math.max(0, ...sizes)).toBeGreaterThan(0);
    await expect(readShared(disk.dir, 'big.bin')).rejects.toThrow();

    // The node lives on: it answers its API, and serves its own file to the seeder.
    expect((await c.api('/api/status')).status).toBe(200);
    await waitForOffer(seeder, small.fileId, 20_000, 'C to offer its small file');
    const back = await seeder.api('/api/files/download', { body: { file_id: small.fileId } });
    await waitFor(async () => {
      const { body } = await seeder.api(`/api/files/transfers/${back.body.transfer.transfer_id}`);
      if (body.transfer.status === 'failed') throw new Error(body.transfer.error);
      return body.transfer.status === 'completed';
    }, 30_000, 'the seeder to download the small file from C');
    expect((await readShared(seederDir, 'small.bin')).equals(small.data)).toBe(true);
  });
});
