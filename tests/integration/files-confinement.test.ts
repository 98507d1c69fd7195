import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, sha256Hex } from '../support/files.ts';
import { chunkServed, StandardPeer } from '../support/standard-peer.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * Nothing outside shared_files/ is ever served: not a file a symlink in shared_files/ points at, not
 * the node's own files in <dir>, not a hidden file. A request can only name a file in the index.
 */

const nodes: TestNode[] = [];
const peers: StandardPeer[] = [];
afterEach(async () => {
  await Promise.all([...nodes.splice(0).map((n) => n.close()), ...peers.splice(0).map((p) => p.close())]);
  await removeTempDirs();
});

describe('files outside the index', () => {
  it('neither lists, announces nor serves what a symlink in shared_files/ points at, nor anything else outside the index', async () => {
    const outside = await makeTempDir('swarmdrop-outside-');
    const secret = Buffer.from('a secret that lives outside the data directory\n');
    await writeFile(join(outside, 'secret.txt'), secret);
    await mkdir(join(outside, 'private'));
    const nested = Buffer.from('nested secret\n');
    await writeFile(join(outside, 'private', 'nested.txt'), nested);

    const dir = await makeTempDir();
    const shared = randomFile(5000);
    await putShared(dir, 'public.bin', shared.data);
    const hidden = Buffer.from('hidden file in shared_files\n');
    await writeFile(join(dir, 'shared_files', '.hidden'), hidden);
    await symlink(join(outside, 'secret.txt'), join(dir, 'shared_files', 'secret.txt'));
    await symlink(join(outside, 'private'), join(dir, 'shared_files', 'private'));
    await symlink('../identity.json', join(dir, 'shared_files', 'identity.json'));

    const node = await startTestNode({ dir }, { webrtc: false });
    nodes.push(node);
    await waitFor(() => node.library.get(shared.fileId), 10_000, 'the public file indexed');
    await node.waitForLog((l) => l.msg === 'not sharing a symlink in shared_files' && /secret/.test(JSON.stringify(l)));

    const listed = (await node.api('/api/files')).body.local.map((f: any) => f.file_name);
    expect(listed).toEqual(['public.bin']);

    const std = await StandardPeer.start({});
    peers.push(std);
    const conn = await std.dial('127.0.0.1', node.tcpPort);
    await std.waitFor(() => std.manifests.get(shared.fileId), 10_000, 'the manifest of the public file');
    expect([...std.manifests.values()].map((m) => m.file_name)).toEqual(['public.bin']);

    // The control: a shared file is served to this very connection.
    expect(await chunkServed(std, conn, node.peer.id, shared.fileId, 10_000)).toBe(true);
    // Requests by the content hash of files that exist, readable by the node, but not in the index.
    const identity = await readFile(join(dir, 'identity.json'));
    for (const [what, data] of [
      ['the symlink target', secret],
      ['a file in a symlinked directory', nested],
      ['a hidden file in shared_files', hidden],
      ["the node's identity", identity],
    ] as const) {
      expect(await chunkServed(std, conn, node.peer.id, sha256Hex(data), 1_500), what).toBe(false);
    }
    // The node lives on and still serves the honest request.
    expect(std.connectedPeerIds()).toContain(node.peer.id);
  });
});
