import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomFile } from '../support/files.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

describe('sharing from shared_files/', () => {
  it('announces a file copied in while the node runs to the peers already connected', async () => {
    const a = await startTestNode({ name: 'A' });
    const b = await startTestNode({ name: 'B', connect: [at(a)] });
    nodes.push(a, b);
    await waitFor(() => b.peer.connectionTo(a.peer.id), 10_000, 'B connected');
    const file = randomFile(300_000);
    const outside = join(await makeTempDir(), 'notes.txt');
    await writeFile(outside, file.data);
    await copyFile(outside, join(a.dir, 'shared_files', 'notes.txt'));
    const remote = await waitForOffer(b, file.fileId, 20_000, 'the announcement at B');
    expect(remote).toMatchObject({ file_name: 'notes.txt', file_size: file.data.length, peers: [a.peer.id] });
    const local = (await a.api('/api/files/list')).body.local;
    expect(local.map((m: any) => m.file_id)).toEqual([file.fileId]);
    expect((await a.api('/api/status')).body).toMatchObject({ files_shared_local: 1 });
    expect((await b.api('/api/status')).body).toMatchObject({ files_known_remote: 1 });
  });

  it('answers a download of an unknown file with 400 and a detail', async () => {
    const a = await startTestNode();
    nodes.push(a);
    const res = await a.api('/api/files/download', { body: { file_id: 'a'.repeat(64) } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/no connected peer has file/);
    expect((await a.api('/api/files/download', { body: { file_id: 'nope' } })).status).toBe(400);
    expect((await a.api('/api/files/transfers/nope')).status).toBe(404);
    expect((await a.api('/api/files/transfers/nope/cancel', { body: {} })).status).toBe(404);
  });
});
