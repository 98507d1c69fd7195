import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { startNodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
const processes: NodeProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

/** transfer-multi-source.test.ts covers two live seeders; here one of them dies with SIGKILL mid-transfer. */
describe('a seeder killed in the middle of a transfer', () => {
  it('leaves the download to finish from the other seeder, byte-identical', async () => {
    const file = randomFile(24 * 1024 * 1024);
    const dirA = await makeTempDir();
    await putShared(dirA, 'film.bin', file.data);
    // Both capped so that the transfer is still running when one dies.
    const a = await startTestNode({ dir: dirA, name: 'A', uploadLimit: 3 * 1024 * 1024 });
    nodes.push(a);
    const dirB = await makeTempDir();
    await putShared(dirB, 'film.bin', file.data);
    const b = await startNodeProcess(['--dir', dirB, '--name', 'B', '--upload-limit', '3M']);
    processes.push(b);

    const c = await startTestNode({ name: 'C', connect: [at(a), at(b)] });
    nodes.push(c);
    await waitForOffer(c, file.fileId, 30_000, 'both seeders to offer the file', 2);
    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    expect(started.status).toBe(200);
    const id = started.body.transfer.transfer_id;
    const transferOf = async () => (await c.api(`/api/files/transfers/${id}`)).body.transfer;
    const fromB = async () => (await transferOf()).peers.find((p: any) => p.peer_id === b.peerId)?.chunks ?? 0;
    await waitFor(async () => (await fromB()) > 0, 30_000, 'B to have served some chunks');
    const atKill = await transferOf();
    expect(atKill.status).not.toBe('completed');
    expect(await b.kill('SIGKILL')).toBeNull();

    const done = await waitFor(async () => {
      const transfer = await transferOf();
      if (transfer.status === 'failed') throw new Error(`transfer failed: ${transfer.error}`);
      return transfer.status === 'completed' ? transfer : null;
    }, 90_000, 'the download to finish from A');
    expect(done.bytes_received).toBe(file.data.length);
    expect(done.peers_used.sort()).toEqual([a.peer.id, b.peerId].sort());
    expect(done.peers.find((p: any) => p.peer_id === a.peer.id).chunks).toBeGreaterThan(0);
    expect((await readShared(c.dir, 'film.bin')).equals(file.data)).toBe(true);
    await c.waitForLog((l) => l.msg === 'peer disconnected' && l.peer === b.peerId);
  });
});
