import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

async function seeder(name: string, file: { data: Buffer }, overrides = {}) {
  const dir = await makeTempDir();
  await putShared(dir, 'movie.bin', file.data);
  const node = await startTestNode({ dir, name, ...overrides });
  nodes.push(node);
  return node;
}

async function waitForTransfer(node: TestNode, id: string, timeoutMs = 60_000) {
  return waitForTransferDone(node, id, timeoutMs, 'the transfer to complete');
}

describe('verified multi-peer download', () => {
  it('downloads a 20 MB file from two seeders at once, byte-identical', async () => {
    const file = randomFile(20 * 1000 * 1000);
    // Capped seeders, so that neither can finish the whole file alone before the other joins in.
    const a = await seeder('A', file, { uploadLimit: 8 * 1024 * 1024 });
    const b = await seeder('B', file, { uploadLimit: 8 * 1024 * 1024 });
    const c = await startTestNode({
      name: 'C',
      connect: [
        at(a),
        at(b),
      ],
    });
    nodes.push(c);
    const remote = await waitFor(async () => {
      const { body } = await c.api('/api/files');
      const entry = body.remote.find((f: any) => f.file_id === file.fileId);
      return entry?.peers.length === 2 ? entry : null;
    }, 20_000, 'both seeders to announce the file');
    expect(remote).toMatchObject({ file_name: 'movie.bin', file_size: file.data.length, checksum: file.fileId });

    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    expect(started.status).toBe(200);
    const transfer = await waitForTransfer(c, started.body.transfer.transfer_id);
    expect(transfer).toMatchObject({ bytes_received: file.data.length, file_name: 'movie.bin', error: null });
    expect(transfer.peers_used.sort()).toEqual([a.peer.id, b.peer.id].sort());
    const perPeer = Object.fromEntries(transfer.peers.map((p: any) => [p.peer_id, p]));
    expect(perPeer[a.peer.id].chunks).toBeGreaterThan(0);
    expect(perPeer[b.peer.id].chunks).toBeGreaterThan(0);
    expect((await readShared(c.dir, 'movie.bin')).equals(file.data)).toBe(true);
    // C now shares it too.
    const status = (await c.api('/api/status')).body;
    expect(status.files_shared_local).toBe(1);
  });
});
