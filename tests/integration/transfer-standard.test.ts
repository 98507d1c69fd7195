import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared, sharedNames } from '../support/files.ts';
import { StandardPeer } from '../support/standard-peer.ts';
import type { StandardPeerOptions } from '../support/standard-peer.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
const peers: StandardPeer[] = [];
afterEach(async () => {
  await Promise.all([...nodes.splice(0).map((n) => n.close()), ...peers.splice(0).map((p) => p.close())]);
  await removeTempDirs();
});

async function standardPeer(options: StandardPeerOptions) {
  const peer = await StandardPeer.start(options);
  peers.push(peer);
  return peer;
}

async function node(overrides = {}) {
  const n = await startTestNode(overrides);
  nodes.push(n);
  return n;
}

async function seederNode(name: string, data: Buffer, fileName = 'data.bin', overrides = {}) {
  const dir = await makeTempDir();
  await putShared(dir, fileName, data);
  return node({ dir, name, ...overrides });
}

/** Starts a download once `peerCount` peers offer the file, and waits for it to end. */
async function download(n: TestNode, fileId: string, peerCount = 1) {
  await waitForOffer(n, fileId, 20_000, 'the file to be offered', peerCount);
  const started = await n.api('/api/files/download', { body: { file_id: fileId } });
  expect(started.status).toBe(200);
  const id = started.body.transfer.transfer_id;
  return waitFor(async () => {
    const { body } = await n.api(`/api/files/transfers/${id}`);
    return ['completed', 'failed', 'cancelled'].includes(body.transfer.status) ? body.transfer : null;
  }, 90_000, 'the transfer to end');
}

describe('file transfer with standard socket peers', () => {
  it('a standard peer downloads a file a node shares, in 1 MiB base64 chunks, verified', async () => {
    const file = randomFile(3 * 1024 * 1024 + 12_345);
    const a = await seederNode('A', file.data, 'report.pdf');
    const std = await standardPeer({});
    await std.dial('127.0.0.1', a.tcpPort);
    const manifest = await std.waitFor(() => std.manifests.get(file.fileId), 10_000, 'the manifest');
    expect(manifest).toEqual({
      file_id: file.fileId,
      file_name: 'report.pdf',
      file_size: file.data.length,
      chunk_size: 1024 * 1024,
      chunk_count: 4,
      checksum: file.fileId,
      owner: a.peer.id,
    });
    const data = await std.download(file.fileId);
    expect(createHash('sha256').update(data).digest('hex')).toBe(file.fileId);
    expect(data.equals(file.data)).toBe(true);
  });

  it('a node downloads a file a standard peer shares, verified by its SHA-256', async () => {
    const file = randomFile(3 * 1024 * 1024 + 777);
    const std = await standardPeer({ sharedFiles: [{ name: 'holiday.mov', data: file.data }] });
    const c = await node({ name: 'C', connect: [{ host: '127.0.0.1', port: std.port }] });
    const transfer = await download(c, file.fileId);
    expect(transfer).toMatchObject({ status: 'completed', bytes_received: file.data.length, peers_used: [std.id] });
    expect((await readShared(c.dir, 'holiday.mov')).equals(file.data)).toBe(true);
    // The node tells the standard peer it now has the file.
    await std.waitFor(() => std.received.find((r) => r.envelope.type === 'file_availability'), 10_000, 'file_availability');
  });

  it('bans a peer that sends corrupt chunks and gets the file intact from an honest one', async () => {
    const file = randomFile(4 * 1024 * 1024);
    const honest = await seederNode('honest', file.data);
    const corrupt = await standardPeer({ sharedFiles: [{ name: 'data.bin', data: file.data }], serving: 'corrupt' });
    const c = await node({
      name: 'C',
      connect: [
        { host: '127.0.0.1', port: corrupt.port },
        at(honest),
      ],
    });
    const transfer = await download(c, file.fileId, 2);
    expect(transfer.error).toBeNull();
    expect(transfer.status).toBe('completed');
    expect((await readShared(c.dir, 'data.bin')).equals(file.data)).toBe(true);
    const bad = transfer.peers.find((p: any) => p.peer_id === corrupt.id);
    expect(bad).toMatchObject({ banned: true, bytes: 0 });
    expect(bad.ban_reason).toMatch(/failed verification/);
    await c.waitForLog((l) => l.msg === 'peer banned for this transfer' && l.peer === corrupt.id);
  });

  it('fails with a clear error when the only source is corrupt, and lands no file', async () => {
    const file = randomFile(2 * 1024 * 1024 + 5);
    const corrupt = await standardPeer({ sharedFiles: [{ name: 'bad.bin', data: file.data }], serving: 'corrupt' });
    const c = await node({ name: 'C', connect: [{ host: '127.0.0.1', port: corrupt.port }] });
    const transfer = await download(c, file.fileId);
    expect(transfer.status).toBe('failed');
    expect(transfer.error).toMatch(/does not match its SHA-256/);
    expect(await sharedNames(c.dir)).toEqual([]);
    expect(await readdir(join(c.dir, '.partial')).catch(() => [])).toEqual([]);
  });

  it('moves the chunks of a peer that never answers to the others', async () => {
    const file = randomFile(3 * 1024 * 1024);
    // A slow honest seeder: the download lasts long enough for the silent peer's requests to expire.
    const honest = await seederNode('honest', file.data, 'data.bin', { uploadLimit: 512 * 1024 });
    const silent = await standardPeer({ sharedFiles: [{ name: 'data.bin', data: file.data }], serving: 'silent' });
    const c = await node({
      name: 'C',
      connect: [
        { host: '127.0.0.1', port: silent.port },
        at(honest),
      ],
    });
    const transfer = await download(c, file.fileId, 2);
    expect(transfer.status).toBe('completed');
    expect((await readShared(c.dir, 'data.bin')).equals(file.data)).toBe(true);
    const silentStats = transfer.peers.find((p: any) => p.peer_id === silent.id);
    expect(silentStats).toMatchObject({ chunks: 0, bytes: 0 });
    // It was asked (and never answered): those chunks came from the honest seeder instead.
    expect(silent.received.filter((r) => r.envelope.type === 'file_chunk_request').length).toBeGreaterThan(0);
    expect(transfer.peers_used).toEqual([honest.peer.id]);
  });

  it('lands files with hostile manifest names inside shared_files under safe names', async () => {
    const hostile = [
      '../../etc/passwd',
      '/abs/name',
      'a\u0000b',
      `${'x'.repeat(300)}.txt`,
      '..\\..\\windows\\win.ini',
      'CON.txt',
      'invoice\u202Efdp.exe', // a right-to-left override that shows "invoiceexe.pdf"
      '\uFF0E\uFF0E\uFF0Fescape', // fullwidth "../": not a separator, stays one plain name
      `${'日'.repeat(200)}.txt`, // 600 bytes of UTF-8
      '.hidden',
    ];
    const files = hostile.map((name, i) => ({ name, ...randomFile(1000 + i) }));
    const std = await standardPeer({ sharedFiles: files.map(({ name, data }) => ({ name, data })) });
    // The node's dir is the only thing in `outer`: anything written beside it would show.
    const outer = await makeTempDir();
    const c = await node({ dir: join(outer, 'node'), name: 'C', connect: [{ host: '127.0.0.1', port: std.port }] });
    for (const f of files) {
      const transfer = await download(c, f.fileId);
      expect(transfer.status).toBe('completed');
      const destination = resolve(transfer.destination);
      expect(destination.startsWith(resolve(c.dir, 'shared_files') + '/')).toBe(true);
      const name = destination.slice(resolve(c.dir, 'shared_files').length + 1);
      expect(name).not.toMatch(/[/\\\u0000\u202e]|^\.|^CON\./);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect((await readShared(c.dir, name)).equals(f.data)).toBe(true);
    }
    expect((await sharedNames(c.dir)).length).toBe(files.length);
    expect(await readdir(outer)).toEqual(['node']);
  });
});
