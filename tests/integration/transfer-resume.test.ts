import { afterEach, describe, expect, it } from 'vitest';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { startNodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
const processes: NodeProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await removeTempDirs();
});

describe('a download killed with SIGKILL', () => {
  it('resumes by itself after a restart and fetches only what it lacked', async () => {
    const file = randomFile(32 * 1024 * 1024);
    const seeders: TestNode[] = [];
    for (const name of ['A', 'B']) {
      const dir = await makeTempDir();
      await putShared(dir, 'big.bin', file.data);
      // Capped so the download takes a few seconds and can be killed in the middle.
      seeders.push(await startTestNode({ dir, name, uploadLimit: 2 * 1024 * 1024 }));
    }
    nodes.push(...seeders);
    const connect = seeders.flatMap((s) => ['--connect', `127.0.0.1:${s.tcpPort}`]);
    const dir = await makeTempDir();

    const first = await startNodeProcess(['--dir', dir, '--name', 'C', ...connect]);
    processes.push(first);
    await waitForOffer(first, file.fileId, 20_000, 'both seeders to offer the file', 2);
    const started = await first.api('/api/files/download', { file_id: file.fileId });
    expect(started.status).toBe(200);
    const id = started.body.transfer.transfer_id;
    await waitFor(async () => (await first.api(`/api/files/transfers/${id}`)).body.transfer.bytes_received >= file.data.length / 2, 60_000, 'half the file');
    const beforeKill = (await first.api(`/api/files/transfers/${id}`)).body.transfer.bytes_received;
    const servedBeforeKill = seeders.reduce((sum, s) => sum + s.transfers.server.bytesServed, 0);
    expect(await first.kill('SIGKILL')).toBeNull();

    // Restarted with the same --dir and no --connect: known peers and the transfer come back by themselves.
    const second = await startNodeProcess(['--dir', dir, '--name', 'C']);
    processes.push(second);
    expect(second.peerId).toBe(first.peerId);
    const resumed = await waitForTransferDone(second, id, 90_000, 'the resumed transfer to complete');
    expect(resumed.transfer_id).toBe(id);
    expect(resumed.bytes_received).toBe(file.data.length);
    expect((await readShared(dir, 'big.bin')).equals(file.data)).toBe(true);
    const served = seeders.reduce((sum, s) => sum + s.transfers.server.bytesServed, 0);
    const resumedBytes = second.lines.find((l) => l.msg === 'download started')?.resumedPieces * resumed.chunk_size;
    const waste = JSON.stringify({
      beforeKill,
      servedBeforeKill,
      resumedBytes,
      peers: resumed.peers.map((p: any) => [p.chunks, p.redundant_chunks, p.timeouts]),
    });
    expect(served / file.data.length, `seeders sent ${served} bytes; [chunks, redundant, timeouts] ${waste}`).toBeLessThan(1.1);
    expect(second.lines.some((l) => l.msg === 'download started' && l.resumedPieces > 0)).toBe(true);
  });
});
