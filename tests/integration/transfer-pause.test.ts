import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

/** Longer than several request round trips and the seeder's send window: nothing more may arrive after it. */
const SETTLE_MS = 1_500;

describe('pausing a download', () => {
  it('stops it, keeps it paused across a restart, and resume finishes it byte-identical', async () => {
    const file = randomFile(8 * 1024 * 1024);
    const seedDir = await makeTempDir();
    await putShared(seedDir, 'paused.bin', file.data);
    // Capped so the download is still running when it is paused.
    const seeder = await startTestNode({ dir: seedDir, name: 'A', uploadLimit: 1024 * 1024 });
    nodes.push(seeder);
    const dir = await makeTempDir();
    let leecher = await startTestNode({ dir, name: 'B', connect: [at(seeder)] });
    nodes.push(leecher);

    await waitFor(() => leecher.transfers.catalog.get(file.fileId), 20_000, 'the file offered');
    const { transfer_id: id } = await leecher.transfers.download(file.fileId);
    await waitFor(() => leecher.transfers.get(id)!.bytes_received > 0, 20_000, 'some bytes');
    await leecher.transfers.pause(id);
    expect(leecher.transfers.get(id)).toMatchObject({ paused: true, status: expect.stringMatching(/pending|running/) });

    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const held = leecher.transfers.get(id)!.bytes_received;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    expect(leecher.transfers.get(id)!.bytes_received).toBe(held);
    expect(held).toBeLessThan(file.data.length);

    // A restart does not un-pause it.
    await leecher.close();
    nodes.splice(nodes.indexOf(leecher), 1);
    leecher = await startTestNode({ dir, name: 'B', connect: [at(seeder)] });
    nodes.push(leecher);
    await waitFor(() => leecher.transfers.catalog.get(file.fileId), 20_000, 'the file offered again');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // (bytes_received may read lower than before: it is saved with status changes, not per piece.)
    expect(leecher.transfers.get(id)!.paused).toBe(true);
    expect(leecher.transfers.get(id)!.bytes_received).toBeLessThanOrEqual(held);

    await leecher.transfers.resume(id);
    await waitFor(() => leecher.transfers.get(id)!.status === 'completed', 60_000, 'the resumed download complete');
    expect((await readShared(dir, 'paused.bin')).equals(file.data)).toBe(true);
  });
});
