import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

async function node(overrides = {}, data?: Buffer) {
  const dir = await makeTempDir();
  if (data) await putShared(dir, 'data.bin', data);
  const n = await startTestNode({ dir, ...overrides });
  nodes.push(n);
  return n;
}

async function startDownload(n: TestNode, fileId: string, peerCount: number): Promise<string> {
  await waitForOffer(n, fileId, 20_000, `${peerCount} peers to offer the file`, peerCount);
  const started = await n.api('/api/files/download', { body: { file_id: fileId } });
  expect(started.status).toBe(200);
  return started.body.transfer.transfer_id;
}

async function finished(n: TestNode, id: string) {
  return waitForTransferDone(n, id, 90_000, 'the transfer to complete');
}

describe('swarming', () => {
  it('takes fewer chunks from a throttled seeder than from a fast one', async () => {
    const file = randomFile(8 * 1024 * 1024);
    const fast = await node({ name: 'fast' }, file.data);
    const slow = await node({ name: 'slow', uploadLimit: 256 * 1024 }, file.data);
    const c = await node({ name: 'C', connect: [at(fast), at(slow)] });
    const transfer = await finished(c, await startDownload(c, file.fileId, 2));
    const chunksOf = (n: TestNode) => transfer.peers.find((p: any) => p.peer_id === n.peer.id)?.chunks ?? 0;
    expect(chunksOf(fast)).toBeGreaterThan(chunksOf(slow));
    expect((await readShared(c.dir, 'data.bin')).equals(file.data)).toBe(true);
  });

  it('lets a second downloader fetch from the first while the first is still downloading', async () => {
    const file = randomFile(6 * 1024 * 1024);
    // A capped seeder keeps B's download going for a few seconds.
    const a = await node({ name: 'A', uploadLimit: 1024 * 1024 }, file.data);
    const b = await node({ name: 'B', connect: [at(a)] });
    const bTransfer = await startDownload(b, file.fileId, 1);
    await waitFor(async () => (await b.api(`/api/files/transfers/${bTransfer}`)).body.transfer.chunks_completed >= 8, 30_000, 'B to hold some chunks');

    const c = await node({ name: 'C', connect: [at(a), at(b)] });
    const cTransfer = await startDownload(c, file.fileId, 2);
    // Seen in this order: C holds chunks from B, and after that B is still downloading.
    const seen = await waitFor(async () => {
      const { body } = await c.api(`/api/files/transfers/${cTransfer}`);
      const fromB = body.transfer.peers.find((p: any) => p.peer_id === b.peer.id && p.chunks > 0);
      if (!fromB) return null;
      return { fromB, bStatus: (await b.api(`/api/files/transfers/${bTransfer}`)).body.transfer.status };
    }, 30_000, 'C to get chunks from B');
    expect(seen.fromB.chunks).toBeGreaterThan(0);
    expect(seen.bStatus).toBe('running');
    await finished(c, cTransfer);
    await finished(b, bTransfer);
    expect((await readShared(c.dir, 'data.bin')).equals(file.data)).toBe(true);
    expect((await readShared(b.dir, 'data.bin')).equals(file.data)).toBe(true);
  });
});
