import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialWriter } from '../../lib/transfer/serial-writer.node.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { startResetProxy } from '../support/reset-proxy.ts';
import type { ResetProxy } from '../support/reset-proxy.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

const nodes: TestNode[] = [];
let proxy: ResetProxy | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await proxy?.close();
  await removeTempDirs();
});

describe('a connection reset in the middle of a chunk', () => {
  it('is redialled with back-off, and every byte of the file is written exactly once', async () => {
    const file = randomFile(24 * 1024 * 1024);
    const dir = await makeTempDir();
    await putShared(dir, 'data.bin', file.data);
    // Capped so that the download is still running when the link is cut.
    const seeder = await startTestNode({ dir, name: 'seeder', uploadLimit: 6 * 1024 * 1024 });
    nodes.push(seeder);
    // Twice cut by a reset, at an odd byte count (mid-frame), then relayed whole.
    proxy = await startResetProxy({ targetPort: seeder.tcpPort, resetAfterBytes: 5 * 1024 * 1024 + 12_345, resets: 2 });

    // Every write that reaches the partial file on disk: where and how long.
    const writes: { position: number; length: number }[] = [];
    const original = SerialWriter.prototype.write;
    vi.spyOn(SerialWriter.prototype, 'write').mockImplementation(function (this: SerialWriter, data, position) {
      writes.push({ position, length: data.length });
      return original.call(this, data, position);
    });

    const c = await startTestNode({ name: 'C', connect: [{ host: '127.0.0.1', port: proxy.port }] });
    nodes.push(c);
    await waitForOffer(c, file.fileId, 20_000, 'the seeder to offer the file');
    const started = await c.api('/api/files/download', { body: { file_id: file.fileId } });
    expect(started.status).toBe(200);
    const done = await waitForTransferDone(c, started.body.transfer.transfer_id, 120_000, 'the download to complete across the resets');

    expect(proxy.resetsDone).toBe(2);
    expect(proxy.connections).toBeGreaterThanOrEqual(3);
    // Redialled after a back-off (first step 1 s, +-30 % jitter), not in a tight loop.
    const waited = proxy.connectedAt.slice(1, 3).map((at, i) => at - proxy!.resetAt[i]!);
    for (const ms of waited) expect(ms).toBeGreaterThanOrEqual(500);
    // The cut is seen as a failed transport, not an orderly close.
    await c.waitForLog((l) => l.msg === 'peer disconnected' && /reset|middle of a frame|ECONNRESET/i.test(String(l.reason)));
    expect(done.bytes_received).toBe(file.data.length);
    expect((await readShared(c.dir, 'data.bin')).equals(file.data)).toBe(true);
    const positions = writes.map((w) => w.position);
    expect(new Set(positions).size, 'no region written twice').toBe(positions.length);
    expect(writes.reduce((sum, w) => sum + w.length, 0)).toBe(file.data.length);
  });
});
