import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { envelope, frame, RawSocket, standardHandshake, standardPeerId } from '../support/raw-socket.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
const sockets: RawSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

const CHUNK = 1024 * 1024;

/** A standard peer that dials `node` and announces a manifest for `fileId` with whatever size and count it likes. */
async function liar(node: TestNode, fileId: string, fileSize: number, chunkCount: number): Promise<RawSocket> {
  const id = standardPeerId();
  const raw = await RawSocket.connect(node.tcpPort);
  sockets.push(raw);
  await raw.write(frame(JSON.stringify(standardHandshake(id))));
  await waitFor(() => raw.frames.find((f) => f.type === 'handshake'), 10_000, 'the handshake response');
  const manifest = { file_id: fileId, file_name: 'lie.bin', file_size: fileSize, chunk_size: CHUNK, chunk_count: chunkCount, checksum: fileId, owner: id };
  await raw.write(frame(JSON.stringify(envelope('file_manifest', id, { recipient_id: null, content: manifest }))));
  return raw;
}

async function seeder(name: string, data: Buffer): Promise<TestNode> {
  const dir = await makeTempDir();
  await putShared(dir, 'truth.bin', data);
  const node = await startTestNode({ dir, name });
  nodes.push(node);
  return node;
}

describe('manifests that lie about size or count', () => {
  it('ignores an inconsistent count, sets aside a size backed by fewer sources, and downloads the truth', async () => {
    const file = randomFile(6 * 1024 * 1024 + 123);
    const target = await startTestNode({ name: 'target' });
    nodes.push(target);

    // The liars come first: one claims a bigger size (consistent count), one a count that fits no size.
    await liar(target, file.fileId, file.data.length + 5 * CHUNK, Math.ceil(file.data.length / CHUNK) + 5);
    await waitFor(async () => (await target.api('/api/files')).body.remote.find((f: any) => f.file_id === file.fileId), 10_000, 'the lie to be listed');
    await liar(target, file.fileId, file.data.length, 1);
    const ignored = await target.waitForLog((l) => l.msg === 'ignored an invalid manifest');
    expect(ignored.reason).toMatch(/chunk_count inconsistent/);

    // Two honest seeders outnumber the liar: their size is the one used.
    const a = await seeder('A', file.data);
    const b = await seeder('B', file.data);
    await target.peer.connect('127.0.0.1', at(a).port);
    await target.peer.connect('127.0.0.1', at(b).port);
    const entry = await waitFor(async () => {
      const { body } = await target.api('/api/files');
      const remote = body.remote.find((f: any) => f.file_id === file.fileId);
      return remote?.file_size === file.data.length && remote.peers.length === 2 ? remote : null;
    }, 20_000, 'the honest size to win');
    expect(entry.peers.sort()).toEqual([a.peer.id, b.peer.id].sort());

    const started = await target.api('/api/files/download', { body: { file_id: file.fileId } });
    expect(started.status).toBe(200);
    expect(started.body.transfer.file_size).toBe(file.data.length);
    const done = await waitForTransferDone(target, started.body.transfer.transfer_id, 60_000, 'the download');
    expect(done.bytes_received).toBe(file.data.length);
    expect((await readShared(target.dir, 'truth.bin')).equals(file.data)).toBe(true);
  });

  it('falls back to the size the remaining sources claim when the first claimant leaves', async () => {
    const file = randomFile(3 * 1024 * 1024);
    const target = await startTestNode({ name: 'target' });
    nodes.push(target);
    const lie = await liar(target, file.fileId, file.data.length * 2, Math.ceil((file.data.length * 2) / CHUNK));
    await waitFor(async () => (await target.api('/api/files')).body.remote.find((f: any) => f.file_id === file.fileId), 10_000, 'the lie to be listed');
    const a = await seeder('A', file.data);
    await target.peer.connect('127.0.0.1', at(a).port);
    // One against one: the first claim stays in use, the honest one is set aside ...
    await waitFor(() => target.peer.connectionTo(a.peer.id), 10_000, 'A connected');
    // ... until the liar leaves.
    lie.destroy();
    const entry = await waitFor(async () => {
      const { body } = await target.api('/api/files');
      const remote = body.remote.find((f: any) => f.file_id === file.fileId);
      return remote?.file_size === file.data.length ? remote : null;
    }, 20_000, 'the honest claim to take over');
    expect(entry.peers).toEqual([a.peer.id]);
  });
});
